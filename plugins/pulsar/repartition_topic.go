package pulsar

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsar/auth"

	"github.com/sluice-io/sluice/plugins"
)

// This file creates a repartition block's topic: each process checks it
// once, at the first of OpenTasks and OpenPublisher, and creates it
// through the admin REST API when it is missing. Processes racing to
// create it are told 409 Conflict but one and check the count again.

// topicSetup is whether this process checked the topic, shared by the
// opens of one block (each waits for the one under way).
type topicSetup struct {
	mu     sync.Mutex
	done   bool
	warned bool
}

// ensureTopic makes sure the topic exists with r.Partitions partitions,
// creating it when it is missing, asks for deduplication on it, and makes
// sure its state topic (repartition_state.go) exists with one partition.
// It runs once per process; a failure is retried by the next open.
func (r *Repartition) ensureTopic(ctx context.Context, rt *plugins.Runtime, client pulsarapi.Client) error {
	r.setup.mu.Lock()
	defer r.setup.mu.Unlock()
	if r.setup.done {
		return nil
	}
	admin, err := r.newAdmin()
	if err != nil {
		return err
	}
	if err := r.ensurePartitioned(ctx, admin, client, r.Topic, r.Partitions); err != nil {
		return err
	}
	if err := r.ensurePartitioned(ctx, admin, client, stateTopic(r.Topic), 1); err != nil {
		return err
	}
	if err := admin.enableDeduplication(ctx, r.Topic); err != nil && !r.setup.warned {
		r.setup.warned = true
		logger := slog.New(slog.DiscardHandler)
		if rt != nil && rt.Logger != nil {
			logger = rt.Logger
		}
		logger.Warn("could not enable deduplication on the repartition topic: the namespace must have it for exactly-once across the shuffle ("+
			"pulsar-admin namespaces set-deduplication "+namespaceOf(r.Topic)+" --enable)", "topic", r.Topic, "reason", err.Error())
	}
	r.setup.done = true
	return nil
}

// ensurePartitioned makes sure topic exists with want partitions,
// creating it when it is missing: when another process creates it at the
// same time, the admin API answers 409 and the count is checked again.
func (r *Repartition) ensurePartitioned(ctx context.Context, admin *adminClient, client pulsarapi.Client, topic string, want int) error {
	n, err := r.partitionCount(client, topic)
	if err != nil {
		return err
	}
	if n == 0 {
		created, err := admin.createPartitioned(ctx, topic, want)
		if err != nil {
			return err
		}
		if !created { // another process was first, or a topic of another kind exists
			if n, err = r.partitionCount(client, topic); err != nil {
				return err
			}
		} else {
			n = want
		}
	}
	return checkCount(topic, n, want)
}

// partitionCount asks the broker for topic's partition count over the
// binary protocol: 0 for a missing or non-partitioned topic.
func (r *Repartition) partitionCount(client pulsarapi.Client, topic string) (int, error) {
	parts, err := client.TopicPartitions(topic)
	if err != nil {
		if strings.Contains(err.Error(), "TopicNotFound") || strings.Contains(strings.ToLower(err.Error()), "topic not found") {
			return 0, nil // a broker without auto-creation
		}
		return 0, fmt.Errorf("looking up topic %s on %s: %w", topic, r.Conn.ServiceURL, r.Conn.explain(err))
	}
	if len(parts) == 1 {
		if _, idx := splitPartition(parts[0]); idx < 0 {
			return 0, nil
		}
	}
	return len(parts), nil
}

// checkCount refuses a topic whose partition count n is not want.
func checkCount(topic string, n, want int) error {
	switch {
	case n == want:
		return nil
	case n == 0:
		return fmt.Errorf("topic %s exists as a non-partitioned topic (1 partition), but the repartition block needs %d partitions: "+
			"delete it (pulsar-admin topics delete %s) if it holds nothing you need, or name another topic", topic, want, topic)
	}
	return fmt.Errorf("topic %s has %d partitions, but the repartition block says partitions = %d: "+
		"the partition count decides where each key goes, so it cannot change under a running shuffle; "+
		"write partitions = %d, or name a new topic (and drain the old one first)", topic, n, want, n)
}

