package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"

	"github.com/sluice-io/sluice/schema"
)

// metrics loads the top-level metrics block.
func (l *loader) metrics(ctx *schema.Context, blk *hclsyntax.Block) {
	if !l.labels(blk) {
		return
	}
	if prev := l.project.Metrics; prev != nil {
		l.add(duplicate("metrics", blk.DefRange(), prev.DefRange))
		return
	}
	v, diags := schema.Decode(ctx, blk, metricsSpec)
	l.add(diags...)
	m := &Metrics{Listen: v.String("listen"), DefRange: blk.DefRange()}
	l.project.Metrics = m
	host, port, err := net.SplitHostPort(m.Listen)
	if err != nil || port == "" {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid listen address",
			Detail:   fmt.Sprintf("%q is not a host:port address; write for example \"127.0.0.1:9464\" or \":9464\".", m.Listen),
			Subject:  v.Range("listen").Ptr(),
		})
		return
	}
	secured := false
	if v.Has("web_config_file") {
		m.WebConfigFile = v.String("web_config_file")
		if !filepath.IsAbs(m.WebConfigFile) {
			m.WebConfigFile = filepath.Join(filepath.Dir(blk.DefRange().Filename), m.WebConfigFile)
		}
		if l.opts.offline() {
			return // sluice test serves no endpoint
		}
		var d *hcl.Diagnostic
		secured, d = checkWebConfig(m.WebConfigFile)
		if d != nil {
			d.Subject = v.Range("web_config_file").Ptr()
			l.add(d)
			return
		}
	}
	if !secured && !isLoopback(host) {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Metrics endpoint open to the network",
			Detail: fmt.Sprintf("%q accepts connections from other machines, and the endpoint serves the pipelines' details and their last output rows. "+
				"Listen on 127.0.0.1, or set web_config_file to a file with tls_server_config and basic_auth_users (docs/observability.md).", m.Listen),
			Subject: v.Range("listen").Ptr(),
		})
	}
}

// checkWebConfig validates an exporter-toolkit web configuration file as
// the server will load it (certificates and bcrypt hashes included), and
// reports whether it configures both TLS and basic auth.
func checkWebConfig(path string) (secured bool, d *hcl.Diagnostic) {
	content, err := os.ReadFile(path)
	if err != nil {
		return false, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Web config file not found",
			Detail:   fmt.Sprintf("The web config file %s cannot be read: %v. Paths are relative to the folder of this file.", path, unwrapPathError(err)),
		}
	}
	if err := web.Validate(path); err != nil {
		return false, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid web config file",
			Detail:   fmt.Sprintf("%s: %v. The format is Prometheus exporter-toolkit's (tls_server_config, basic_auth_users with bcrypt hashes).", path, err),
		}
	}
	var c web.Config
	if err := yaml.Unmarshal(content, &c); err != nil {
		return false, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid web config file", Detail: fmt.Sprintf("%s: %v.", path, err)}
	}
	return c.TLSConfig.IsEnabled() && len(c.Users) > 0, nil
}

// isLoopback reports whether host only accepts local connections:
// localhost or a loopback IP. "" and 0.0.0.0 listen on every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
