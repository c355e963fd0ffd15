package pulsar

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsar/auth"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// DefaultServiceURL is the broker the plugins connect to when service_url
// is not written: a standalone Pulsar on this machine.
const DefaultServiceURL = "pulsar://127.0.0.1:6650"

// Connection holds the settings the three Pulsar plugins share: where the
// cluster is and how to authenticate to it.
type Connection struct {
	// ServiceURL is the binary-protocol URL of the cluster, pulsar:// or
	// pulsar+ssl://, possibly naming several hosts separated by commas.
	ServiceURL string
	// Auth is how the client authenticates; nil without an auth block.
	Auth *Auth
	// TLS holds the TLS settings; nil without a tls block.
	TLS *TLS
	// ConnectionTimeout bounds establishing one TCP connection to a
	// broker, TLS handshake included; zero leaves it to the operating
	// system, as the client does by default.
	ConnectionTimeout time.Duration
	// OperationTimeout bounds lookups, subscribing and creating producers,
	// each retried until it runs out; zero means DefaultOperationTimeout.
	OperationTimeout time.Duration
}

// DefaultOperationTimeout is operation_timeout when it is not written: the
// client's own default.
const DefaultOperationTimeout = 30 * time.Second

// operationTimeout is the operation timeout in force.
func (c *Connection) operationTimeout() time.Duration {
	if c.OperationTimeout <= 0 {
		return DefaultOperationTimeout
	}
	return c.OperationTimeout
}

// Auth is the auth block: exactly one of its methods is set.
type Auth struct {
	// Token is a JWT written in the pipeline file.
	Token string
	// TokenFile is a file holding the JWT; the client reads it again when
	// it reconnects, so a rotated token is picked up.
	TokenFile string
	// TokenEnv is the name of an environment variable holding the JWT,
	// read when the plugin opens.
	TokenEnv string
	// OAuth2 is the client-credentials flow.
	OAuth2 *OAuth2
}

// OAuth2 is the oauth2 block of auth: the client-credentials flow.
type OAuth2 struct {
	IssuerURL        string
	ClientID         string
	ClientSecretFile string // the JSON credentials file (Pulsar's "privateKey")
	Audience         string
	Scope            string
}

// TLS is the tls block.
type TLS struct {
	// CAFile is a PEM file of the certificates trusted to sign the
	// broker's; empty for the system's.
	CAFile string
	// CertFile and KeyFile are the client certificate and its key, for
	// mutual TLS; both or neither are set.
	CertFile, KeyFile string
	// VerifyHostname checks that the broker's certificate names its host.
	VerifyHostname bool
	// AllowInsecure accepts a broker certificate that is not trusted.
	AllowInsecure bool
}

