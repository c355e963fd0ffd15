# Every sink receives the output of the LAST stage, so a filter written after
# a sink also applies to that sink, which is probably not what the author
# meant. The user should see one warning (not an error) on the filter.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "file" "all" {
    path = "out/all.ndjson"
  }
  filter {
    where = "action == 'click'"
  }
  sink "console" "clicks_only" {}
}
