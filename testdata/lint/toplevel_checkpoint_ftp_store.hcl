# The checkpoint store uses ftp://, which is not supported: the user should
# see one "Unsupported checkpoint store" error on the store string, saying
# only file:// and s3:// URLs are accepted, with an example.
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
  store = "ftp://backup.example.com/checkpoints"
  every = "10s"
}
