// Package pipelines holds the example pipelines users can copy. They are
// embedded so that `sluice demo` can run one from any directory.
package pipelines

import "embed"

// Files are the example pipeline files (*.hcl).
//
//go:embed *.hcl
var Files embed.FS
