# The checkpoint store uses ftp://, which is not supported: the user should
# see one "Unsupported path scheme" error on "ftp://" in the store string,
# saying only local folders (file:// or a plain path) and s3:// are
# accepted, with an example.
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
