# This file holds only comments: the user should see one "Empty file" error
# for the whole file (no line), saying a pipeline file must declare blocks.
#
# pipeline "clicks" {
#   source "file" { path = "events.ndjson" }
# }
// a C++-style comment
/* and a block comment */
