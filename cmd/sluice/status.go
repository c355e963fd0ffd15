package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/cmd/sluice/internal/observe"
)

// statusFlags are the flags of sluice status.
type statusFlags struct {
	url    string
	format string
	caFile string
}

// statusRateWindow is the time between the two reads sluice status takes
// its rates from.
const statusRateWindow = time.Second

func newStatusCmd() *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Show the pipelines of a running sluice: state, rates, watermark, lag",
		Long: `Reads /api/v1/pipelines of a running sluice (sluice run with a metrics
block, sluice demo --metrics) and prints per pipeline its state, counters
and records per second (from two reads a second apart), source, each
window's watermark, lag, open windows and the partition holding the
watermark back and why, sinks and last checkpoint. --format json prints the
document of one read. Exit 1 when the endpoint cannot be read.

For an endpoint with basic auth put the credentials in the URL
(https://user:password@host:9464); --ca-file trusts a certificate
authority that signed its TLS certificate.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitWith(showStatus(f, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().StringVar(&f.url, "url", "http://127.0.0.1:9464", "`URL` of the metrics endpoint of the running sluice")
	addEnumFlag(cmd, &f.format, "format", "text", "output `FORMAT`: text or json", "text", "json")
	cmd.Flags().StringVar(&f.caFile, "ca-file", "", "PEM `FILE` of the certificate authority to trust for an https URL")
	mustRegister(cmd.RegisterFlagCompletionFunc("url", cobra.NoFileCompletions))
	return cmd
}

// showStatus is sluice status.
func showStatus(f statusFlags, stdout, stderr io.Writer) int {
	client, err := statusClient(f.caFile)
	if err != nil {
		fmt.Fprintln(stderr, "sluice status:", err)
		return exitUsage
	}
	endpoint := strings.TrimSuffix(f.url, "/") + "/api/v1/pipelines"
	first, raw, err := fetchPipelines(client, endpoint)
	if err != nil {
		fmt.Fprintln(stderr, "sluice status:", err)
		return exitProblems
	}
	if f.format == "json" {
		_, _ = stdout.Write(raw)
		return exitOK
	}
	time.Sleep(statusRateWindow)
	second, _, err := fetchPipelines(client, endpoint)
	if err != nil {
		fmt.Fprintln(stderr, "sluice status:", err)
		return exitProblems
	}
	observe.WriteStatus(stdout, second, first)
	return exitOK
}

// statusClient is the HTTP client of sluice status, trusting caFile's
// authorities when set.
func statusClient(caFile string) (*http.Client, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	if caFile == "" {
		return client, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
	}
	client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return client, nil
}

// fetchPipelines reads the document at endpoint; the error says what an
// operator needs to know.
func fetchPipelines(client *http.Client, endpoint string) (*observe.PipelinesDocument, []byte, error) {
	shown := redactURL(endpoint)
	resp, err := client.Get(endpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach %s (is sluice running with a metrics block, and is --url right?): %v", shown, urlErrorCause(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %v", shown, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s answered %s: %s", shown, resp.Status, firstLine(body))
	}
	var doc observe.PipelinesDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s is not a sluice pipelines document: %v", shown, err)
	}
	return &doc, body, nil
}

// redactURL hides the password of a URL with credentials.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}

// urlErrorCause drops the method and URL a client error repeats.
func urlErrorCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
