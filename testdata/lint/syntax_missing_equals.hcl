# The argument `path` has no `=`: the user should see one syntax error at
# line 5 saying an equals sign is expected after the argument name.
pipeline "clicks" {
  source "file" {
    path "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
