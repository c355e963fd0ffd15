# where is given an HCL expression instead of a string holding an expression:
# `action` here is an HCL variable reference. The user should see one error
# on `action == "click"` saying to quote the expression:
# where = "action == 'click'".
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter {
    where = action == "click"
  }
  sink "console" "out" {}
}
