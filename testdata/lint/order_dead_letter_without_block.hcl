# on_error = "dead_letter" but the pipeline has no dead_letter block: bad
# messages would have nowhere to go. The user should see one warning on
# "dead_letter" suggesting a dead_letter "file" { path = ... } block.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    on_error = "dead_letter"
  }
  sink "console" "out" {}
}
