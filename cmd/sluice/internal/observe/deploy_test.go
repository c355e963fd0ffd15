package observe_test

// Checks of what deploy/ ships for operators (docs/operations.md): every
// PromQL expression of the Grafana dashboard and of the alert rules names
// only metrics sluice exports, the rules pass promtool and behave as their
// annotations say, and the dashboard is well formed.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sluice-io/sluice/cmd/sluice/internal/observe"
)

const (
	deployDir     = "../../../../deploy"
	dashboardFile = deployDir + "/grafana/sluice-dashboard.json"
	alertsFile    = deployDir + "/prometheus/sluice-alerts.yml"
	alertsTests   = deployDir + "/prometheus/sluice-alerts_test.yml"
	monitoringK8s = deployDir + "/kubernetes/monitoring.yaml"
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

// exportedMetric reports whether sluice's /metrics can show a series name:
// one of observe.MetricNames(), a Go runtime or process metric, or the up
// series Prometheus adds per target.
func exportedMetric(names []string) func(string) bool {
	return func(name string) bool {
		return slices.Contains(names, name) || name == "up" ||
			strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
	}
}

func TestDeployQueriesUseExportedMetrics(t *testing.T) {
	exported := exportedMetric(observe.MetricNames())
	queries := dashboardQueries(t, readDashboard(t))
	for _, r := range readAlertRules(t, alertsFile).rules() {
		queries = append(queries, query{"alert " + r.Alert, r.Expr})
	}
	if len(queries) < 20 {
		t.Fatalf("only %d queries found in the dashboard and the rules", len(queries))
	}
	for _, q := range queries {
		sels, err := promqlSelectors(q.expr)
		if err != nil {
			t.Errorf("%s: %s: %v", q.where, q.expr, err)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: %s selects no metric", q.where, q.expr)
		}
		for _, s := range sels {
			if !exported(s.name) {
				t.Errorf("%s: %s: sluice exports no metric %s", q.where, q.expr, s.name)
			}
		}
	}
}

// dashboard is the part of the Grafana dashboard JSON the tests read.
type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

const promDatasource = "${DS_PROMETHEUS}"

func readDashboard(t *testing.T) *dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return &d
}

// panels returns every panel of the dashboard, those of collapsed rows
// included, rows themselves excluded.
func (d *dashboard) panels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" {
				out = append(out, p)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// query is one PromQL expression and where it comes from.
type query struct{ where, expr string }

