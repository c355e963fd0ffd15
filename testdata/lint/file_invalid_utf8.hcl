# A Latin-1 byte (0xE9, "é") in a comment: the file is not valid UTF-8.
# The user should see one "Invalid UTF-8" error for the whole file.
pipeline "café" {
  source "file" { path = "events.ndjson" }
}
