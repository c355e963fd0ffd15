package objstore

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

// at is where the test locations start in their imaginary file: line 3,
// column 11, as in `  store = "…"`.
var at = hcl.Pos{Line: 3, Column: 11, Byte: 40}

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in     string
		want   Location
		diag   string // "LINE:COL-COL: Summary" of the only diagnostic
		detail string // in its detail
	}{
		{in: "file:///data/lake", want: Location{Scheme: "file", Dir: "/data/lake"}},
		{in: "file:///data/lake/", want: Location{Scheme: "file", Dir: "/data/lake"}},
		{in: "file:///", want: Location{Scheme: "file", Dir: "/"}},
		{in: "/var/lib/sluice/../checkpoints", want: Location{Scheme: "file", Dir: "/var/lib/checkpoints"}},
		{in: "out/lake", want: Location{Scheme: "file", Dir: "/pipelines/out/lake"}},
		{in: "file://out", want: Location{Scheme: "file", Dir: "/pipelines/out"}},
		{in: "../ckpt", want: Location{Scheme: "file", Dir: "/ckpt"}},
		{in: "s3://b", want: Location{Scheme: "s3", Bucket: "b"}},
		{in: "s3://b/", want: Location{Scheme: "s3", Bucket: "b"}},
		{in: "s3://analytics/lake/user_activity/?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true",
			want: Location{Scheme: "s3", Bucket: "analytics", Prefix: "lake/user_activity",
				Query: "region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true"}},
		{in: "s3://b/ckpt?response_checksum_validation=when_required&request_checksum_calculation=when_required",
			want: Location{Scheme: "s3", Bucket: "b", Prefix: "ckpt",
				Query: "response_checksum_validation=when_required&request_checksum_calculation=when_required"}},

		{in: "", diag: "3:11-11: Empty path", detail: "The checkpoint store needs a local folder or an S3 prefix"},
		{in: "  ", diag: "3:11-13: Empty path"},
		{in: "file://", diag: "3:11-18: Empty path", detail: `after "file://"`},
		{in: "ftp://backup.example.com/checkpoints", diag: "3:11-17: Unsupported path scheme",
			detail: `The checkpoint store supports local folders (file:// or a plain path) and S3 prefixes (s3://), not "ftp://". Write for example "file:///var/lib/sluice"`},
		{in: "s3a://b/ckpt", diag: "3:11-17: Unsupported path scheme", detail: `not "s3a://". Did you mean "s3"?`},
		{in: "://x", diag: "3:11-14: Unsupported path scheme"},
		{in: "s3://", diag: "3:11-16: Missing S3 bucket"},
		{in: "s3:///ckpt", diag: "3:11-21: Missing S3 bucket"},
		{in: "s3://b/a//c", diag: "3:17-22: Invalid S3 prefix", detail: `"a//c"`},
		{in: "s3://b/a/../c?region=x", diag: "3:17-24: Invalid S3 prefix"},
		{in: "s3://b/ckpt?region=%zz", diag: "3:23-33: Invalid S3 options"},
		{in: "s3://b/ckpt?regoin=eu-west-1", diag: "3:23-29: Unknown S3 option", detail: `"regoin" is not an option of s3:// paths. Did you mean "region"?`},
		{in: "s3://b/ckpt?region=x&response_checksum_validaton=when_required", diag: "3:32-59: Unknown S3 option",
			detail: `Did you mean "response_checksum_validation"?`},
		{in: "s3://b/ckpt?prefix=x", diag: "3:23-29: Unknown S3 option", detail: "Known options: accelerate, anonymous,"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			text := schema.VerbatimText("test.hcl", at, tt.in)
			got, diags := ParseLocation(text, "/pipelines", "the checkpoint store")
			if tt.diag == "" {
				if len(diags) > 0 || got != tt.want {
					t.Fatalf("ParseLocation(%q) = %+v, %v; want %+v", tt.in, got, diags, tt.want)
				}
				return
			}
			if len(diags) != 1 || got != (Location{}) {
				t.Fatalf("ParseLocation(%q) = %+v, %v; want one diagnostic and no location", tt.in, got, diags)
			}
			d := diags[0]
			s := d.Subject
			if where := fmt.Sprintf("%d:%d-%d: %s", s.Start.Line, s.Start.Column, s.End.Column, d.Summary); where != tt.diag || d.Severity != hcl.DiagError {
				t.Errorf("diagnostic %s, want %s", where, tt.diag)
			}
			if !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tt.detail)
			}
		})
	}
}

