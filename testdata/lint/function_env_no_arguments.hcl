# env() called with no argument: the user should see one error on the call
# saying env takes a variable name and an optional default.
pipeline "clicks" {
  source "file" {
    path = env()
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
