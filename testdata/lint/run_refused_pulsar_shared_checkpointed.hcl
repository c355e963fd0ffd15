# A Pulsar source on a shared subscription with checkpoints: a checkpoint
# records the last message of each partition, which means nothing when
# several consumers share a partition, so sluice run refuses it. The user
# should see one error on subscription_type saying which types can resume.
pipeline "clicks" {
  source "pulsar" {
    service_url       = "pulsar://127.0.0.1:6650"
    topics            = ["clicks"]
    subscription      = "sluice-clicks"
    subscription_type = "shared"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}

checkpoint {
  store = "checkpoints"
}
