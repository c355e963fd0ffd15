# The kafka source is not available in this build: the user should see one
# "Unknown source kind" error on "kafka" listing file, generate and pulsar,
# and no follow-on "Pipeline has no source" or "Missing parse stage" errors.
pipeline "clicks" {
  source "kinesis" {
    brokers = ["localhost:9092"]
    topics  = ["user-events"]
    group   = "sluice-clicks"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter {
    where = "action == 'click'"
  }
  sink "console" "out" {}
}
