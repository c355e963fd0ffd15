// Package kafka declares the Apache Kafka plugins: `source "kafka"`, which
// reads topics (through a consumer group, or by assigning every partition
// when the pipeline takes checkpoints or reads a bounded range) and commits
// offsets once the records they hold reached the sinks, and
// `sink "kafka" "NAME"`, which produces records as NDJSON values, with the
// idempotent producer, and exactly once in Kafka transactions when the
// pipeline takes checkpoints (docs/connectors/kafka.md).
//
// Both share the connection settings (brokers and the sasl and tls blocks)
// and the code that turns them into franz-go client options, in this file.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// The SASL mechanisms of `sasl { mechanism }`.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// Connection is how a plugin reaches the cluster.
type Connection struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// SASL authenticates the client; nil without a sasl block.
	SASL *SASL
	// TLS encrypts the connections; nil without a tls block.
	TLS *TLS
	// OperationTimeout bounds the lookups made when a plugin opens
	// (metadata, offsets, producer id).
	OperationTimeout time.Duration
}

// SASL is the configuration of a sasl block.
type SASL struct {
	Mechanism string // one of the Mechanism constants
	Username  string // PLAIN and SCRAM
	Password  string // PLAIN and SCRAM
	Token     string // OAUTHBEARER
}

// TLS is the configuration of a tls block.
type TLS struct {
	CAFile   string // trusted authorities; "" for the system's
	CertFile string // client certificate; "" for none
	KeyFile  string
	Verify   bool // check the broker's certificate and name
}

// connectionFields declares brokers, sasl, tls and operation_timeout. Each
// plugin gets fresh fields.
func connectionFields() []*schema.Field {
	saslSpec := schema.NewSpec(
		schema.Enum("mechanism", "The SASL mechanism.", MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer).
			Example(`"SCRAM-SHA-512"`),
		schema.String("username", "The user name, for PLAIN and SCRAM.").AsOptional().Example(`"sluice"`),
		schema.String("password", "The password, for PLAIN and SCRAM. Keep it out of the file with env(\"NAME\").").
			AsOptional().Example(`env("KAFKA_PASSWORD", "")`),
		schema.String("token", "The bearer token, for OAUTHBEARER. Keep it out of the file with env(\"NAME\").").
			AsOptional().Example(`env("KAFKA_TOKEN")`),
	)
	tlsSpec := schema.NewSpec(
		schema.String("ca_file", "A PEM file of the certificate authorities trusted to sign the brokers' certificates; without it the system's are trusted. A relative path is relative to the folder of the pipeline file.").
			AsOptional().Example(`"/etc/ssl/kafka-ca.pem"`),
		schema.String("cert_file", "A PEM client certificate for mutual TLS; requires key_file.").
			AsOptional().Example(`"/etc/sluice/client.pem"`),
		schema.String("key_file", "The PEM private key of cert_file.").AsOptional().Example(`"/etc/sluice/client-key.pem"`),
		schema.Bool("verify", "Check the brokers' certificates and that they name the host connected to. false is for tests only.").
			WithDefault(true),
	)
	return []*schema.Field{
		schema.List("brokers", schema.TypeString, "The seed brokers, host:port; the client discovers the others.").
			Example(`["kafka-1.example.com:9092", "kafka-2.example.com:9092"]`),
		schema.Block("sasl", "Authenticates with SASL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (username and password) or OAUTHBEARER (token).", saslSpec).AsOptional(),
		schema.Block("tls", "Connects with TLS. Write an empty block, tls {}, to use TLS with the system's authorities.", tlsSpec).AsOptional(),
		schema.Duration("operation_timeout", "How long the lookups made when the pipeline starts (topics, offsets, the producer id) may take while the brokers cannot be reached, before the pipeline fails. A running pipeline that loses its brokers waits for them without a limit.").
			WithDefault("30s").Example(`"1m"`),
	}
}

// buildConnection checks brokers, sasl, tls and operation_timeout.
// Relative file paths are made absolute against dir.
func buildConnection(args *schema.Values, dir string) (Connection, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	c := Connection{OperationTimeout: args.Duration("operation_timeout")}
	if !args.Invalid("operation_timeout") && c.OperationTimeout <= 0 {
		diags = append(diags, errorAt(args.Range("operation_timeout"), "Invalid timeout", "operation_timeout must be more than zero, e.g. \"30s\"."))
	}
	elems := args.Elems("brokers")
	if args.Has("brokers") && len(elems) == 0 && !args.Invalid("brokers") {
		diags = append(diags, errorAt(args.Range("brokers"), "No brokers", "brokers lists at least one broker, e.g. [\"kafka.example.com:9092\"]."))
	}
	for _, e := range elems {
		host := strings.TrimSpace(e.Text.Value)
		if i := strings.LastIndex(host, ":"); i <= 0 || i == len(host)-1 || strings.Contains(host, "://") {
			diags = append(diags, errorAt(e.Range, "Invalid broker address",
				fmt.Sprintf("A broker is written host:port, e.g. \"kafka.example.com:9092\"; got %q.", e.Text.Value)))
			continue
		}
		c.Brokers = append(c.Brokers, host)
	}
	if s := args.Block("sasl"); s != nil {
		c.SASL = &SASL{Mechanism: s.String("mechanism"), Username: s.String("username"), Password: s.String("password"), Token: s.String("token")}
		diags = append(diags, checkSASL(s, c.SASL)...)
	}
	if t := args.Block("tls"); t != nil {
		c.TLS = &TLS{CAFile: resolve(t.String("ca_file"), dir), CertFile: resolve(t.String("cert_file"), dir), KeyFile: resolve(t.String("key_file"), dir), Verify: t.Bool("verify")}
		if t.Has("cert_file") != t.Has("key_file") {
			r := argRange(t, "cert_file")
			if !t.Has("cert_file") {
				r = argRange(t, "key_file")
			}
			diags = append(diags, errorAt(r, "Client certificate without its key",
				"cert_file and key_file go together: the certificate and its private key. Write both or neither."))
		}
	}
	return c, diags
}

