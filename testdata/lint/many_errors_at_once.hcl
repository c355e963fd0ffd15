# Many mistakes at once: every one is reported in a single run, in file order
# (no sink, a misspelled argument, unknown fields in a filter, a heredoc and a
# group_by, a bad aggregate function name, a bad duration, an unknown sink kind).
pipeline "user_activity" {
  source "file" {
    path = "events.ndjson"
    folow = true
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action"  { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
  }
  filter { where = "acton == 'click'" }
  map {
    set = { x = <<-EOT
      user_id +
        actoin
      EOT
    }
  }
  window "tumbling" {
    event_time = "ts"
    size = "1 minute"
    group_by = ["acton"]
    aggregate = { n = "cnt()", u = "count_distinct(usr_id)" }
  }
  sink "kinesis" "out" {}
}
