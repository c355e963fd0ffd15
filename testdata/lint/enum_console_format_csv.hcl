# The console sink prints a table or JSON, not CSV: the user should see one
# error on "csv" listing table and json.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {
    format = "csv"
  }
}
