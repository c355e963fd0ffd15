package pipelines

import "strings"

// Reference returns the pipeline of the reference benchmark workload
// (the user activity pipeline of pipelines/user_activity.hcl: JSON user events, heartbeats filtered out,
// 1-minute tumbling windows with a 2-minute watermark, count and exact
// distinct users per action) named "bench", reading from source (a whole
// source block, such as `source "file" { path = "…" }`) and writing NDJSON
// to outPath. cmd/bench and the benchmarks of the runner and the Pulsar
// source all measure this one pipeline.
func Reference(source, outPath string) string {
	return `pipeline "bench" {
  ` + source + `
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "ms"
    }
    field "device" {
      type     = "string"
      required = false
    }
  }
  filter { where = "action != 'heartbeat'" }
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
  sink "file" "out" { path = ` + Quote(outPath) + ` }
}
`
}

// Quote quotes s as an HCL string literal, escaping template sequences.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case (c == '$' || c == '%') && i+1 < len(s) && s[i+1] == '{':
			b.WriteByte(c)
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
