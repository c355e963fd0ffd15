# "country" is not a field and nothing is close to it: the user should see
# one "Unknown field in expression" error on `country`, listing the fields
# that do reach the filter (user_id, action) instead of a did-you-mean.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  filter {
    where = "country == 'FR'"
  }
  sink "console" "out" {}
}
