package observe_test

// A small PromQL tokenizer for the deploy checks: it finds the metric names
// an expression selects, so that the dashboard and the alert rules can be
// checked against what sluice exports.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// selector is one metric selected by a PromQL expression: its name and the
// text between its braces (empty without braces).
type selector struct {
	name     string
	matchers string
}

// aggregators are PromQL's aggregation operators, which may be followed by
// `by (...)` or `without (...)` rather than by their parentheses.
var aggregators = set("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
	"count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio")

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = set("by", "without", "on", "ignoring", "group_left", "group_right")

// keywords are the other words of PromQL that are not metric names.
var keywords = set("and", "or", "unless", "bool", "offset", "atan2", "inf", "nan")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// promqlSelectors returns the metric selectors of a PromQL expression, in
// order: identifiers that are not functions, aggregation operators,
// keywords, label names (inside braces or label lists), numbers, durations
// or Grafana variables ($name, ${name}). Strings and comments are skipped.
// A selector without a metric name ({__name__="x"}) is an error, as are
// unbalanced brackets and unterminated strings.
func promqlSelectors(expr string) ([]selector, error) {
	var out []selector
	var closers []byte
	lastMetric := -1 // index in out of the metric name just read, -1 otherwise
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
			continue
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '{':
			end, err := skipBalanced(expr, i, '{', '}')
			if err != nil {
				return nil, err
			}
			if lastMetric < 0 {
				return nil, fmt.Errorf("selector %s without a metric name at offset %d", expr[i:end], i)
			}
			out[lastMetric].matchers = expr[i+1 : end-1]
			i = end
		case c == '[':
			end, err := skipBalanced(expr, i, '[', ']')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '(':
			closers = append(closers, ')')
			i++
		case c == ')' || c == ']' || c == '}':
			if len(closers) == 0 || closers[len(closers)-1] != c {
				return nil, fmt.Errorf("unbalanced %q at offset %d", c, i)
			}
			closers = closers[:len(closers)-1]
			i++
		case c == '$':
			i = skipVariable(expr, i)
		case isDigit(c) || c == '.' && i+1 < len(expr) && isDigit(expr[i+1]):
			i = skipNumber(expr, i)
		case isIdentStart(c):
			start := i
			for i < len(expr) && isIdentPart(expr[i]) {
				i++
			}
			word := expr[start:i]
			next := nextNonSpace(expr, i)
			lower := strings.ToLower(word)
			switch {
			case labelListKeywords[lower] && next == '(':
				end, err := skipBalanced(expr, strings.IndexByte(expr[i:], '(')+i, '(', ')')
				if err != nil {
					return nil, err
				}
				i = end
			case labelListKeywords[lower] || keywords[lower] || aggregators[lower]:
			case next == '(': // a function call
			default:
				out = append(out, selector{name: word})
				lastMetric = len(out) - 1
				continue
			}
		default: // operators, commas, @ and :
			i++
		}
		lastMetric = -1
	}
	if len(closers) > 0 {
		return nil, errors.New("unbalanced parentheses")
	}
	return out, nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == ':' || c|0x20 >= 'a' && c|0x20 <= 'z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

func nextNonSpace(s string, i int) byte {
	for ; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// skipString returns the offset after the string literal at s[i].
func skipString(s string, i int) (int, error) {
	quote := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && quote != '`':
			j++
		case s[j] == quote:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at offset %d", i)
}

// skipBalanced returns the offset after the bracket that closes s[i],
// skipping strings.
func skipBalanced(s string, i int, open, closing byte) (int, error) {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"', '\'', '`':
			end, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case open:
			depth++
		case closing:
			if depth--; depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("unclosed %q at offset %d", open, i)
}

// skipVariable returns the offset after the Grafana variable at s[i]:
// $name or ${name}.
func skipVariable(s string, i int) int {
	if i+1 < len(s) && s[i+1] == '{' {
		if end := strings.IndexByte(s[i:], '}'); end >= 0 {
			return i + end + 1
		}
	}
	i++
	for i < len(s) && isIdentPart(s[i]) {
		i++
	}
	return i
}

// skipNumber returns the offset after the number or duration at s[i]
// (1, 0.5, 1e-3, 0x1f, 5m, 1h30m).
func skipNumber(s string, i int) int {
	for i < len(s) {
		c := s[i]
		switch {
		case isIdentPart(c) || c == '.':
			i++
		case (c == '-' || c == '+') && (s[i-1] == 'e' || s[i-1] == 'E') && !strings.HasPrefix(strings.ToLower(s[:i]), "0x"):
			i++
		default:
			return i
		}
	}
	return i
}

func TestPromQLSelectors(t *testing.T) {
	cases := []struct {
		expr string
		want []string // name{matchers}
	}{
		{`rate(sluice_sink_rows_total{pipeline=~"$pipeline"}[$__rate_interval])`, []string{`sluice_sink_rows_total{pipeline=~"$pipeline"}`}},
		{`histogram_quantile(0.99, sum by (pipeline, le) (rate(x_bucket{a="b"}[5m])))`, []string{`x_bucket{a="b"}`}},
		{`sum(rate(a[5m])) by (job) / on(job) group_left(instance) b`, []string{"a", "b"}},
		{"a > 300 unless on (job, stage)\n  (min by (job, stage) (c) == 1)", []string{"a", "c"}},
		{`3 * a < on (job) group_left () (time() - b)`, []string{"a", "b"}},
		{`absent(up{job="sluice"})`, []string{`up{job="sluice"}`}},
		{`time() - x offset 5m`, []string{"x"}},
		{`label_replace(a, "dst", "$1 by (x) {y}", "src", "(.*)")`, []string{"a"}},
		{"a # b c\n+ d", []string{"a", "d"}},
		{`foo:bar_rate5m / ignoring (le) baz`, []string{"foo:bar_rate5m", "baz"}},
		{`1e-3 * a + 0x1f - Inf + NaN + .5`, []string{"a"}},
		{`a > bool b AND c or d`, []string{"a", "b", "c", "d"}},
		{`count_values("v", a) + topk(3, b) + quantile(0.9, c)`, []string{"a", "b", "c"}},
		{`sum without (instance) (a @ start()) + b[5m:1m] + max(c)`, []string{"a", "b", "c"}},
		{`a{le="+Inf", x=~"}{"} + ${pipeline}`, []string{`a{le="+Inf", x=~"}{"}`}},
		{`sum by(job)(a)`, []string{"a"}},
	}
	for _, c := range cases {
		sels, err := promqlSelectors(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		var got []string
		for _, s := range sels {
			if s.matchers != "" {
				got = append(got, s.name+"{"+s.matchers+"}")
			} else {
				got = append(got, s.name)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.expr, got, c.want)
		}
	}
	for _, bad := range []string{`{__name__="x"}`, `sum(rate(a[5m])`, `a]`, `a{x="y}`, `rate(a[5m)`} {
		if _, err := promqlSelectors(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
