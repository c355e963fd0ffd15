# A filter without where: the user should see one "Missing required argument"
# error on the filter block about "where".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter {}
  sink "console" "out" {}
}
