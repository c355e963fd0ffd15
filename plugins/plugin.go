// Package plugins is sluice's plugin API and registry.
//
// A plugin is a value: where it is written in a pipeline (Kind, Block and
// Name), its declared arguments (a schema.Spec) and a Build function that
// turns decoded arguments into a Component. Plugin packages under plugins/
// register themselves in init with Register; plugins/all imports every one of
// them. Tests that must not depend on the global set build their own
// Environment.
package plugins

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

// Kind is the role a plugin plays in a pipeline.
type Kind string

// The plugin kinds, in pipeline order.
const (
	KindSource     Kind = "source"      // yields records (or raw bytes) from outside
	KindParse      Kind = "parse"       // turns raw bytes into typed records
	KindStage      Kind = "stage"       // filter, map, window and repartition stages
	KindSink       Kind = "sink"        // receives the output of the last stage
	KindDeadLetter Kind = "dead_letter" // receives records that could not be processed
)

// Kinds lists every kind in pipeline order.
var Kinds = []Kind{KindSource, KindParse, KindStage, KindSink, KindDeadLetter}

// Plugin declares one plugin. It is immutable once registered.
type Plugin struct {
	Kind Kind
	// Block is the HCL block type the plugin is written as: "source",
	// "parse", "filter", "map", "window", "repartition", "sink" or
	// "dead_letter".
	Block string
	// Name is the block's first label (`source "file"` has Name "file").
	// For stages written without a label (filter, map) it equals Block.
	Name string
	// Summary is one sentence shown in listings.
	Summary string
	// Description is optional longer documentation in Markdown.
	Description string
	// Spec declares the arguments and nested blocks.
	Spec *schema.Spec
	// Examples are whole blocks of HCL, each of which must lint clean.
	Examples []Example
	// Build checks the decoded arguments against the record schema that
	// reaches the block and returns the configured component.
	Build BuildFunc
	// Contract is what a sink promises about the rows it gets: how it
	// applies updates and deletes, and its delivery guarantee. Every sink
	// declares one; other kinds leave it nil.
	Contract *SinkContract
}

// Example is a documented, tested example of a plugin's block.
type Example struct {
	Title  string
	Config string // HCL source of one block, e.g. `source "file" { path = "in.ndjson" }`
}

// BuildFunc turns a block's decoded arguments into a component. It reports
// every problem as a diagnostic with a range inside the block. With errors it
// returns nil, unless the output schema is still known (a filter passes its
// input through whatever its condition): then it returns the component
// anyway, so that the stages after it are still checked; such a component is
// never run.
type BuildFunc func(b *Build) (Component, hcl.Diagnostics)

// Build is what a BuildFunc receives.
type Build struct {
	Pipeline string         // the pipeline's name
	Args     *schema.Values // the block's decoded arguments
	Input    record.Schema  // the records reaching the block (zero for sources)
	Dir      string         // the folder of the file the block is in, for relative paths
}

// Component is a configured plugin. Output describes the records it hands to
// the next stage: sources and parsers declare it, filters pass their input
// through, maps and windows reshape it. Sinks and dead letters return their
// input. Runtime abilities are further interfaces a Component may implement.
type Component interface {
	Output() record.Schema
}

// Labeled reports whether blocks of the plugin carry a type label, that is
// every block but filter and map.
func (p *Plugin) Labeled() bool { return p.Name != p.Block }

// Header renders how the block is opened, e.g. `sink "file" "NAME"`.
func (p *Plugin) Header() string {
	switch {
	case !p.Labeled():
		return p.Block
	case p.Kind == KindSink:
		return fmt.Sprintf("%s %q %q", p.Block, p.Name, "NAME")
	}
	return fmt.Sprintf("%s %q", p.Block, p.Name)
}

// validate checks a plugin declaration before it is registered.
func (p *Plugin) validate() error {
	switch {
	case p.Name == "" || p.Block == "":
		return fmt.Errorf("plugin %q: block and name are required", p.Name)
	case BlockKind(p.Block) != p.Kind:
		return fmt.Errorf("plugin %q: block %q is not of kind %s", p.Name, p.Block, p.Kind)
	case p.Summary == "":
		return fmt.Errorf("plugin %s: summary is required", p.Header())
	case p.Spec == nil:
		return fmt.Errorf("plugin %s: spec is required", p.Header())
	case p.Build == nil:
		return fmt.Errorf("plugin %s: build is required", p.Header())
	case p.Kind == KindSink && (p.Contract == nil || p.Contract.Changes == "" || p.Contract.Delivery == ""):
		return fmt.Errorf("plugin %s: a sink declares its contract (changes and delivery)", p.Header())
	case p.Kind != KindSink && p.Contract != nil:
		return fmt.Errorf("plugin %s: only sinks declare a contract", p.Header())
	}
	if err := p.Spec.Validate(); err != nil {
		return fmt.Errorf("plugin %s: %w", p.Header(), err)
	}
	return nil
}