// connectionFields declares service_url, auth and tls. Each plugin gets
// fresh fields.
func connectionFields() []*schema.Field {
	oauth2 := schema.NewSpec(
		schema.String("issuer_url", "The URL of the OAuth 2.0 issuer, whose token endpoint is discovered from it.").
			Example(`"https://auth.example.com/"`),
		schema.String("client_id", "The client ID of the client-credentials flow. The ID sent is the one in client_secret_file; when written here it must be the same (it is checked when the pipeline starts).").AsOptional().Example(`"sluice"`),
		schema.String("client_secret_file", "The JSON credentials file holding client_id and client_secret (the file Pulsar calls the private key); a relative path is relative to the folder of the pipeline file.").
			Example(`"/etc/sluice/pulsar-credentials.json"`),
		schema.String("audience", "The audience of the token, as the cluster expects it.").Example(`"urn:sn:pulsar:acme:prod"`),
		schema.String("scope", "The scopes to request, separated by spaces.").AsOptional().Example(`"pulsar"`),
	)
	authSpec := schema.NewSpec(
		schema.String("token", "A JWT written in the file. Prefer token_file or token_env, which keep the secret out of the pipeline file.").
			AsOptional().Example(`env("PULSAR_TOKEN")`),
		schema.String("token_file", "A file holding the JWT; a relative path is relative to the folder of the pipeline file. It is read again on every reconnection, so a rotated token is picked up.").
			AsOptional().Example(`"/var/run/secrets/pulsar/token"`),
		schema.String("token_env", "The name of an environment variable holding the JWT, read when the pipeline starts.").
			AsOptional().Example(`"PULSAR_TOKEN"`),
		schema.Block("oauth2", "Authenticates with the OAuth 2.0 client-credentials flow.", oauth2).AsOptional(),
	)
	tlsSpec := schema.NewSpec(
		schema.String("ca_file", "A PEM file of the certificate authorities trusted to sign the broker's certificate; without it the system's are trusted.").
			AsOptional().Example(`"/etc/ssl/pulsar-ca.pem"`),
		schema.String("cert_file", "A PEM client certificate for mutual TLS; requires key_file. Without an auth block it also authenticates the client.").
			AsOptional().Example(`"/etc/sluice/client.pem"`),
		schema.String("key_file", "The PEM private key of cert_file.").AsOptional().Example(`"/etc/sluice/client-key.pem"`),
		schema.Bool("verify_hostname", "Check that the broker's certificate names the host connected to.").WithDefault(true),
		schema.Bool("allow_insecure", "Accept a broker certificate that is not trusted. For tests only.").WithDefault(false),
	)
	return []*schema.Field{
		schema.String("service_url", "The cluster's binary-protocol URL: pulsar://host:6650, or pulsar+ssl://host:6651 for TLS. Several hosts may be listed, separated by commas.").
			WithDefault(DefaultServiceURL).Example(`"pulsar+ssl://pulsar.example.com:6651"`),
		schema.Block("auth", "How to authenticate: exactly one of token, token_file, token_env or an oauth2 block.", authSpec).AsOptional(),
		schema.Block("tls", "TLS settings. A pulsar+ssl:// URL uses TLS without this block; write it to trust a private authority, present a client certificate or relax verification.", tlsSpec).AsOptional(),
		schema.Duration("connection_timeout", "How long establishing one TCP connection to a broker may take, TLS handshake included. Without it the operating system's limit applies, as in the Pulsar client: about two minutes on Linux for a host that does not answer (a refused connection fails at once).").
			AsOptional().Example(`"10s"`),
		schema.Duration("operation_timeout", "How long connecting, looking a topic up, subscribing or creating a producer is retried, while the broker cannot be reached or refuses, before the pipeline fails with an error. A running pipeline that loses its broker reconnects without a limit; each attempt is bounded by operation_timeout.").
			WithDefault("30s").Example(`"1m"`),
	}
}

// buildConnection checks service_url, auth and tls. Relative file paths
// are made absolute against dir.
func buildConnection(args *schema.Values, dir string) (Connection, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	c := Connection{
		ServiceURL:        strings.TrimSpace(args.String("service_url")),
		ConnectionTimeout: args.Duration("connection_timeout"),
		OperationTimeout:  args.Duration("operation_timeout"),
	}
	for _, t := range []struct{ name, example string }{{"connection_timeout", "10s"}, {"operation_timeout", "30s"}} {
		if args.Has(t.name) && !args.Invalid(t.name) && args.Duration(t.name) <= 0 {
			diags = append(diags, errorAt(args.Range(t.name), "Invalid timeout",
				fmt.Sprintf("%s must be more than zero, e.g. %q.", t.name, t.example)))
		}
	}
	text := args.Text("service_url")
	scheme, hosts, ok := strings.Cut(c.ServiceURL, "://")
	switch {
	case !ok || (scheme != "pulsar" && scheme != "pulsar+ssl"):
		r := args.Range("service_url")
		if i := strings.Index(text.Value, "://"); i > 0 {
			r = text.RangeOf(0, i+3)
		}
		diags = append(diags, errorAt(r, "Unsupported service URL",
			fmt.Sprintf("The service_url of %s must start with pulsar:// or pulsar+ssl:// (the binary protocol, usually port 6650 or 6651 for TLS), e.g. %q; HTTP lookup URLs are not supported.", describe(args), DefaultServiceURL)))
	case strings.Trim(hosts, "/") == "":
		diags = append(diags, errorAt(args.Range("service_url"), "Service URL without a host",
			fmt.Sprintf("The service_url of %s names no host; write e.g. %q.", describe(args), scheme+"://pulsar.example.com:6650")))
	}
	if a := args.Block("auth"); a != nil {
		var ds hcl.Diagnostics
		c.Auth, ds = buildAuth(a, dir)
		diags = append(diags, ds...)
	}
	if t := args.Block("tls"); t != nil {
		c.TLS = &TLS{
			CAFile:         resolve(t.String("ca_file"), dir),
			CertFile:       resolve(t.String("cert_file"), dir),
			KeyFile:        resolve(t.String("key_file"), dir),
			VerifyHostname: t.Bool("verify_hostname"),
			AllowInsecure:  t.Bool("allow_insecure"),
		}
		switch {
		case t.Has("cert_file") && !t.Has("key_file"):
			diags = append(diags, errorAt(argRange(t, "cert_file"), "Client certificate without a key",
				"cert_file needs key_file, the certificate's private key; write both or neither."))
		case t.Has("key_file") && !t.Has("cert_file"):
			diags = append(diags, errorAt(argRange(t, "key_file"), "Client key without a certificate",
				"key_file needs cert_file, the client certificate; write both or neither."))
		}
		if scheme == "pulsar" {
			diags = append(diags, warningAt(t.DefRange, "TLS settings are not used",
				"The service_url starts with pulsar://, which does not use TLS, so this tls block has no effect. Use pulsar+ssl:// (usually port 6651) to connect with TLS."))
		}
	}
	return c, diags
}

