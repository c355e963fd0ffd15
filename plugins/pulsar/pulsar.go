// Package pulsar declares the Apache Pulsar plugins: `source "pulsar"`,
// which consumes one or more topics through a subscription and acknowledges
// each message once the records it produced reached the sinks,
// `sink "pulsar" "NAME"`, which publishes records as NDJSON messages, and
// `dead_letter "pulsar"`, which publishes the original bytes of the records
// that could not be processed.
//
// The three share the connection settings (service_url and the auth and tls
// blocks) and the code that turns them into a client, in client.go.
package pulsar

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

// describe names a block for messages, such as `source "pulsar"`.
func describe(args *schema.Values) string {
	s := args.Type
	if len(args.Labels) > 0 {
		s += fmt.Sprintf(" %q", args.Labels[0])
	}
	return s
}

// topicName checks a topic name the way the Pulsar client parses it and
// returns its fully qualified form, such as
// "persistent://public/default/events". Accepted are "events",
// "tenant/namespace/events" and "persistent://tenant/namespace/events" (or
// non-persistent://), and the legacy forms with a cluster.
func topicName(topic string) (string, error) {
	if strings.TrimSpace(topic) == "" {
		return "", fmt.Errorf("the topic name is empty")
	}
	if !strings.Contains(topic, "://") {
		switch parts := strings.Split(topic, "/"); len(parts) {
		case 1:
			topic = "persistent://public/default/" + topic
		case 3, 4:
			topic = "persistent://" + topic
		default:
			return "", fmt.Errorf("%q is not a topic name: write <topic>, <tenant>/<namespace>/<topic> or persistent://<tenant>/<namespace>/<topic>", topic)
		}
	}
	domain, rest, _ := strings.Cut(topic, "://")
	if domain != "persistent" && domain != "non-persistent" {
		return "", fmt.Errorf("%q is not a topic domain: write persistent:// or non-persistent://", domain+"://")
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) < 3 {
		return "", fmt.Errorf("%q is not a topic name: write %s://<tenant>/<namespace>/<topic>", topic, domain)
	}
	for _, p := range parts {
		if p == "" {
			return "", fmt.Errorf("%q is not a topic name: a part between slashes is empty", topic)
		}
	}
	return topic, nil
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
