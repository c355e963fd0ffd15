package config

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Options tune loading. The zero value uses the global plugin environment
// and the process environment.
type Options struct {
	Plugins *plugins.Environment                   // nil: plugins.Global()
	Getenv  func(name string) (string, bool)       // nil: os.LookupEnv
	Stat    func(path string) (fs.FileInfo, error) // nil: os.Stat; checks test files exist
	// Offline says that the source, sink and dead_letter blocks will be
	// replaced (sluice test): env() and file() calls inside them that
	// cannot be resolved are not errors. Such a block gets no Component
	// (it cannot run as written), but its output schema is still known
	// when its plugin can tell it, and everything else is still checked.
	Offline bool
}

func (o *Options) plugins() *plugins.Environment {
	if o == nil || o.Plugins == nil {
		return plugins.Global()
	}
	return o.Plugins
}

func (o *Options) getenv() func(string) (string, bool) {
	if o == nil || o.Getenv == nil {
		return os.LookupEnv
	}
	return o.Getenv
}

func (o *Options) offline() bool { return o != nil && o.Offline }

func (o *Options) stat() func(string) (fs.FileInfo, error) {
	if o == nil || o.Stat == nil {
		return os.Stat
	}
	return o.Stat
}

// Source is one pipeline file's name and contents.
type Source struct {
	Name  string
	Bytes []byte
}

// ExpandPaths turns files and folders into the list of pipeline files: a
// folder contributes every *.hcl file below it, sorted. A path that cannot be
// read yields an error diagnostic.
func ExpandPaths(paths []string) ([]string, hcl.Diagnostics) {
	var files []string
	var diags hcl.Diagnostics
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			diags = append(diags, fileError(p, "Cannot read file", fmt.Sprintf("%s: %v.", p, unwrapPathError(err))))
			continue
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				diags = append(diags, fileError(path, "Cannot read folder", fmt.Sprintf("%s: %v.", path, unwrapPathError(err))))
				return nil
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".hcl") {
				found = append(found, path)
			}
			return nil
		})
		if err == nil && len(found) == 0 {
			diags = append(diags, fileError(p, "No pipeline files", fmt.Sprintf("The folder %s holds no *.hcl file.", p)))
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, diags
}

// Load reads the files and folders in paths and loads them as one project.
func Load(paths []string, opts *Options) (*Project, hcl.Diagnostics) {
	files, diags := ExpandPaths(paths)
	var sources []Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			diags = append(diags, fileError(f, "Cannot read file", fmt.Sprintf("%s: %v.", f, unwrapPathError(err))))
			continue
		}
		sources = append(sources, Source{Name: f, Bytes: b})
	}
	p, ds := LoadSources(sources, opts)
	return p, append(diags, ds...)
}

// LoadSources loads pipeline files already in memory as one project. It
// never panics, whatever the bytes.
func LoadSources(sources []Source, opts *Options) (*Project, hcl.Diagnostics) {
	l := &loader{
		opts:    opts,
		env:     opts.plugins(),
		project: &Project{Files: map[string]*hcl.File{}},
		names:   map[string]*Pipeline{},
	}
	for _, src := range sources {
		l.project.Names = append(l.project.Names, src.Name)
		l.file(src)
	}
	l.resolveCheckpoints()
	for _, p := range l.project.Pipelines {
		l.add(TaskRefusals(p)...)
		l.add(ChangelogRefusals(p)...)
	}
	for _, d := range l.diags {
		explain(d)
	}
	l.checkTests()
	if len(l.project.Pipelines) == 0 && !l.diags.HasErrors() && len(sources) > 0 {
		l.diags = append(l.diags, fileError(sources[0].Name, "No pipeline", "The files declare no pipeline block; write at least one pipeline \"NAME\" { ... }."))
	}
	return l.project, l.diags
}

type loader struct {
	opts    *Options
	env     *plugins.Environment
	project *Project
	names   map[string]*Pipeline
	tests   []*hclsyntax.Block // test blocks, checked once every pipeline is known
	testCtx map[*hclsyntax.Block]*schema.Context
	diags   hcl.Diagnostics
}

func (l *loader) add(ds ...*hcl.Diagnostic) { l.diags = append(l.diags, ds...) }