// checkSASL checks that a sasl block has what its mechanism needs.
func checkSASL(s *schema.Values, c *SASL) hcl.Diagnostics {
	if s.Invalid("mechanism") {
		return nil
	}
	if c.Mechanism == MechanismOAuthBearer {
		var diags hcl.Diagnostics
		if strings.TrimSpace(c.Token) == "" {
			diags = append(diags, errorAt(argRange(s, "token"), "No token", "SASL OAUTHBEARER needs token, e.g. token = env(\"KAFKA_TOKEN\")."))
		}
		for _, name := range []string{"username", "password"} {
			if s.Has(name) {
				diags = append(diags, errorAt(argRange(s, name), "Argument not used by OAUTHBEARER",
					fmt.Sprintf("OAUTHBEARER authenticates with token only; remove %s.", name)))
			}
		}
		return diags
	}
	var diags hcl.Diagnostics
	if c.Username == "" {
		diags = append(diags, errorAt(argRange(s, "username"), "No user name", fmt.Sprintf("SASL %s needs username and password.", c.Mechanism)))
	}
	if !s.Has("password") {
		diags = append(diags, errorAt(s.DefRange, "No password", fmt.Sprintf("SASL %s needs username and password, e.g. password = env(\"KAFKA_PASSWORD\").", c.Mechanism)))
	}
	if s.Has("token") {
		diags = append(diags, errorAt(argRange(s, "token"), "Argument not used by "+c.Mechanism, "token is for OAUTHBEARER only; remove it."))
	}
	return diags
}

// clientOptions returns the franz-go options of the connection: seeds,
// TLS, SASL, and the client's own logging (warnings and errors) to logger.
func (c *Connection) clientOptions(logger *slog.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.WithLogger(clientLogger{logger})}
	if c.TLS != nil {
		cfg, err := c.TLS.config()
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if s := c.SASL; s != nil {
		switch s.Mechanism {
		case MechanismPlain:
			opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
		case MechanismScramSHA256:
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
		case MechanismScramSHA512:
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
		case MechanismOAuthBearer:
			opts = append(opts, kgo.SASL(oauth.Auth{Token: s.Token}.AsMechanism()))
		}
	}
	return opts, nil
}

// brokersText names the brokers for messages.
func (c *Connection) brokersText() string { return strings.Join(c.Brokers, ",") }

// config returns the TLS configuration of the block.
func (t *TLS) config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !t.Verify} //nolint:gosec // verify = false is the user's choice, for tests
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = roots
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

// clientLogger passes the client's warnings and errors to a slog logger;
// at info level franz-go logs every connection and metadata update.
type clientLogger struct{ l *slog.Logger }

// Level is the most verbose level the client logs at.
func (c clientLogger) Level() kgo.LogLevel {
	if c.l == nil {
		return kgo.LogLevelNone
	}
	return kgo.LogLevelWarn
}

// Log logs one client message.
func (c clientLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch {
	case c.l == nil:
	case level == kgo.LogLevelError:
		c.l.Error("kafka client: "+msg, keyvals...)
	case level == kgo.LogLevelWarn:
		c.l.Warn("kafka client: "+msg, keyvals...)
	}
}

// runtimeLogger is rt's logger, or one that discards.
func runtimeLogger(rt *plugins.Runtime) *slog.Logger {
	if rt != nil && rt.Logger != nil {
		return rt.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// newClient makes a client with the connection's options and extra, and
// checks within the operation timeout that the brokers answer, so that a
// wrong address fails the pipeline at its start with one line.
func (c *Connection) newClient(ctx context.Context, logger *slog.Logger, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := c.clientOptions(logger)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", c.brokersText(), err)
	}
	pctx, cancel := context.WithTimeout(ctx, c.OperationTimeout)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("connecting to %s: %w", c.brokersText(), oneLine(err))
	}
	return cl, nil
}

// oneLine makes an error one line: joined errors are separated by "; ".
func oneLine(err error) error {
	s := err.Error()
	if !strings.Contains(s, "\n") {
		return err
	}
	return fmt.Errorf("%s", strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " "))
}

// describe names a block for messages, such as `source "kafka"`.
func describe(args *schema.Values) string {
	s := args.Type
	if len(args.Labels) > 0 {
		s += fmt.Sprintf(" %q", args.Labels[0])
	}
	return s
}

// errorAt is a shorthand for an error diagnostic.
func errorAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// warningAt is a shorthand for a warning diagnostic.
func warningAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// argRange is the range of a written argument, name included, or the
// block header when it is absent.
func argRange(args *schema.Values, name string) hcl.Range {
	if a := args.Attr(name); a != nil {
		return hcl.RangeBetween(a.NameRange, a.Range)
	}
	return args.DefRange
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
