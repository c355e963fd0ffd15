# The metrics listen address has no port: the user should see one "Invalid
# listen address" error on the string, with an example such as ":9464".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}

metrics {
  listen = "localhost"
}
