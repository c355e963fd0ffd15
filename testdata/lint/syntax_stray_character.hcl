# A stray `@` between two stages: the user should see one "Invalid character"
# error on line 7, column 3, and nothing else.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  @
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
