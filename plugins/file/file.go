// Package file declares the file plugins: `source "file"`, which reads one
// NDJSON file, `sink "file" "NAME"`, which writes records to an NDJSON file
// (truncated at start), and `dead_letter "file"`, which appends the records
// that could not be processed to an NDJSON file.
package file

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

// resolvePath checks the written `path` argument and returns it made
// absolute against dir when it is relative. A `file://` prefix is accepted
// and removed; any other URL scheme is an error, as the file plugins only
// handle local files.
func resolvePath(args *schema.Values, dir string) (string, hcl.Diagnostics) {
	text := args.Text("path")
	p := text.Value
	if strings.TrimSpace(p) == "" {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Empty path",
			Detail:   fmt.Sprintf("The argument \"path\" of %s must name a file, e.g. \"events.ndjson\".", describe(args)),
			Subject:  args.Range("path").Ptr(),
		}}
	}
	if i := strings.Index(p, "://"); i > 0 {
		scheme := p[:i]
		if scheme != "file" {
			return "", hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unsupported path scheme",
				Detail:   fmt.Sprintf("%s reads and writes local files only, so %q cannot be used here. Write a local path such as \"/data/events.ndjson\" or \"file:///data/events.ndjson\".", describe(args), scheme+"://"),
				Subject:  text.RangeOf(0, i+3).Ptr(),
			}}
		}
		p = p[i+3:]
		if p == "" {
			return "", hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Empty path",
				Detail:   fmt.Sprintf("The argument \"path\" of %s must name a file after \"file://\", e.g. \"file:///data/events.ndjson\".", describe(args)),
				Subject:  args.Range("path").Ptr(),
			}}
		}
	}
	if strings.HasSuffix(p, "/") {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Path is a directory",
			Detail:   fmt.Sprintf("The argument \"path\" of %s names a directory (it ends with \"/\"); name a file inside it instead, e.g. %q.", describe(args), p+"events.ndjson"),
			Subject:  args.Range("path").Ptr(),
		}}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
	}
	return filepath.Clean(p), nil
}

// describe names a block for messages, such as `source "file"`.
func describe(args *schema.Values) string {
	s := args.Type
	if len(args.Labels) > 0 {
		s += fmt.Sprintf(" %q", args.Labels[0])
	}
	return s
}
