# follow is a bool but is given as 1: the user should see one "Incorrect value
# type" error on 1 saying true or false is required.
pipeline "clicks" {
  source "file" {
    path   = "events.ndjson"
    follow = 1
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