// namespaceOf returns "tenant/namespace" of a full topic name.
func namespaceOf(topic string) string {
	_, rest, _ := strings.Cut(topic, "://")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 {
		return rest
	}
	return parts[0] + "/" + parts[1]
}

// adminClient calls the admin REST API of the cluster.
type adminClient struct {
	base string
	http *http.Client
}

// newAdmin returns a client of r.AdminURL with the connection's TLS
// settings and credentials (a token as "Authorization: Bearer", OAuth 2.0
// as the Pulsar client obtains it).
func (r *Repartition) newAdmin() (*adminClient, error) {
	c := &r.Conn
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if t := c.TLS; t != nil {
		cfg, err := t.adminConfig()
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		transport.TLSClientConfig = cfg
	}
	var rt http.RoundTripper = transport
	if a := c.Auth; a != nil {
		p, err := adminAuth(a)
		if err != nil {
			return nil, err
		}
		if err := p.WithTransport(transport); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		rt = p
	}
	return &adminClient{base: r.AdminURL, http: &http.Client{Transport: rt, Timeout: c.operationTimeout()}}, nil
}

// adminAuth returns the credentials of a, as pulsar-client-go's providers,
// which add them to HTTP requests.
func adminAuth(a *Auth) (auth.Provider, error) {
	var p auth.Provider
	switch {
	case a.Token != "":
		p = auth.NewAuthenticationToken(a.Token)
	case a.TokenFile != "":
		p = auth.NewAuthenticationTokenFromFile(a.TokenFile)
	case a.TokenEnv != "":
		tok := strings.TrimSpace(os.Getenv(a.TokenEnv))
		if tok == "" {
			return nil, fmt.Errorf("auth token_env: the environment variable %s is not set or empty", a.TokenEnv)
		}
		p = auth.NewAuthenticationToken(tok)
	case a.OAuth2 != nil:
		o := a.OAuth2
		var err error
		p, err = auth.NewAuthenticationOAuth2WithParams(map[string]string{
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
	default:
		return nil, fmt.Errorf("auth: no method")
	}
	if err := p.Init(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return p, nil
}

// adminConfig is the TLS configuration of admin requests: the tls block's
// authorities, client certificate and verification, as for the broker.
func (t *TLS) adminConfig() (*tls.Config, error) {
	if !t.VerifyHostname && !t.AllowInsecure {
		return t.chainOnlyConfig()
	}
	cfg := &tls.Config{InsecureSkipVerify: t.AllowInsecure}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", t.CAFile)
		}
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

// topicPath returns the admin path of a full topic name and op:
// /admin/v2/persistent/TENANT/NAMESPACE/TOPIC/OP.
func topicPath(topic, op string) string {
	domain, rest, _ := strings.Cut(topic, "://")
	segs := []string{"admin", "v2", domain}
	for _, s := range strings.SplitN(rest, "/", 3) {
		segs = append(segs, url.PathEscape(s))
	}
	return "/" + strings.Join(append(segs, op), "/")
}

// call sends one request with a JSON body and returns the status and the
// start of the response body.
func (a *adminClient) call(ctx context.Context, method, topic, op, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+topicPath(topic, op), strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("admin API at %s: %w", a.base, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, strings.TrimSpace(string(text)), nil
}

// createPartitioned creates topic with n partitions; false when it exists
// already (409 Conflict).
func (a *adminClient) createPartitioned(ctx context.Context, topic string, n int) (bool, error) {
	status, text, err := a.call(ctx, http.MethodPut, topic, "partitions", strconv.Itoa(n))
	switch {
	case err != nil:
		return false, fmt.Errorf("creating topic %s: %w", topic, err)
	case status == http.StatusConflict:
		return false, nil
	case status/100 == 2:
		return true, nil
	}
	return false, fmt.Errorf("creating topic %s with %d partitions: the admin API at %s answered %d %s", topic, n, a.base, status, text)
}

// enableDeduplication turns deduplication on for topic (a topic policy).
func (a *adminClient) enableDeduplication(ctx context.Context, topic string) error {
	status, text, err := a.call(ctx, http.MethodPost, topic, "deduplication", "true")
	switch {
	case err != nil:
		return err
	case status/100 == 2:
		return nil
	}
	return fmt.Errorf("the admin API answered %d %s", status, text)
}
