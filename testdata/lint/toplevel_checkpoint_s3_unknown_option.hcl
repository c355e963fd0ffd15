# The checkpoint store on S3 misspells the endpoint option: the user should
# see one "Unknown S3 option" error on "endpont" alone, suggesting
# "endpoint" and listing the known options.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}

checkpoint {
  store = "s3://analytics/checkpoints?region=eu-west-1&endpont=http://127.0.0.1:9000&use_path_style=true"
  every = "10s"
}
