# The pipeline has no source: the user should see one "Pipeline has no source"
# error on the pipeline header, with an example source block, and no
# follow-on "Missing parse stage" error.
pipeline "clicks" {
  parse "json" {
    field "action" { type = "string" }
  }
  filter {
    where = "action == 'click'"
  }
  sink "console" "out" {}
}