var labelValues = regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`)

// dashboardQueries returns the PromQL of every panel target and of every
// query variable (the selector inside label_values(SELECTOR, label)).
func dashboardQueries(t *testing.T, d *dashboard) []query {
	t.Helper()
	var out []query
	for _, p := range d.panels() {
		for _, tg := range p.Targets {
			out = append(out, query{fmt.Sprintf("panel %q target %s", p.Title, tg.RefID), tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var text string
		if json.Unmarshal(v.Query, &text) != nil {
			var obj struct{ Query string }
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				t.Fatalf("variable %s: query: %v", v.Name, err)
			}
			text = obj.Query
		}
		if m := labelValues.FindStringSubmatch(text); m != nil {
			text = m[1]
		}
		out = append(out, query{"variable " + v.Name, text})
	}
	return out
}

func TestDashboardIsWellFormed(t *testing.T) {
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("dashboard title %q, uid %q: want both", d.Title, d.UID)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want that of Grafana 10 or later (36+)", d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type + " " + string(v.Query)
	}
	if !strings.HasPrefix(vars["DS_PROMETHEUS"], `datasource "prometheus"`) {
		t.Errorf("variable DS_PROMETHEUS = %q: want a prometheus datasource variable", vars["DS_PROMETHEUS"])
	}
	if !strings.Contains(vars["pipeline"], "label_values(sluice_pipeline_up, pipeline)") {
		t.Errorf("variable pipeline = %q: want label_values(sluice_pipeline_up, pipeline)", vars["pipeline"])
	}
	ids := map[int]bool{}
	for _, p := range d.panels() {
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Datasource == nil || p.Datasource.UID != promDatasource {
			t.Errorf("panel %q: datasource %+v, want uid %s", p.Title, p.Datasource, promDatasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != promDatasource {
				t.Errorf("panel %q target %s: datasource %+v, want uid %s", p.Title, tg.RefID, tg.Datasource, promDatasource)
			}
		}
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24 columns", p.Title, g)
		}
	}
}

// TestDashboardFiltersOnVariables: every selector of a pipeline metric
// honours the pipeline variable, every process-wide one the instance
// variable, so that the dashboard shows what its variables select.
func TestDashboardFiltersOnVariables(t *testing.T) {
	for _, q := range dashboardQueries(t, readDashboard(t)) {
		if strings.HasPrefix(q.where, "variable pipeline") {
			continue
		}
		sels, err := promqlSelectors(q.expr)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		for _, s := range sels {
			want := `pipeline=~"$pipeline"`
			if s.name == "up" || s.name == "sluice_build_info" || !strings.HasPrefix(s.name, "sluice_") {
				want = `instance=~"$instance"`
			}
			if !strings.Contains(s.matchers, want) {
				t.Errorf("%s: %s{%s} lacks %s", q.where, s.name, s.matchers, want)
			}
		}
	}
}

// promtool returns the path of promtool, or skips the test without it
// unless CI is "true".
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (Debian package prometheus); CI needs it")
		}
		t.Skip("promtool is not installed (Debian package prometheus): skipping")
	}
	return path
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestAlertRulesPassPromtool(t *testing.T) {
	runPromtool(t, "check", "rules", alertsFile)
}

// TestDashboardQueriesParse checks the dashboard's PromQL with promtool: as
// recording rules, with Grafana's variables replaced by what they expand to.
func TestDashboardQueriesParse(t *testing.T) {
	promtool(t)
	vars := strings.NewReplacer("$__rate_interval", "1m", "${pipeline}", ".*", "$pipeline", ".*", "${instance}", ".*", "$instance", ".*")
	var rules []map[string]string
	for i, q := range dashboardQueries(t, readDashboard(t)) {
		rules = append(rules, map[string]string{"record": fmt.Sprintf("dashboard_query_%d", i), "expr": vars.Replace(q.expr)})
	}
	file := writeYAML(t, "dashboard-rules.yml", map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	runPromtool(t, "check", "rules", file)
}

// alertRules is a Prometheus rules file.
type alertRules struct {
	Groups []struct {
		Name  string      `yaml:"name"`
		Rules []alertRule `yaml:"rules"`
	} `yaml:"groups"`
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

func (r *alertRules) rules() []alertRule {
	var out []alertRule
	for _, g := range r.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

func readAlertRules(t *testing.T, path string) *alertRules {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r alertRules
	if err := yaml.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

func writeYAML(t *testing.T, name string, v any) string {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAlertRulesAreDocumented(t *testing.T) {
	for _, r := range readAlertRules(t, alertsFile).rules() {
		if r.Alert == "" {
			t.Errorf("rule %q is not an alert", r.Expr)
			continue
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, s)
		}
		for _, a := range []string{"summary", "description"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("alert %s has no %s", r.Alert, a)
			}
		}
	}
}

// TestKubernetesRulesMatchAlertsFile: the PrometheusRule of
// deploy/kubernetes holds exactly the groups of the alert rules file.
func TestKubernetesRulesMatchAlertsFile(t *testing.T) {
	data, err := os.ReadFile(monitoringK8s)
	if err != nil {
		t.Fatal(err)
	}
	want, found := readAlertRules(t, alertsFile), false
	for _, part := range strings.Split(string(data), "\n---\n") {
		var doc struct {
			Kind string     `yaml:"kind"`
			Spec alertRules `yaml:"spec"`
		}
		if err := yaml.Unmarshal([]byte(part), &doc); err != nil {
			t.Fatalf("%s: %v", monitoringK8s, err)
		}
		if doc.Kind == "PrometheusRule" {
			found = true
			if !reflect.DeepEqual(doc.Spec.Groups, want.Groups) {
				t.Errorf("%s: the PrometheusRule's groups differ from %s", monitoringK8s, alertsFile)
			}
		}
	}
	if !found {
		t.Errorf("%s holds no PrometheusRule", monitoringK8s)
	}
}

// TestAlertRulesFire runs the promtool unit tests of the alert rules on the
// rules without their annotations, and checks that every alert has a case
// where it fires.
func TestAlertRulesFire(t *testing.T) {
	promtool(t)
	rules := readAlertRules(t, alertsFile)
	for g := range rules.Groups {
		for r := range rules.Groups[g].Rules {
			rules.Groups[g].Rules[r].Annotations = nil
		}
	}
	ruleFile := writeYAML(t, filepath.Base(alertsFile), rules)
	data, err := os.ReadFile(alertsTests)
	if err != nil {
		t.Fatal(err)
	}
	var cases struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				AlertName string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", alertsTests, err)
	}
	if !slices.Equal(cases.RuleFiles, []string{filepath.Base(alertsFile)}) {
		t.Fatalf("%s: rule_files %q, want [%s]", alertsTests, cases.RuleFiles, filepath.Base(alertsFile))
	}
	fires := map[string]bool{}
	for _, tc := range cases.Tests {
		for _, a := range tc.AlertRuleTest {
			fires[a.AlertName] = fires[a.AlertName] || len(a.ExpAlerts) > 0
		}
	}
	for _, r := range rules.rules() {
		if !fires[r.Alert] {
			t.Errorf("%s: no case where %s fires", alertsTests, r.Alert)
		}
	}
	testFile := filepath.Join(filepath.Dir(ruleFile), filepath.Base(alertsTests))
	if err := os.WriteFile(testFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "test", "rules", testFile)
}
