# A pipeline has at most one dead letter: the user should see one "Duplicate
# dead_letter" error on the second block.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    on_error = "dead_letter"
  }
  sink "console" "out" {}
  dead_letter "file" {
    path = "dead/clicks.ndjson"
  }
  dead_letter "file" {
    path = "dead/clicks-2.ndjson"
  }
}
