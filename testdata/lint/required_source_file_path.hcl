# source "file" needs a path: the user should see one "Missing required
# argument" error on the source block saying path is required, with an example.
pipeline "clicks" {
  source "file" {
    follow = true
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
