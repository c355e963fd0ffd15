# A sliding window whose slide (10m) is larger than its size (5m) would skip
# records: the user should see one error on slide saying it must be at most
# size.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
  }
  window "sliding" {
    event_time = "ts"
    size       = "5m"
    slide      = "10m"
    aggregate  = { events = "count()" }
  }
  sink "console" "out" {}
}
