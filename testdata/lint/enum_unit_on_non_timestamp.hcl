# unit only applies to timestamps; here it is set on an int field. The user
# should see one error on `unit` saying it is only for type = "timestamp".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    field "user_id" {
      type = "int"
      unit = "ms"
    }
  }
  sink "console" "out" {}
}
