# A full pipeline using most features (env/file functions with defaults,
# heredoc expression, two maps, window, filter on window output, checkpoint,
# metrics, test). Must lint clean: 0 errors, 0 warnings.
pipeline "user_activity" {
  source "file" {
    path = env("SLUICE_LINT_TEST_UNSET_VAR", "../user_events.ndjson")
  }

  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "device" {
      type     = "string"
      required = false
    }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
    on_error = "dead_letter"
  }

  filter {
    where = <<-EOT
      action != 'heartbeat'
        && user_id > 0
    EOT
  }

  map {
    set  = { action = "lower(action)" }
    drop = ["device"]
  }

  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "2m"
    group_by   = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
      p90    = "approx_percentile(user_id, 0.9)"
    }
    emit = "every 10s"
    late = "dead_letter"
  }

  filter {
    where = "events > 0"
  }

  sink "file" "lake" {
    path      = "/tmp/sluice/user_activity.ndjson"
    changelog = true # the window's updates, each with its op
  }
  sink "console" "debug" {
    format = "json"
  }

  dead_letter "file" {
    path = "/tmp/sluice/user_activity.dead.ndjson"
  }
}

checkpoint {
  store = "file:///tmp/sluice/checkpoints"
  every = "10s"
}

metrics {
  listen = "127.0.0.1:9464"
}

test "counts_clicks" {
  pipeline = "user_activity"
  input    = "../user_events.ndjson"
  expect   = "../user_events.ndjson"
}
