# Per-minute activity per action into PostgreSQL, for a Grafana, Metabase
# or Superset dashboard (docs/connectors/postgres.md). Each window result
# is upserted by its key, window_start and action, into a table the sink
# creates; with the checkpoint block every row appears exactly once, even
# across crashes. Set ANALYTICS_PG_DSN (default: a local server), e.g.
#   export ANALYTICS_PG_DSN='postgres://sluice:secret@db.example.com:5432/analytics?sslmode=verify-full'
pipeline "user_activity_pg" {
  checkpoint {
    store = "file:///tmp/sluice/checkpoints"
    every = "10s"
  }

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
    event_time       = "ts"
    size             = "1m"
    watermark        = "2m"
    allowed_lateness = "10m" # a late event corrects its window's row in the table
    group_by         = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
  }

  sink "postgres" "dashboard" {
    dsn          = env("ANALYTICS_PG_DSN", "postgres://sluice@localhost:5432/analytics")
    table        = "public.user_activity_minute"
    create_table = true
  }

  dead_letter "file" {
    path = env("SLUICE_DEAD", "/tmp/sluice/user_activity_pg.dead.ndjson")
  }
}

# Run with: sluice test pipelines/
test "user_activity_pg_fixture" {
  pipeline = "user_activity_pg"
  input    = "../testdata/user_events.ndjson"
  expect   = "../testdata/expected/postgres_user_activity.ndjson"
}

# Late events: the click at 00:00:40 arrives after [00:00, 00:01) was
# emitted, within the allowed lateness, and updates its row ("op":
# "update", revision 1); the view at 00:00:50 comes after the window was
# freed and is late.
test "user_activity_pg_corrections" {
  pipeline = "user_activity_pg"
  input    = "../testdata/late_events.ndjson"
  expect   = "../testdata/expected/user_activity_pg_corrections.ndjson"
}

# The same fixture, crashed after the second checkpoint and run again from
# it: the rows committed across both runs are the same.
test "user_activity_pg_crash" {
  pipeline    = "user_activity_pg"
  input       = "../testdata/user_events.ndjson"
  expect      = "../testdata/expected/postgres_user_activity.ndjson"
  crash_after = 2
}
