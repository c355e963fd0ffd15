# PostgreSQL in insert mode keeps a key's first row: it cannot apply the
# window's updates. In upsert mode (the second sink) it can.
pipeline "clicks" {
  source "file" { path = "events.ndjson" }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time       = "ts"
    size             = "1m"
    allowed_lateness = "5m"
    group_by         = ["action"]
    aggregate        = { events = "count()" }
  }
  sink "postgres" "first_only" {
    dsn   = "postgres://localhost/sluice"
    table = "clicks"
    mode  = "insert"
  }
  sink "postgres" "dashboard" {
    dsn   = "postgres://localhost/sluice"
    table = "clicks_latest"
  }
}
