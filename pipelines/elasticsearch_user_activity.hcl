# Per-minute activity per action, as in user_activity.hcl, written to
# Elasticsearch in daily indices (user-activity-2026.01.01, ...) for
# Kibana. Each window result is one document whose id is its window_start
# and action (e.g. 1767225600000|click), so that a replay after a crash
# overwrites it; with the checkpoint block, every document is
# acknowledged before a checkpoint covers it. Documents Elasticsearch
# refuses (a field whose type conflicts with the index mapping) go to the
# dead letter with its reason. See docs/connectors/elasticsearch.md.
pipeline "elasticsearch_user_activity" {
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
    event_time = "ts"
    size       = "1m"
    watermark  = "2m"
    group_by   = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
  }

  sink "elasticsearch" "search" {
    urls  = [env("ES_URL", "http://127.0.0.1:9200")]
    index = "user-activity-{window_start|yyyy.MM.dd}"
  }

  dead_letter "file" {
    path = env("SLUICE_DEAD", "/tmp/sluice/elasticsearch_user_activity.dead.ndjson")
  }
}

# Run with: sluice test pipelines/ (no Elasticsearch needed: the test
# replaces the source and the sink)
test "elasticsearch_user_activity_fixture" {
  pipeline = "elasticsearch_user_activity"
  input    = "../testdata/user_events.ndjson"
  expect   = "../testdata/expected/elasticsearch_user_activity.ndjson"
}
