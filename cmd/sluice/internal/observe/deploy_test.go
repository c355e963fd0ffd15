package observe_test

// Checks of what deploy/ ships for operators (docs/operations.md): every
// PromQL expression of the Grafana dashboard and of the alert rules names
// only metrics sluice exports, the rules pass promtool and behave as their
// annotations say, and the dashboard is well formed.

import (
	"encoding/json"
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
