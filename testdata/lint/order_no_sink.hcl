# The pipeline writes nowhere: the user should see one "Pipeline has no sink"
# error on the pipeline header with an example sink block.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter {
    where = "action == 'click'"
  }
}
