package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/runner/config"
)

// TestMetricsBlock checks the metrics block's listen address and web
// config file: an address open to the network warns unless the web config
// file sets up both TLS and basic auth; a missing or invalid file is an
// error; paths are relative to the pipeline file's folder.
func TestMetricsBlock(t *testing.T) {
	dir := t.TempDir()
	ca, err := pulsartest.NewTestCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	_, cert, key, err := ca.Issue("metrics", false, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// a bcrypt hash
	const hash = "$2y$10$yrANn7Xcm3npvSK7Tiiz0.JKiI4eE1wOfR4oq1uKCi6pOyzd.rcXi"
	tlsPart := fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", cert, key)
	authPart := "basic_auth_users:\n  prometheus: " + hash + "\n"
	files := map[string]string{
		"both.yml":     tlsPart + authPart,
		"tls_only.yml": tlsPart,
		"plain.yml":    "basic_auth_users:\n  prometheus: s3cret\n",
		"typo.yml":     "tls_server_confg: {}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, body string
		offline    bool
		want       string // "" for no diagnostic, else severity: summary
		file       string // the resolved web config file
	}{
		{"loopback", `listen = "127.0.0.1:9464"`, false, "", ""},
		{"localhost", `listen = "localhost:9464"`, false, "", ""},
		{"IPv6 loopback", `listen = "[::1]:9464"`, false, "", ""},
		{"every interface", `listen = ":9464"`, false, "warning: Metrics endpoint open to the network", ""},
		{"0.0.0.0", `listen = "0.0.0.0:9464"`, false, "warning: Metrics endpoint open to the network", ""},
		{"TLS and basic auth", "listen = \"0.0.0.0:9464\"\nweb_config_file = \"both.yml\"", false, "", "both.yml"},
		{"TLS without auth", "listen = \"0.0.0.0:9464\"\nweb_config_file = \"tls_only.yml\"", false, "warning: Metrics endpoint open to the network", "tls_only.yml"},
		{"plain-text password", "web_config_file = \"plain.yml\"", false, "error: Invalid web config file", "plain.yml"},
		{"unknown key", "web_config_file = \"typo.yml\"", false, "error: Invalid web config file", "typo.yml"},
		{"missing file", "web_config_file = \"nope.yml\"", false, "error: Web config file not found", "nope.yml"},
		{"missing file offline", "web_config_file = \"nope.yml\"", true, "", "nope.yml"},
		{"bad address", `listen = "9464"`, false, "error: Invalid listen address", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "metrics {\n" + tt.body + "\n}\n"
			project, diags := config.LoadSources([]config.Source{{Name: filepath.Join(dir, "p.hcl"), Bytes: []byte(src)}},
				&config.Options{Offline: tt.offline})
			var got []string
			for _, d := range diags {
				sev := "error"
				if d.Severity == hcl.DiagWarning {
					sev = "warning"
				}
				if d.Summary != "Empty file" && !strings.Contains(d.Summary, "pipeline") {
					got = append(got, sev+": "+d.Summary)
				}
			}
			if tt.want == "" && len(got) > 0 || tt.want != "" && (len(got) != 1 || got[0] != tt.want) {
				t.Errorf("diagnostics %q, want %q", got, tt.want)
			}
			want := ""
			if tt.file != "" {
				want = filepath.Join(dir, tt.file)
			}
			if m := project.Metrics; m == nil || m.WebConfigFile != want {
				t.Errorf("metrics = %+v, want web config file %q", m, want)
			}
		})
	}
}
