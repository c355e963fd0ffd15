# There is no xml parser: the user should see one "Unknown parse kind" error
# on "xml" listing csv and json, and no follow-on errors about the filter
# (its fields are unknown because the parser is).
pipeline "clicks" {
  source "file" {
    path = "events.xml"
  }
  parse "xml" {
    field "action" { type = "string" }
  }
  filter {
    where = "action == 'click'"
  }
  sink "console" "out" {}
}