func (l *loader) file(src Source) {
	if !checkText(l, src) {
		return
	}
	file, diags := hclsyntax.ParseConfig(src.Bytes, src.Name, hcl.InitialPos)
	l.add(dedupe(diags)...)
	if file == nil {
		return
	}
	l.project.Files[src.Name] = file
	if diags.HasErrors() {
		// Like a compiler, stop at syntax errors: the parser's recovery
		// drops parts of the file, and checking the rest would report
		// problems that are not there.
		return
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return
	}
	if len(body.Blocks) == 0 && len(body.Attributes) == 0 && !diags.HasErrors() {
		l.add(fileError(src.Name, "Empty file", "The file declares nothing; a pipeline file holds pipeline, checkpoint, metrics or test blocks."))
		return
	}
	dir := filepath.Dir(src.Name)
	ctx := &schema.Context{
		Eval:   evalContext(dir, l.opts.getenv(), false),
		Source: l.sourceOf,
	}
	replaced := ctx
	if l.opts.offline() {
		replaced = &schema.Context{Eval: evalContext(dir, l.opts.getenv(), true), Source: l.sourceOf}
	}
	for _, attr := range schema.SortedAttributes(body) {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsupported argument",
			Detail:   fmt.Sprintf("Arguments are not allowed at the top level of a file; %q belongs inside a block.", attr.Name),
			Subject:  attr.NameRange.Ptr(),
		})
	}
	for _, blk := range body.Blocks {
		switch blk.Type {
		case "pipeline":
			l.pipeline(ctx, replaced, dir, blk)
		case "checkpoint":
			l.checkpoint(ctx, dir, blk)
		case "metrics":
			l.metrics(ctx, blk)
		case "test":
			l.tests = append(l.tests, blk)
			if l.testCtx == nil {
				l.testCtx = map[*hclsyntax.Block]*schema.Context{}
			}
			l.testCtx[blk] = ctx
		default:
			detail := fmt.Sprintf("Blocks of type %q are not expected at the top level of a file.%s", blk.Type, schema.Hint(blk.Type, rootBlocks))
			if plugins.BlockKind(blk.Type) != "" {
				detail = fmt.Sprintf("A %s block belongs inside a pipeline \"NAME\" { ... } block.", blk.Type)
			}
			l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported block type", Detail: detail, Subject: blk.TypeRange.Ptr()})
		}
	}
}

// dedupe keeps the first of several diagnostics starting at the same place
// (the HCL parser may report one bad character twice).
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[hcl.Pos]bool{}
	out := diags[:0:0]
	for _, d := range diags {
		if d.Subject != nil {
			if seen[d.Subject.Start] {
				continue
			}
			seen[d.Subject.Start] = true
		}
		out = append(out, d)
	}
	return out
}

// checkText rejects input that is not UTF-8 text with one clear diagnostic
// instead of a flood of syntax errors.
func checkText(l *loader, src Source) bool {
	switch {
	case len(bytes.TrimSpace(src.Bytes)) == 0:
		l.add(fileError(src.Name, "Empty file", "The file is empty; a pipeline file holds pipeline, checkpoint, metrics or test blocks."))
		return false
	case bytes.IndexByte(src.Bytes, 0) >= 0:
		l.add(byteError(src, bytes.IndexByte(src.Bytes, 0), "Not a text file", "The file holds NUL bytes; it looks like a binary file, not HCL."))
		return false
	case !utf8.Valid(src.Bytes):
		l.add(byteError(src, firstInvalidUTF8(src.Bytes), "Invalid UTF-8", "The file is not valid UTF-8 text; save it as UTF-8."))
		return false
	}
	return true
}

// byteError is a diagnostic about the byte at offset of a file.
func byteError(src Source, offset int, summary, detail string) *hcl.Diagnostic {
	start := hcl.Pos{Line: 1, Column: 1, Byte: offset}
	start.Line += bytes.Count(src.Bytes[:offset], []byte("\n"))
	lineStart := bytes.LastIndexByte(src.Bytes[:offset], '\n') + 1
	start.Column += utf8.RuneCount(src.Bytes[lineStart:offset])
	end := start
	end.Byte++
	end.Column++
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &hcl.Range{Filename: src.Name, Start: start, End: end}}
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && w <= 1 {
			return i
		}
		i += w
	}
	return 0
}

// explain adds the fix to HCL's own generic messages.
func explain(d *hcl.Diagnostic) {
	switch d.Summary {
	case "Variables not allowed":
		d.Detail = "Pipeline files have no variables. Write expressions for filter, map and window as strings (where = \"action == 'click'\"), and read settings with env(\"NAME\") or file(\"path\")."
	case "Call to unknown function":
		d.Detail = strings.TrimSuffix(d.Detail, ".") + ". Pipeline files have only env(name[, default]) and file(path); functions such as lower() or upper() work inside expression strings."
	case "Invalid escape sequence":
		d.Detail += ` Inside quoted strings a backslash starts an escape (\n, \t, \", \\): write \\ for a backslash, or use / in paths.`
	case "Not enough function arguments", "Too many function arguments":
		d.Detail += " The functions are env(name[, default]) and file(path)."
	}
}

