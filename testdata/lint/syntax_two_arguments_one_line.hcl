# HCL does not allow two arguments in a one-line block: the field "ts" block
# below must be written on several lines. The user should see one error at
# line 10 explaining that a single-line block holds one argument at most.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    field "ts" { type = "timestamp", unit = "s" }
  }
  sink "console" "out" {}
}
