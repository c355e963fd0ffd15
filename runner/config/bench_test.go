package config_test

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/runner/config"
)

// BenchmarkLoad100Pipelines lints one file holding 100 pipelines like the
// seed's user_activity pipeline (about 5,000 lines): everything `sluice lint`
// does but reading the file and printing.
func BenchmarkLoad100Pipelines(b *testing.B) {
	seed, err := os.ReadFile("../../pipelines/user_activity.hcl")
	if err != nil {
		b.Fatal(err)
	}
	// Keep the pipeline block only: top-level blocks may appear once.
	text := string(seed)
	text = text[:strings.Index(text, "\nmetrics {")+1]
	var src strings.Builder
	for i := 0; i < 100; i++ {
		src.WriteString(strings.Replace(text, `pipeline "user_activity"`, fmt.Sprintf(`pipeline "user_activity_%d"`, i), 1))
	}
	lines := strings.Count(src.String(), "\n")
	opts := &config.Options{Stat: func(string) (fs.FileInfo, error) { return nil, nil }}
	input := []config.Source{{Name: "many.hcl", Bytes: []byte(src.String())}}
	b.ReportMetric(float64(lines), "lines")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, diags := config.LoadSources(input, opts)
		if diags.HasErrors() || len(p.Pipelines) != 100 {
			b.Fatalf("%d pipelines: %s", len(p.Pipelines), diags.Error())
		}
	}
}
