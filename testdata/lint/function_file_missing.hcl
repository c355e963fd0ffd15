# file("missing.txt") names a file that does not exist next to this pipeline
# file: the user should see one error on the call naming the path it looked
# for (relative to the folder of this file).
pipeline "clicks" {
  source "file" {
    path = file("missing.txt")
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