func (l *loader) sourceOf(name string) []byte {
	if f := l.project.Files[name]; f != nil {
		return f.Bytes
	}
	return nil
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)

// checkName reports a pipeline, sink or test name that is unfit for folder
// names, metric labels and message keys.
func (l *loader) checkName(what, name string, rng hcl.Range) bool {
	if namePattern.MatchString(name) {
		return true
	}
	l.add(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + what + " name",
		Detail:   fmt.Sprintf("%q is not a valid %s name: use letters, digits, _ and -, starting with a letter, digit or _.", name, what),
		Subject:  rng.Ptr(),
	})
	return false
}

// labels checks that blk has one label per name. A name may carry what to
// show in the hint after a colon ("kind:\"file\""); it defaults to the
// name in capitals.
func (l *loader) labels(blk *hclsyntax.Block, names ...string) bool {
	if len(blk.Labels) == len(names) {
		return true
	}
	header := blk.Type
	roles := make([]string, len(names))
	for i, n := range names {
		role, shown, ok := strings.Cut(n, ":")
		if !ok {
			shown = strings.ToUpper(role)
		}
		roles[i] = role
		header += fmt.Sprintf(" %q", shown)
	}
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Subject: blk.DefRange().Ptr()}
	if len(blk.Labels) < len(names) {
		d.Summary = fmt.Sprintf("Missing %s label", roles[len(blk.Labels)])
		d.Detail = fmt.Sprintf("Write the block as %s { ... }.", strings.ReplaceAll(header, `\"`, `"`))
	} else {
		d.Summary = "Extraneous label for " + blk.Type
		d.Detail = fmt.Sprintf("Write the block as %s { ... }.", strings.ReplaceAll(header, `\"`, `"`))
		if len(names) == 0 {
			d.Detail = fmt.Sprintf("A %s block takes no labels: write %s { ... }.", blk.Type, blk.Type)
		}
		d.Subject = blk.LabelRanges[len(names)].Ptr()
	}
	l.add(d)
	return false
}

func (l *loader) checkTests() {
	seen := map[string]hcl.Range{}
	for _, blk := range l.tests {
		if !l.labels(blk, "name") {
			continue
		}
		name := blk.Labels[0]
		if first, dup := seen[name]; dup {
			l.add(duplicate(fmt.Sprintf("test %q", name), blk.LabelRanges[0], first))
			continue
		}
		seen[name] = blk.DefRange()
		l.checkName("test", name, blk.LabelRanges[0])
		v, diags := schema.Decode(l.testCtx[blk], blk, testSpec)
		l.add(diags...)
		dir := filepath.Dir(blk.DefRange().Filename)
		t := &Test{Name: name, Pipeline: v.String("pipeline"), Ordered: v.Bool("ordered"), DefRange: blk.DefRange()}
		if v.Has("crash_after") {
			if n := v.Int("crash_after"); n >= 1 && n <= 1<<20 {
				t.CrashAfter = int(n)
			} else {
				l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid crash_after",
					Detail: "crash_after is the number of checkpoints after which the run crashes: a whole number from 1.", Subject: v.Range("crash_after").Ptr()})
			}
		}
		if v.Has("pipeline") && l.names[t.Pipeline] == nil {
			known := make([]string, 0, len(l.project.Pipelines))
			for _, p := range l.project.Pipelines {
				known = append(known, p.Name)
			}
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown pipeline",
				Detail:   fmt.Sprintf("No pipeline named %q is declared.%s", t.Pipeline, schema.Hint(t.Pipeline, known)),
				Subject:  v.Range("pipeline").Ptr(),
			})
		}
		t.Input = l.testFile(v, "input", dir)
		t.Expect = l.testFile(v, "expect", dir)
		l.project.Tests = append(l.project.Tests, t)
	}
}

func (l *loader) testFile(v *schema.Values, name, dir string) string {
	if !v.Has(name) {
		return ""
	}
	path := v.String(name)
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	info, err := l.opts.stat()(path)
	switch {
	case err != nil:
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Test file not found",
			Detail:   fmt.Sprintf("The %s file %s cannot be read: %v. Paths are relative to the folder of this file.", name, path, unwrapPathError(err)),
			Subject:  v.Range(name).Ptr(),
		})
	case info.IsDir():
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Test file is a folder", Detail: fmt.Sprintf("The %s path %s is a folder; name an NDJSON file.", name, path), Subject: v.Range(name).Ptr()})
	}
	return path
}

func duplicate(what string, subject, first hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + what,
		Detail:   fmt.Sprintf("Only one %s may be declared; the first one is at %s.", what, schema.At(first)),
		Subject:  subject.Ptr(),
	}
}

// fileError is a diagnostic about a whole file.
func fileError(name, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  &hcl.Range{Filename: name},
	}
}
