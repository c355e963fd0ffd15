# HCL variables do not exist in pipeline files: var.out_dir is an unknown
# reference. The user should see one error on `var` saying variables are not
# available (use env("NAME") instead).
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "file" "out" {
    path = "${var.out_dir}/clicks.ndjson"
  }
}
