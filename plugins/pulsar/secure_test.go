package pulsar

// These tests check the tls and auth settings of the plugins for real:
// the source connects with pulsar-client-go over loopback to an
// internal/pulsartest broker that speaks TLS and authenticates clients.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// failTimeout is the operation timeout of connections expected to fail.
const failTimeout = time.Second

// testPKI is a pulsartest.TestCA that fails the test on errors.
type testPKI struct {
	*pulsartest.TestCA
	t *testing.T
}

func newTestPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	ca, err := pulsartest.NewTestCA(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{TestCA: ca, t: t}
}

// issue signs a server (or client) certificate for cn, valid for the DNS
// names and IP addresses in hosts, and writes it and its key as PEM.
func (p *testPKI) issue(cn string, client bool, hosts ...string) (tls.Certificate, string, string) {
	p.t.Helper()
	cert, certFile, keyFile, err := p.Issue(cn, client, hosts...)
	if err != nil {
		p.t.Fatal(err)
	}
	return cert, certFile, keyFile
}

// startSecureBroker starts a broker with opts and closes it after the test.
func startSecureBroker(t *testing.T, opts pulsartest.Options) *pulsartest.Broker {
	t.Helper()
	b, err := pulsartest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// tokenAuth accepts the "token" method with one of tokens.
func tokenAuth(tokens ...string) func(pulsartest.AuthRequest) error {
	return func(r pulsartest.AuthRequest) error {
		if r.Method != "token" {
			return fmt.Errorf("a token is required, got method %q", r.Method)
		}
		for _, tok := range tokens {
			if string(r.Data) == tok {
				return nil
			}
		}
		return errors.New("invalid token")
	}
}

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// seed sends n messages to topic "t" through conn, which must work.
func seed(t *testing.T, conn Connection, n int) {
	t.Helper()
	conn.OperationTimeout = testTimeout
	client, err := conn.newClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	p, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: "t"})
	if err != nil {
		t.Fatalf("seeding: %v", err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for i := range n {
		if _, err := p.Send(ctx, &pulsarapi.ProducerMessage{Payload: fmt.Appendf(nil, `{"i":%d}`, i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// readResult is the outcome of tryRead.
type readResult struct {
	rows int
	err  error  // from Open
	log  string // what the source and the client logged
}

// tryRead builds a bounded source reading topic "t" of url from the start,
// with extra (arguments and blocks) in its block, opens it and reads it to
// the end. Failures to connect give up after failTimeout.
func tryRead(t *testing.T, url, extra string) readResult {
	t.Helper()
	src := fmt.Sprintf(`source "pulsar" {
  service_url  = %q
  topics       = ["t"]
  subscription = "s"
  start        = "earliest"
  end          = "latest"
%s
}`, url, extra)
	c, diags := plugintest.Build(SourcePlugin, src, record.Schema{})
	if diags.HasErrors() {
		t.Fatalf("%s\n%s", diags, src)
	}
	s := c.(*Source)
	s.Conn.OperationTimeout = failTimeout
	var logs syncBuffer
	rt := &plugins.Runtime{Pipeline: "p", Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	r, err := s.Open(ctx, rt)
	if err != nil {
		return readResult{err: err, log: logs.String()}
	}
	defer r.Close()
	var res readResult
	readAll(t, r.(*sourceReader), func(b *record.Batch) { res.rows += b.Rows })
	res.log = logs.String()
	return res
}

// check asserts that res read n rows, or, with wantLog set, that Open
// failed and the log holds wantLog.
func (res readResult) check(t *testing.T, n int, wantLog string) {
	t.Helper()
	switch {
	case wantLog == "" && res.err != nil:
		t.Fatalf("Open: %v\nlog:\n%s", res.err, res.log)
	case wantLog == "" && res.rows != n:
		t.Fatalf("read %d rows, want %d", res.rows, n)
	case wantLog != "" && res.err == nil:
		t.Fatalf("Open succeeded (%d rows), want a failure", res.rows)
	case wantLog != "" && !strings.Contains(res.log, wantLog):
		t.Fatalf("Open: %v; the log does not say %q:\n%s", res.err, wantLog, res.log)
	}
}

// hclTLS returns a tls block with the given arguments.
func hclTLS(args ...string) string {
	return "  tls {\n    " + strings.Join(args, "\n    ") + "\n  }"
}

// localhostURL returns the URL of b with the host name "localhost", for
// host name checks by name.
func localhostURL(b *pulsartest.Broker) string {
	return strings.Replace(b.URL(), "127.0.0.1", "localhost", 1)
}

func TestSecureTLS(t *testing.T) {
	t.Parallel()
	ca := newTestPKI(t, "sluice test CA")
	good, _, _ := ca.issue("localhost", false, "localhost", "127.0.0.1")
	other, _, _ := ca.issue("other.example", false, "other.example")
	unknownCA := "x509: certificate signed by unknown authority"
	wrongName := "x509: certificate is valid for other.example, not localhost"
	tests := []struct {
		name    string
		cert    tls.Certificate
		extra   string
		wantLog string // "" for success
	}{
		{"ca_file trusts the CA", good, hclTLS(fmt.Sprintf("ca_file = %q", ca.CAFile)), ""},
		{"system CAs do not", good, "", unknownCA},
		{"tls block without ca_file", good, hclTLS("verify_hostname = true"), unknownCA},
		{"allow_insecure", good, hclTLS("allow_insecure = true"), ""},
		{"certificate for another name", other, hclTLS(fmt.Sprintf("ca_file = %q", ca.CAFile)), wrongName},
		{"another name with allow_insecure", other, hclTLS("allow_insecure = true"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := startSecureBroker(t, pulsartest.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{tc.cert}}})
			if !strings.HasPrefix(b.URL(), "pulsar+ssl://") {
				t.Fatalf("URL %q", b.URL())
			}
			seed(t, Connection{ServiceURL: b.URL(), TLS: &TLS{AllowInsecure: true}}, 3)
			tryRead(t, localhostURL(b), tc.extra).check(t, 3, tc.wantLog)
		})
	}
}

// TestSecureVerifyHostname checks verify_hostname = false: a certificate
// from a trusted CA for another name is accepted.
func TestSecureVerifyHostname(t *testing.T) {
	t.Parallel()
	ca := newTestPKI(t, "sluice test CA")
	other, _, _ := ca.issue("other.example", false, "other.example")
	b := startSecureBroker(t, pulsartest.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{other}}})
	seed(t, Connection{ServiceURL: b.URL(), TLS: &TLS{AllowInsecure: true}}, 3)
	res := tryRead(t, localhostURL(b), hclTLS(fmt.Sprintf("ca_file = %q", ca.CAFile), "verify_hostname = false"))
	res.check(t, 3, "")

	// The chain is still checked: a CA the client does not trust fails.
	stranger := newTestPKI(t, "another CA")
	res = tryRead(t, localhostURL(b), hclTLS(fmt.Sprintf("ca_file = %q", stranger.CAFile), "verify_hostname = false"))
	if res.err == nil {
		t.Fatal("verify_hostname = false accepted a certificate of an untrusted authority")
	}
}

func TestSecureMutualTLS(t *testing.T) {
	t.Parallel()
	ca := newTestPKI(t, "sluice test CA")
	server, _, _ := ca.issue("localhost", false, "localhost", "127.0.0.1")
	_, clientCert, clientKey := ca.issue("sluice-client", true)
	_, otherCert, otherKey := ca.issue("someone-else", true)
	rogue := newTestPKI(t, "rogue CA")
	_, rogueCert, rogueKey := rogue.issue("sluice-client", true)
	b := startSecureBroker(t, pulsartest.Options{
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{server},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    ca.Pool,
		},
		Authenticate: func(r pulsartest.AuthRequest) error {
			cert := r.PeerCertificate()
			switch {
			case r.Method != "tls":
				return fmt.Errorf("a client certificate is required, got method %q", r.Method)
			case cert == nil:
				return errors.New("no client certificate")
			case cert.Subject.CommonName != "sluice-client":
				return fmt.Errorf("client %q is not allowed", cert.Subject.CommonName)
			}
			return nil
		},
	})
	caArg := fmt.Sprintf("ca_file = %q", ca.CAFile)
	seed(t, Connection{ServiceURL: b.URL(), TLS: &TLS{CAFile: ca.CAFile, CertFile: clientCert, KeyFile: clientKey, VerifyHostname: true}}, 4)
	tests := []struct {
		name    string
		extra   string
		wantLog string
	}{
		{"client certificate", hclTLS(caArg, fmt.Sprintf("cert_file = %q", clientCert), fmt.Sprintf("key_file = %q", clientKey)), ""},
		{"no client certificate", hclTLS(caArg), `authentication failed (method \"none\")`},
		{"certificate of another client", hclTLS(caArg, fmt.Sprintf("cert_file = %q", otherCert), fmt.Sprintf("key_file = %q", otherKey)),
			`client \"someone-else\" is not allowed`},
		// The client offers only a certificate from a CA the broker
		// asks for, so it sends none.
		{"certificate from another CA", hclTLS(caArg, fmt.Sprintf("cert_file = %q", rogueCert), fmt.Sprintf("key_file = %q", rogueKey)),
			`authentication failed (method \"tls\"): no client certificate`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tryRead(t, b.URL(), tc.extra).check(t, 4, tc.wantLog)
		})
	}
}

func TestSecureToken(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzbHVpY2UifQ.c2lnbmF0dXJl"
	b := startSecureBroker(t, pulsartest.Options{Authenticate: tokenAuth(token)})
	seed(t, Connection{ServiceURL: b.URL(), Auth: &Auth{Token: token}}, 5)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_TEST_PULSAR_TOKEN", token)
	t.Setenv("SLUICE_TEST_WRONG_TOKEN", "not-the-token")
	refused := `authentication failed (method \"token\"): invalid token`
	tests := []struct {
		name    string
		auth    string
		wantLog string
	}{
		{"token", fmt.Sprintf("token = %q", token), ""},
		{"token_file", fmt.Sprintf("token_file = %q", file), ""},
		{"token_env", `token_env = "SLUICE_TEST_PULSAR_TOKEN"`, ""},
		{"wrong token", `token = "not-the-token"`, refused},
		{"wrong token_env", `token_env = "SLUICE_TEST_WRONG_TOKEN"`, refused},
		{"no auth block", "", `a token is required, got method \"\"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			extra := ""
			if tc.auth != "" {
				extra = "  auth {\n    " + tc.auth + "\n  }"
			}
			tryRead(t, b.URL(), extra).check(t, 5, tc.wantLog)
		})
	}
}

// oauthIssuer is an OAuth 2.0 issuer for the client-credentials flow: it
// serves the OpenID discovery document and a token endpoint that issues
// token to clientID with secret for audience.
func oauthIssuer(t *testing.T, clientID, secret, audience, token string) *httptest.Server {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"issuer":         srv.URL,
			"token_endpoint": srv.URL + "/oauth/token",
		})
	})
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		f := r.PostForm
		if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != clientID ||
			f.Get("client_secret") != secret || f.Get("audience") != audience {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "unknown client or wrong secret"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600})
	})
	return srv
}

func TestSecureOAuth2(t *testing.T) {
	t.Parallel()
	const token = "oauth-access-token-1"
	issuer := oauthIssuer(t, "sluice", "s3cret", "urn:pulsar:test", token)
	b := startSecureBroker(t, pulsartest.Options{Authenticate: tokenAuth(token)})
	seed(t, Connection{ServiceURL: b.URL(), Auth: &Auth{Token: token}}, 2)
	dir := t.TempDir()
	credentials := func(secret string) string {
		path := filepath.Join(dir, secret+".json")
		data, _ := json.Marshal(map[string]string{"type": "client_credentials", "client_id": "sluice", "client_secret": secret})
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name, secret string
		wantLog      string
	}{
		{"client credentials", "s3cret", ""},
		{"wrong secret", "guess", "unknown client or wrong secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := tryRead(t, b.URL(), fmt.Sprintf(`  auth {
    oauth2 {
      issuer_url         = %q
      client_id          = "sluice"
      client_secret_file = %q
      audience           = "urn:pulsar:test"
    }
  }`, issuer.URL, credentials(tc.secret)))
			// The client fetches the token when it connects and logs
			// the issuer's refusal.
			res.check(t, 2, tc.wantLog)
		})
	}
	// The client sends the credentials file's client_id: another one in
	// the block is an error, not silently ignored.
	res := tryRead(t, b.URL(), fmt.Sprintf(`  auth {
    oauth2 {
      issuer_url         = %q
      client_id          = "someone-else"
      client_secret_file = %q
      audience           = "urn:pulsar:test"
    }
  }`, issuer.URL, credentials("s3cret")))
	if res.err == nil || !strings.Contains(res.err.Error(), `client_id is "someone-else"`) {
		t.Fatalf("a client_id that differs from the credentials file: err = %v", res.err)
	}
}
