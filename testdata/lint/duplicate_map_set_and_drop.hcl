# The map sets `device` and drops it in the same block, so the set is useless.
# The user should see one warning or error on "device" in drop.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    field "device" { type = "string" }
  }
  map {
    set  = { device = "lower(device)" }
    drop = ["device"]
  }
  sink "console" "out" {}
}
