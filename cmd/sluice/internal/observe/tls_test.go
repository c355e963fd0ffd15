package observe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sluice-io/sluice/internal/pulsartest"
)

// TestTLSAndBasicAuth serves with an exporter-toolkit web config file: a
// scrape over TLS with the right user and password succeeds; without
// credentials, or with a wrong password, it is 401; plain HTTP fails.
func TestTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	ca, err := pulsartest.NewTestCA(dir, "sluice-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	_, certFile, keyFile, err := ca.Issue("metrics", false, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web.yml")
	content := fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certFile, keyFile, hash)
	if err := os.WriteFile(webConfig, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := Start(Options{Addr: "127.0.0.1:0", WebConfigFile: webConfig, Monitor: &fixedMonitor{}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + srv.Addr().String()

	tests := []struct {
		name, user, password string
		code                 int
	}{
		{"right credentials", "prometheus", "s3cret", 200},
		{"no credentials", "", "", 401},
		{"wrong password", "prometheus", "nope", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+"/metrics", nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.password)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("GET /metrics = %d, want %d", resp.StatusCode, tt.code)
			}
		})
	}
	resp, err := http.Get("http://" + srv.Addr().String() + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP was served")
		}
	}
}

// TestStartRefusesABadWebConfig: an invalid web config file (a password
// that is no bcrypt hash) fails Start rather than serving unprotected.
func TestStartRefusesABadWebConfig(t *testing.T) {
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  prometheus: plaintext\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if srv, err := Start(Options{Addr: "127.0.0.1:0", WebConfigFile: webConfig}); err == nil {
		srv.Shutdown(context.Background())
		t.Fatal("Start accepted a web config file with a plain-text password")
	}
}
