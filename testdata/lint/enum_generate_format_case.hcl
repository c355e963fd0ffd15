# Enum values are case-sensitive: format = "JSON" is rejected. The user should
# see one error on "JSON" with 'Did you mean "json"?'.
pipeline "synthetic" {
  source "generate" {
    rate   = 100
    format = "JSON"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