// buildAuth checks that an auth block holds exactly one method.
func buildAuth(a *schema.Values, dir string) (*Auth, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var written []string
	var second hcl.Range
	for _, name := range []string{"token", "token_file", "token_env", "oauth2"} {
		if !a.Has(name) {
			continue
		}
		written = append(written, name)
		if len(written) == 2 {
			second = argRange(a, name)
			if name == "oauth2" {
				second = a.Block(name).DefRange
			}
		}
	}
	switch len(written) {
	case 0:
		return nil, hcl.Diagnostics{errorAt(a.DefRange, "No authentication method",
			"An auth block needs exactly one of token, token_file, token_env or an oauth2 block, e.g. token_file = \"/var/run/secrets/pulsar/token\".")}
	case 1:
	default:
		diags = append(diags, errorAt(second, "Several authentication methods",
			fmt.Sprintf("An auth block takes exactly one method, but this one has %s; keep one.", strings.Join(written, " and "))))
	}
	au := &Auth{
		Token:     a.String("token"),
		TokenFile: resolve(a.String("token_file"), dir),
		TokenEnv:  a.String("token_env"),
	}
	for _, name := range []string{"token", "token_file", "token_env"} {
		if a.Has(name) && strings.TrimSpace(a.String(name)) == "" {
			diags = append(diags, errorAt(a.Range(name), "Empty "+strings.ReplaceAll(name, "_", " "),
				fmt.Sprintf("The argument %q of the auth block is empty.", name)))
		}
	}
	if o := a.Block("oauth2"); o != nil {
		au.OAuth2 = &OAuth2{
			IssuerURL:        o.String("issuer_url"),
			ClientID:         o.String("client_id"),
			ClientSecretFile: resolve(o.String("client_secret_file"), dir),
			Audience:         o.String("audience"),
			Scope:            o.String("scope"),
		}
		if u := o.String("issuer_url"); o.Has("issuer_url") && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			diags = append(diags, errorAt(o.Range("issuer_url"), "Invalid issuer URL",
				fmt.Sprintf("The issuer_url must be an http:// or https:// URL, e.g. \"https://auth.example.com/\"; got %q.", u)))
		}
	}
	return au, diags
}

