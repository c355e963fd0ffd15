# A Pulsar source's message metadata is readable as pulsar.key and so on:
# a misspelled metadata field is an error listing the ones there are, and
# the properties map must be indexed.
pipeline "clicks" {
  source "pulsar" {
    topics       = ["user-events"]
    subscription = "sluice"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter { where = "pulsar.kee != ''" }
  map    { set = { props = "pulsar.properties" } }
  sink "console" "out" {}
}
