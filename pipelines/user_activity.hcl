# Per-minute activity per action from JSON user events (parse -> filter ->
# map -> 1-minute tumbling window -> lake + console), reading the bundled
# NDJSON file so that it runs anywhere. user_activity_pulsar.hcl reads the
# same events from a Pulsar topic. The lake here is an NDJSON file so that
# the output is easy to read; `sink "parquet"` (docs/plugins.md) writes the
# same rows as a Parquet lake, exactly once with a checkpoint block
# (docs/checkpoints.md).
pipeline "user_activity" {
  source "file" {
    path = "../testdata/user_events.ndjson"
  }

  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
    on_error = "dead_letter"
  }

  filter {
    where = "action != 'heartbeat'"
  }

  map {
    set = { action = "lower(action)" }
  }

  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "2m"
    group_by   = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
    emit = "on_close"
    late = "drop"
  }

  sink "file" "lake" {
    path = env("SLUICE_OUT", "/tmp/sluice/user_activity.ndjson")
  }
  sink "console" "debug" {}

  dead_letter "file" {
    path = env("SLUICE_DEAD", "/tmp/sluice/user_activity.dead.ndjson")
  }
}

metrics {
  listen = "127.0.0.1:9464"
}

# Run with: sluice test pipelines/
test "user_activity_fixture" {
  pipeline = "user_activity"
  input    = "../testdata/user_events.ndjson"
  expect   = "../testdata/expected/user_activity.ndjson"
}
