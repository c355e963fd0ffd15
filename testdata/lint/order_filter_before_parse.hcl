# A file source yields raw bytes; the filter reads `action` before any parse
# stage. The user should see one "Missing parse stage" error on the filter
# saying a parse "json" or parse "csv" stage must come first, and no
# follow-on "Unknown field" error on `action`.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  filter {
    where = "action == 'click'"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
