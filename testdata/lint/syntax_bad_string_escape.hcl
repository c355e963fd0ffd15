# A Windows path with a backslash: "\d" is not a valid escape in an HCL
# string. The user should see one "Invalid escape sequence" error with the
# caret on the \d inside the string (line 6) and a hint to write \\.
pipeline "clicks" {
  source "file" {
    path = "C:\data\events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
