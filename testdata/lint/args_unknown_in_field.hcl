# "unti" is a typo of "unit" in a nested field block: the user should see one
# "Unsupported argument" error on `unti` with 'Did you mean "unit"?'.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unti = "s"
    }
  }
  sink "console" "out" {}
}
