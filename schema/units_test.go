package schema

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"90s", 90 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"2h", 2 * time.Hour, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"1d", 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"0s", 0, ""},
		{"", 0, "must not be empty"},
		{"60", 0, "has no unit"},
		{"ten seconds", 0, "is not a duration"},
		{"5 minutes", 0, "is not a duration"},
		{"-5s", 0, "is negative"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDuration(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"64MiB", 64 << 20, false},
		{"1.5GB", 1_500_000_000, false},
		{"512KiB", 512 << 10, false},
		{"100", 100, false},
		{"100B", 100, false},
		{"10 MB", 10_000_000, false},
		{"lots", 0, true},
		{"MiB", 0, true},
		{"-1KB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"action", "user_id", "ts", "device"}
	tests := map[string]string{
		"acton":   "action",
		"actoin":  "action",
		"userid":  "user_id",
		"tss":     "ts",
		"devise":  "device",
		"payload": "",
		"x":       "",
		"ACTION":  "action",
		"user":    "user_id",
		"dev":     "device",
		"usr_id":  "user_id",
	}
	// An empty candidate (a pipeline named "") is never a match, nor a crash.
	if got := Suggest("000", []string{""}); got != "" {
		t.Errorf(`Suggest("000", [""]) = %q`, got)
	}
	if got := Suggest("cnt", []string{"count", "sum", "min", "max", "avg"}); got != "count" {
		t.Errorf("Suggest(cnt) = %q, want count", got)
	}
	for in, want := range map[string]string{"JSON": "json", "integer": "int", "lowercase": "lower", "watermark_delay": "watermark", "hopping": ""} {
		if got := Suggest(in, []string{"json", "int", "count", "lower", "watermark", "sliding", "session"}); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range tests {
		if got := Suggest(in, candidates); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
