# Per-minute activity per action from a Pulsar topic into a Delta Lake
# table partitioned by day (docs/delta.md): Pulsar -> parse -> filter ->
# 1-minute tumbling window -> Delta. With the checkpoint block every window
# is committed exactly once, one table version per checkpoint, even across
# crashes; Spark, DuckDB, delta-rs/polars and Trino read the table. Start a
# broker with `sluice broker` and send events with `sluice produce`, or set
# SLUICE_PULSAR_URL; SLUICE_DELTA_PATH sets the table (a folder or s3://).
pipeline "user_activity_delta" {
  # One process owns every partition: the map below rewrites action, so
  # the windows cannot run as per-partition tasks (docs/scaling.md).
  instances = 1

  checkpoint {
    store = "file:///tmp/sluice/checkpoints"
    every = "10s"
  }

  source "pulsar" {
    service_url       = env("SLUICE_PULSAR_URL", "pulsar://127.0.0.1:6650")
    topics            = ["persistent://public/default/user-events"]
    subscription      = "sluice-user-activity-delta"
    subscription_type = "failover"
    start             = "earliest"
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
    event_time   = "ts"
    size         = "1m"
    watermark    = "2m"
    idle_timeout = "30s"
    group_by     = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
  }

  sink "delta" "lake" {
    path           = env("SLUICE_DELTA_PATH", "file:///tmp/sluice/delta/user_activity")
    partition_by   = ["window_start:date"]
    optimize_every = 100
  }

  dead_letter "file" {
    path = env("SLUICE_DEAD", "/tmp/sluice/user_activity_delta.dead.ndjson")
  }
}

# Run with: sluice test pipelines/
test "user_activity_delta_fixture" {
  pipeline = "user_activity_delta"
  input    = "../testdata/user_events.ndjson"
  expect   = "../testdata/expected/delta_user_activity.ndjson"
}
