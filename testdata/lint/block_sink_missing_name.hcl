# A sink needs a kind and a name: sink "file" {} lacks the name. The user
# should see one "Missing name label" error showing the form
# sink "file" "NAME" { ... }.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "file" {
    path = "out/clicks.ndjson"
  }
}
