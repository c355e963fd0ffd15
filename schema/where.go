package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// At renders where a range starts as "file:line:col", the form diagnostics
// use, for messages such as "the first one is at pipelines/a.hcl:12:3".
func At(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
