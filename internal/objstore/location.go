package objstore

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

// Location is a local folder or a prefix in an S3 bucket. Object keys
// below it use "/" whatever the platform. The zero Location is invalid.
type Location struct {
	// Scheme is "file" or "s3".
	Scheme string
	// Dir is the absolute local folder of a "file" location.
	Dir string
	// Bucket is the S3 bucket of an "s3" location.
	Bucket string
	// Prefix is the key prefix inside the bucket, without leading or
	// trailing "/"; empty for the bucket's root.
	Prefix string
	// Query holds the S3 options as written (region, endpoint,
	// use_path_style…), encoded, without the leading "?".
	Query string
}

// String renders the location as a URL, file:///dir or
// s3://bucket/prefix?query, which ParseLocation reads back as the same
// Location.
func (l Location) String() string {
	if l.Scheme == "file" {
		return "file://" + filepath.ToSlash(l.Dir)
	}
	s := "s3://" + l.Bucket
	if l.Prefix != "" {
		s += "/" + l.Prefix
	}
	if l.Query != "" {
		s += "?" + l.Query
	}
	return s
}

// Root renders the location without its S3 options: the folder or prefix
// that object keys are relative to, which stays the same when only the
// region, endpoint or credentials options change.
func (l Location) Root() string {
	l.Query = ""
	return l.String()
}

// Local reports whether the location is a local folder.
func (l Location) Local() bool { return l.Scheme == "file" }

// s3Params lists the query parameters an s3:// location accepts: those of
// gocloud.dev's s3blob and AWS configuration URL openers (v0.47.0).
//
// response_checksum_validation=when_required matters with S3 servers that
// keep a stale checksum when a key is overwritten, such as gofakes3
// v1.2.0 (see the package documentation): the AWS SDK otherwise validates
// the CRC32 of every GET and fails with "checksum did not match". Real S3
// and MinIO need no such option. request_checksum_calculation=when_required is for
// S3-compatible servers that reject the SDK's x-amz-checksum-* headers.
var s3Params = []string{
	"region", "endpoint", "use_path_style", "s3ForcePathStyle", "disable_https",
	"hostname_immutable", "profile", "role", "anonymous", "dualstack", "fips",
	"accelerate", "ssetype", "kmskeyid", "rate_limiter_capacity",
	"request_checksum_calculation", "response_checksum_validation",
}

// ParseLocation checks text, a location written in a pipeline file, and
// resolves it: "file:///abs/folder", a plain path (relative paths are
// relative to dir, the folder of the pipeline file), or
// "s3://bucket/prefix?option=value&…" with the options of s3Params. what
// names the owner of the location in messages, e.g. `sink "parquet"` or
// "the checkpoint store". Problems are error diagnostics positioned on the
// offending part of text; the Location is then the zero value.
func ParseLocation(text schema.Text, dir, what string) (Location, hcl.Diagnostics) {
	p := text.Value
	bad := func(summary, detail string, from, to int) (Location, hcl.Diagnostics) {
		r := text.RangeOf(from, to)
		return Location{}, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}}
	}
	if strings.TrimSpace(p) == "" {
		return bad("Empty path", fmt.Sprintf("%s needs a local folder or an S3 prefix, e.g. %s.", capitalize(what), examples), 0, len(p))
	}
	i := strings.Index(p, "://")
	if i < 0 {
		return localLocation(p, dir), nil
	}
	switch scheme := p[:i]; scheme {
	case "file":
		rest := p[i+3:]
		if strings.Trim(rest, "/") == "" && !strings.HasPrefix(rest, "/") {
			return bad("Empty path", `Name a folder after "file://", e.g. "file:///var/lib/sluice".`, 0, len(p))
		}
		return localLocation(rest, dir), nil
	case "s3":
		return parseS3(text, i+3)
	default:
		hint := schema.DidYouMean(scheme, []string{"file", "s3"})
		if hint == "" {
			hint = " Write for example " + examples + "."
		}
		return bad("Unsupported path scheme",
			fmt.Sprintf("%s supports local folders (file:// or a plain path) and S3 prefixes (s3://), not %q.%s", capitalize(what), scheme+"://", hint),
			0, i+3)
	}
}

// examples ends the details that ask for a location.
const examples = `"file:///var/lib/sluice" or "s3://bucket/prefix?region=eu-west-1"`

// capitalize upper-cases the first letter of s, to start a sentence.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// localLocation makes p, a local folder, absolute against dir.
func localLocation(p, dir string) Location {
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
	}
	return Location{Scheme: "file", Dir: filepath.Clean(p)}
}

// parseS3 parses text.Value, an s3:// URL whose bucket starts at byte start.
func parseS3(text schema.Text, start int) (Location, hcl.Diagnostics) {
	p := text.Value
	var diags hcl.Diagnostics
	add := func(summary, detail string, from, to int) {
		r := text.RangeOf(from, to)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r})
	}
	rest, query, _ := strings.Cut(p[start:], "?")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		add("Missing S3 bucket", `Write the bucket after "s3://", e.g. "s3://analytics/user_activity?region=eu-west-1".`, 0, len(p))
		return Location{}, diags
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" && slices.ContainsFunc(strings.Split(prefix, "/"), func(seg string) bool { return seg == "" || seg == "." || seg == ".." }) {
		add("Invalid S3 prefix", fmt.Sprintf("The prefix %q has an empty, \".\" or \"..\" segment; write each folder once, e.g. \"s3://%s/events/user_activity\".", prefix, bucket), start+len(bucket), start+len(rest))
	}
	qstart := start + len(rest) + 1
	if _, err := url.ParseQuery(query); err != nil {
		add("Invalid S3 options", fmt.Sprintf("The options after \"?\" must be written as key=value pairs joined by \"&\": %v.", err), qstart, len(p))
		return Location{}, diags
	}
	off := qstart
	for _, pair := range strings.Split(query, "&") {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil && key != "" && !slices.Contains(s3Params, k) {
			known := slices.Sorted(slices.Values(s3Params))
			add("Unknown S3 option",
				fmt.Sprintf("%q is not an option of s3:// paths.%s Known options: %s.", k, schema.DidYouMean(k, s3Params), strings.Join(known, ", ")),
				off, off+len(key))
		}
		off += len(pair) + 1
	}
	if diags.HasErrors() {
		return Location{}, diags
	}
	return Location{Scheme: "s3", Bucket: bucket, Prefix: prefix, Query: query}, nil
}
