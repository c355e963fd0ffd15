# source "generate" yields typed records by default (format = "records"), so
# there is nothing to parse: the user should see one "Nothing to parse" error
# on the parse block, ideally suggesting format = "json" on the source.
pipeline "synthetic" {
  source "generate" {
    rate = 100
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
