package plugins

// This file declares what sinks promise about the rows they get
// (docs/event-time.md, "Row kinds and sink contracts"). A window that
// re-emits results — updates from emit = "every D" or allowed lateness,
// deletes of merged sessions — makes a changelog: rows of kind Insert,
// Update and Delete (record.RowKind). A sink either applies it by key
// (upsert) or appends every row; the loader refuses a changelog into an
// appending sink unless the sink writes the row kinds out.

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"
)

// ChangeMode is how a sink applies rows that update or delete an earlier
// result.
type ChangeMode string

// The change modes.
const (
	// ChangesUpsert: an Update replaces the row with the same key and a
	// Delete removes it, so the destination ends with the final results.
	ChangesUpsert ChangeMode = "upsert"
	// ChangesAppend: every row is appended; updates and deletes cannot be
	// applied, so the loader refuses a changelog into such a sink.
	ChangesAppend ChangeMode = "append"
	// ChangesLog: every row is appended with its kind and revision as
	// columns (changelog = true), for a reader to fold.
	ChangesLog ChangeMode = "changelog"
)

// Delivery is what a sink guarantees about each row across failures.
type Delivery string

// The delivery guarantees.
const (
	ExactlyOnce Delivery = "exactly-once" // with checkpoints: each row appears once, across crashes
	Idempotent  Delivery = "idempotent"   // a row written again lands on itself (upsert by key)
	AtLeastOnce Delivery = "at-least-once"
)

// SinkContract is what a sink plugin promises, shown by `sluice plugins`
// and in docs/plugins.md. Every sink plugin declares one.
type SinkContract struct {
	// Changes is how the sink applies a changelog, and ChangesNote
	// qualifies it when the configuration decides ("upsert with mode =
	// \"upsert\", else append").
	Changes     ChangeMode
	ChangesNote string
	// Delivery is the sink's guarantee with checkpoints, and DeliveryNote
	// qualifies it ("at-least-once without a checkpoint block").
	Delivery     Delivery
	DeliveryNote string
}

// ChangeApplier is implemented by a sink component whose way of applying
// a changelog depends on its configuration (a PostgreSQL sink's mode, an
// append-only sink's changelog argument). A sink component without it
// applies its plugin's SinkContract.Changes. at positions the argument
// that decides, for diagnostics.
type ChangeApplier interface {
	AppliesChanges() (mode ChangeMode, at hcl.Range)
}

// ChangeEmitter is implemented by a stage component that may emit rows of
// kind Update or Delete (a window with allowed_lateness or emit = "every
// D"): EmitsChanges says why, for diagnostics, positioned at the argument
// that makes it; why is "" when the configuration emits inserts only.
type ChangeEmitter interface {
	EmitsChanges() (why string, at hcl.Range)
	// EmittedKinds lists the kinds of the rows the stage emits, in
	// record.RowKind order: [Insert] when it emits inserts only.
	EmittedKinds() []record.RowKind
}

// AppendMode is how a sink that appends applies a changelog: ChangesLog
// when its changelog argument (written at at) is set, else ChangesAppend.
func AppendMode(changelog bool, at hcl.Range) (ChangeMode, hcl.Range) {
	if changelog {
		return ChangesLog, at
	}
	return ChangesAppend, at
}
