# User sessions: a session of a user closes after 30 minutes without events.
# Each closed session yields its length, its first and last action and how
# many distinct devices it used.
pipeline "user_sessions" {
  source "file" {
    path = "../testdata/user_events.ndjson"
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
  }

  filter {
    where = "action != 'heartbeat'"
  }

  window "session" {
    event_time = "ts"
    gap        = "30m"
    watermark  = "5m"
    group_by   = ["user_id"]
    aggregate = {
      events       = "count()"
      first_action = "first(action)"
      last_action  = "last(action)"
      devices      = "count_distinct(device)"
    }
    late = "dead_letter"
  }

  map {
    set = {
      minutes = "(window_end - window_start).Minutes()"
    }
  }

  sink "file" "sessions" {
    path = "/tmp/sluice/user_sessions.ndjson"
  }

  dead_letter "file" {
    path = "/tmp/sluice/user_sessions.dead.ndjson"
  }
}

# Run with: sluice test pipelines/
test "user_sessions_fixture" {
  pipeline = "user_sessions"
  input    = "../testdata/user_events.ndjson"
  expect   = "../testdata/expected/user_sessions.ndjson"
}