func TestParseLocationReportsEveryOption(t *testing.T) {
	text := schema.VerbatimText("test.hcl", at, "s3://b/a//x?regoin=a&endpont=b&region=c")
	_, diags := ParseLocation(text, "/", `sink "parquet"`)
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%d: %s", d.Subject.Start.Column, d.Summary))
	}
	want := []string{"17: Invalid S3 prefix", "23: Unknown S3 option", "32: Unknown S3 option"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("diagnostics = %q, want %q", got, want)
	}
}

func TestParseLocationNamesTheOwner(t *testing.T) {
	for _, in := range []string{"", "gs://b"} {
		_, diags := ParseLocation(schema.Text{Value: in}, "/", `sink "parquet"`)
		if len(diags) != 1 || !strings.HasPrefix(diags[0].Detail, `Sink "parquet" `) {
			t.Errorf("%q: %v, want a detail starting with the owner", in, diags)
		}
	}
}

func TestLocationString(t *testing.T) {
	for _, l := range []Location{
		{Scheme: "file", Dir: "/data/lake"},
		{Scheme: "s3", Bucket: "b"},
		{Scheme: "s3", Bucket: "b", Prefix: "p/q", Query: "region=x"},
	} {
		got, diags := ParseLocation(schema.Text{Value: l.String()}, "/", "the test")
		if diags.HasErrors() || got != l {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", l.String(), got, diags, l)
		}
	}
	l := Location{Scheme: "s3", Bucket: "b", Prefix: "p", Query: "region=x"}
	if l.Root() != "s3://b/p" || l.String() != "s3://b/p?region=x" || l.Local() {
		t.Errorf("Root, String, Local = %q, %q, %v", l.Root(), l.String(), l.Local())
	}
}

// FuzzParseLocation checks that any text either resolves to a location that
// renders back to itself or is reported, never panics.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"out", "/data/lake", "file:///data/lake", "file://", "s3://b", "s3://b/p/q?region=x&endpoint=http://h:1",
		"s3:///x", "s3://b/a//b", "s3://b/?%zz", "gs://b", "://", "s3://b/p?prefix=x", "s3://b?a=1&&b=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, diags := ParseLocation(schema.VerbatimText("f.hcl", hcl.InitialPos, s), "/base", "the fuzzer")
		if diags.HasErrors() {
			if loc != (Location{}) {
				t.Fatalf("%q: location %+v with errors", s, loc)
			}
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Start.Byte > d.Subject.End.Byte || d.Subject.End.Byte > len(s) {
					t.Fatalf("%q: diagnostic %q at %v", s, d.Summary, d.Subject)
				}
			}
			return
		}
		switch loc.Scheme {
		case "file":
			if !filepath.IsAbs(loc.Dir) {
				t.Fatalf("%q: relative folder %q", s, loc.Dir)
			}
		case "s3":
			if loc.Bucket == "" || strings.Contains(loc.Bucket, "/") {
				t.Fatalf("%q: bucket %q", s, loc.Bucket)
			}
			again, diags := ParseLocation(schema.Text{Value: loc.String()}, "/base", "the fuzzer")
			if diags.HasErrors() || again != loc {
				t.Fatalf("%q: renders as %q, which parses as %+v %v", s, loc.String(), again, diags)
			}
		default:
			t.Fatalf("%q: scheme %q", s, loc.Scheme)
		}
	})
}
