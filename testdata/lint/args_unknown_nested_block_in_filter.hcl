# filter takes a `where` argument, not a `where` block: the user should see
# one "Unsupported block type" error on `where`, ideally suggesting
# where = "..." — and no follow-on "Missing required argument" error.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter {
    where {
      action = "click"
    }
  }
  sink "console" "out" {}
}
