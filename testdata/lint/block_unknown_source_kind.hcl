# The pulsar source is not available in this build: the user should see one
# "Unknown source kind" error on "pulsar" listing file and generate, and no
# follow-on "Pipeline has no source" or "Missing parse stage" errors.
pipeline "clicks" {
  source "pulsar" {
    service_url  = "pulsar://localhost:6650"
    topics       = ["persistent://public/default/user-events"]
    subscription = "sluice-clicks"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter {
    where = "action == 'click'"
  }
  sink "console" "out" {}
}
