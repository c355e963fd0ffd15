# poll_interval = 5 is a bare number: the user should see one error on 5
# saying a duration is a string with a unit, e.g. "5s".
pipeline "clicks" {
  source "file" {
    path          = "events.ndjson"
    follow        = true
    poll_interval = 5
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
