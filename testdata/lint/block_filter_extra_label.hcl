# filter takes no label: the user should see one "Extraneous label for
# filter" error with the caret on "x".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter "x" {
    where = "action == 'click'"
  }
  sink "console" "out" {}
}
