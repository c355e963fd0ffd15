# An unknown field on the third line of a heredoc expression: the caret must
# land on `devce` on its own line (line 17) at its real column, with
# 'Did you mean "device"?'.
pipeline "clicks" {
  source "file" {
    path = "events.ndjson"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "device" { type = "string" }
  }
  filter {
    where = <<-EOT
      action == 'click'
        && user_id > 0
        && devce in ['ios', 'android']
    EOT
  }
  sink "console" "out" {}
}
