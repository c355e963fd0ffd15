# Mistakes in two pipelines and at the top level of one file: all are
# reported in one run, each once: the top-level typo "metric", a typo of
# "follow" and an unknown field in the first pipeline, a bad on_error and a
# missing sink in the second, and the test naming a third pipeline.
pipeline "clicks" {
  source "file" {
    path   = "events.ndjson"
    follwo = true
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter {
    where = "acton == 'click'"
  }
  sink "console" "out" {}
}

pipeline "views" {
  source "file" {
    path = "events.ndjson"
  }
  parse "csv" {
    field "action" { type = "string" }
    on_error = "skip"
  }
}

metric {
  listen = ":9464"
}

test "views" {
  pipeline = "view_counts"
  input    = "../user_events.ndjson"
  expect   = "../user_events.ndjson"
}