// resolve makes a relative path absolute against dir; "" stays "".
func resolve(path, dir string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	p := filepath.Join(dir, path)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// newClient connects a client with the connection's settings. The client's
// own logging goes to rt's logger, warnings and errors only.
func (c *Connection) newClient(rt *plugins.Runtime) (pulsarapi.Client, error) {
	opts := pulsarapi.ClientOptions{
		URL:               c.ServiceURL,
		OperationTimeout:  c.operationTimeout(),
		ConnectionTimeout: c.ConnectionTimeout,
		Logger:            clientLogger(rt),
	}
	if t := c.TLS; t != nil {
		opts.TLSTrustCertsFilePath = t.CAFile
		opts.TLSCertificateFile = t.CertFile
		opts.TLSKeyFilePath = t.KeyFile
		opts.TLSValidateHostname = t.VerifyHostname
		opts.TLSAllowInsecureConnection = t.AllowInsecure
		if c.Auth == nil && t.CertFile != "" {
			opts.Authentication = pulsarapi.NewAuthenticationTLS(t.CertFile, t.KeyFile)
		}
		if !t.VerifyHostname && !t.AllowInsecure {
			// pulsar-client-go checks the host name whatever
			// TLSValidateHostname says (apache/pulsar-client-go#238): give
			// it a configuration that checks the chain but not the name.
			cfg, err := t.chainOnlyConfig()
			if err != nil {
				return nil, fmt.Errorf("tls: %w", err)
			}
			opts.TLSConfig = cfg
		}
	} else {
		opts.TLSValidateHostname = true
	}
	if a := c.Auth; a != nil {
		switch {
		case a.Token != "":
			opts.Authentication = pulsarapi.NewAuthenticationToken(a.Token)
		case a.TokenFile != "":
			if _, err := os.Stat(a.TokenFile); err != nil {
				return nil, fmt.Errorf("auth token_file: %w", err)
			}
			opts.Authentication = pulsarapi.NewAuthenticationTokenFromFile(a.TokenFile)
		case a.TokenEnv != "":
			tok := strings.TrimSpace(os.Getenv(a.TokenEnv))
			if tok == "" {
				return nil, fmt.Errorf("auth token_env: the environment variable %s is not set or empty", a.TokenEnv)
			}
			opts.Authentication = pulsarapi.NewAuthenticationToken(tok)
		case a.OAuth2 != nil:
			o := a.OAuth2
			if err := o.checkClientID(); err != nil {
				return nil, fmt.Errorf("auth oauth2: %w", err)
			}
			p, err := auth.NewAuthenticationOAuth2WithParams(map[string]string{
				auth.ConfigParamType:      auth.ConfigParamTypeClientCredentials,
				auth.ConfigParamIssuerURL: o.IssuerURL,
				auth.ConfigParamClientID:  o.ClientID,
				auth.ConfigParamKeyFile:   o.ClientSecretFile,
				auth.ConfigParamAudience:  o.Audience,
				auth.ConfigParamScope:     o.Scope,
			})
			if err != nil {
				return nil, fmt.Errorf("auth oauth2: %w", err)
			}
			opts.Authentication = p
		}
	}
	client, err := pulsarapi.NewClient(opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", c.ServiceURL, c.explain(err))
	}
	return client, nil
}

// checkClientID checks that a client_id written in the block is the one
// of the credentials file, which is what the client sends.
func (o *OAuth2) checkClientID() error {
	data, err := os.ReadFile(o.ClientSecretFile)
	if err != nil {
		return err
	}
	var creds struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(data, &creds); err != nil {
		return fmt.Errorf("%s is not a JSON credentials file: %w", o.ClientSecretFile, err)
	}
	if o.ClientID != "" && creds.ClientID != o.ClientID {
		return fmt.Errorf("client_id is %q but %s holds client_id %q, which is the one sent; make them the same or remove client_id", o.ClientID, o.ClientSecretFile, creds.ClientID)
	}
	return nil
}

// chainOnlyConfig is a TLS configuration that trusts CAFile (or the
// system's authorities), presents the client certificate if any, and
// checks the broker's certificate chain but not the host name it is for.
func (t *TLS) chainOnlyConfig() (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", t.CAFile)
		}
	}
	cfg := &tls.Config{
		// The standard verification also checks the name; this one does
		// the same without it.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the broker presented no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		},
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// clientLogger routes the Pulsar client's logging to the runtime's logger,
// warnings and errors only: at info level the client logs every
// connection and lookup.
func clientLogger(rt *plugins.Runtime) pulsarlog.Logger {
	if rt == nil {
		return ClientLogger(nil)
	}
	return ClientLogger(rt.Logger)
}

// ClientLogger adapts logger for pulsar-client-go, passing on warnings and
// errors only (at info level the client logs every connection and lookup).
// A nil logger discards everything.
func ClientLogger(logger *slog.Logger) pulsarlog.Logger {
	if logger == nil {
		return pulsarlog.DefaultNopLogger()
	}
	return pulsarlog.NewLoggerWithSlog(slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn}))
}

// minLevel drops the records of a handler below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

// Enabled reports whether the level is at least min and enabled below.
func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// WithAttrs keeps the level filter on the derived handler.
func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

// WithGroup keeps the level filter on the derived handler.
func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