// BlockKind returns the kind of plugin a pipeline block type holds, or "" when
// the block type is not a plugin block.
func BlockKind(block string) Kind {
	switch block {
	case "source":
		return KindSource
	case "parse":
		return KindParse
	case "filter", "map", "window", "repartition":
		return KindStage
	case "sink":
		return KindSink
	case "dead_letter":
		return KindDeadLetter
	}
	return ""
}

// BlockTypes lists the block types a pipeline body may hold.
var BlockTypes = []string{"source", "parse", "filter", "map", "window", "repartition", "sink", "dead_letter"}

// Environment is a set of registered plugins. It is safe for concurrent use.
type Environment struct {
	mu      sync.RWMutex
	plugins map[string]*Plugin // by block + "\x00" + name
}

// NewEnvironment returns an empty Environment.
func NewEnvironment() *Environment {
	return &Environment{plugins: map[string]*Plugin{}}
}

func key(block, name string) string { return block + "\x00" + name }

// Register adds a plugin after validating its declaration.
func (e *Environment) Register(p *Plugin) error {
	if err := p.validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := key(p.Block, p.Name)
	if _, dup := e.plugins[k]; dup {
		return fmt.Errorf("plugin %s registered twice", p.Header())
	}
	e.plugins[k] = p
	return nil
}

// Lookup returns the plugin written as `block "name"`.
func (e *Environment) Lookup(block, name string) (*Plugin, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	p, ok := e.plugins[key(block, name)]
	return p, ok
}

// Plugins returns every plugin, ordered by kind, block and name.
func (e *Environment) Plugins() []*Plugin {
	e.mu.RLock()
	out := make([]*Plugin, 0, len(e.plugins))
	for _, p := range e.plugins {
		out = append(out, p)
	}
	e.mu.RUnlock()
	rank := map[Kind]int{}
	for i, k := range Kinds {
		rank[k] = i
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.Kind] != rank[b.Kind] {
			return rank[a.Kind] < rank[b.Kind]
		}
		if a.Block != b.Block {
			return a.Block < b.Block
		}
		return a.Name < b.Name
	})
	return out
}

// Names returns the names of the plugins written as the given block type,
// sorted, for messages such as `known: console, file`.
func (e *Environment) Names(block string) []string {
	var out []string
	for _, p := range e.Plugins() {
		if p.Block == block {
			out = append(out, p.Name)
		}
	}
	return out
}

// Find returns the plugins whose name (or "block name") matches name.
func (e *Environment) Find(name string) []*Plugin {
	var out []*Plugin
	for _, p := range e.Plugins() {
		if p.Name == name || p.Block+" "+p.Name == name || strings.EqualFold(p.Header(), name) {
			out = append(out, p)
		}
	}
	return out
}

// Clone returns a copy that can be changed without touching e.
func (e *Environment) Clone() *Environment {
	c := NewEnvironment()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for k, p := range e.plugins {
		c.plugins[k] = p
	}
	return c
}

var global = NewEnvironment()

// Register adds a plugin to the global environment. Plugin packages call it
// from init; an invalid declaration is a programming error and panics.
func Register(p *Plugin) {
	if err := global.Register(p); err != nil {
		panic(err)
	}
}

// Global returns the environment plugin packages register into. Import
// plugins/all to fill it with every plugin.
func Global() *Environment { return global }

// ContractText renders a sink's contract in one line per promise, for
// listings and docs: "Changes: upsert — …" and "Delivery: exactly-once —
// …". It returns nil for other plugins.
func (p *Plugin) ContractText() []string {
	c := p.Contract
	if c == nil {
		return nil
	}
	line := func(what, v, note string) string {
		if note == "" {
			return what + ": " + v
		}
		return what + ": " + v + " — " + note
	}
	return []string{line("Changes", string(c.Changes), c.ChangesNote), line("Delivery", string(c.Delivery), c.DeliveryNote)}
}
