# A field block without type: the user should see one "Missing required
# argument" error on field "action" about "type", listing the field types.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" {
      required = false
    }
  }
  sink "console" "out" {}
}
