# A "column" block inside parse "json" (it is "field"): the user should see
# one "Unsupported block type" error on `column` with 'Did you mean "field"?'
# or a list of the blocks parse "json" accepts.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    column "user_id" { type = "int" }
  }
  sink "console" "out" {}
}
