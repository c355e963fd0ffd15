# The kafka sink is not available in this build: the user should see one
# "Unknown sink kind" error with the caret on "kafka", listing the known sink
# kinds (console, file). The sink's arguments are not checked further.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "kinesis" "out" {
    brokers = ["localhost:9092"]
    topic   = "clicks"
  }
}
