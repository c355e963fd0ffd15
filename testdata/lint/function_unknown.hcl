# upper() is not an HCL function (only env and file are; upper exists inside
# expression strings): the user should see one "Call to unknown function"
# error on `upper`, listing env and file.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "file" "out" {
    path = upper("out.ndjson")
  }
}
