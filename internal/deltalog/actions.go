// Package deltalog reads and writes the transaction log of a Delta Lake
// table (Delta's PROTOCOL.md, reader version 1, writer version 2) in a
// local folder or an S3 prefix through internal/objstore:
//
//   - the actions of a commit (protocol, metaData, add, remove, txn,
//     commitInfo), one JSON object a line, in _delta_log/%020d.json;
//   - commits created with objstore's PutIfAbsent, so that of two writers
//     racing for a version exactly one wins and the other sees a conflict;
//   - log replay into a Snapshot (the live files, tombstones, the latest
//     txn version of every application, protocol and metadata), from the
//     newest checkpoint named by _delta_log/_last_checkpoint plus the JSON
//     commits after it;
//   - classic V1 checkpoints, _delta_log/%020d.checkpoint.parquet, in the
//     protocol's checkpoint schema, and _last_checkpoint.
//
// Tables using table features (reader version 3, writer version 7),
// deletion vectors or column mapping are refused: this package does not
// implement them.
package deltalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Protocol is the protocol action: the reader and writer versions a
// client needs.
type Protocol struct {
	MinReaderVersion int32    `json:"minReaderVersion" parquet:"minReaderVersion"`
	MinWriterVersion int32    `json:"minWriterVersion" parquet:"minWriterVersion"`
	ReaderFeatures   []string `json:"readerFeatures,omitempty" parquet:"readerFeatures,optional,list"`
	WriterFeatures   []string `json:"writerFeatures,omitempty" parquet:"writerFeatures,optional,list"`
}

// The protocol versions this package reads and writes.
const (
	ReaderVersion = 1
	WriterVersion = 2
)

// Check reports why this package cannot write a table of protocol p, or
// nil when it can.
func (p *Protocol) Check() error {
	if p.MinReaderVersion > ReaderVersion || p.MinWriterVersion > WriterVersion {
		return fmt.Errorf("the table needs Delta reader version %d and writer version %d (features %s), and sluice writes tables of reader version %d and writer version %d only",
			p.MinReaderVersion, p.MinWriterVersion, strings.Join(append(append([]string(nil), p.ReaderFeatures...), p.WriterFeatures...), ", "), ReaderVersion, WriterVersion)
	}
	return nil
}

// Format is the encoding of a table's data files.
type Format struct {
	Provider string            `json:"provider" parquet:"provider"`
	Options  map[string]string `json:"options" parquet:"options"`
}

// Metadata is the metaData action: the table's id, schema, partition
// columns and configuration (table properties).
type Metadata struct {
	ID               string            `json:"id" parquet:"id"`
	Name             string            `json:"name,omitempty" parquet:"name,optional"`
	Description      string            `json:"description,omitempty" parquet:"description,optional"`
	Format           Format            `json:"format" parquet:"format"`
	SchemaString     string            `json:"schemaString" parquet:"schemaString"`
	PartitionColumns []string          `json:"partitionColumns" parquet:"partitionColumns,list"`
	CreatedTime      int64             `json:"createdTime,omitempty" parquet:"createdTime,optional"`
	Configuration    map[string]string `json:"configuration" parquet:"configuration"`
}

// Add is the add action: a data file that is part of the table.
type Add struct {
	// Path is relative to the table's root, URI-encoded (EncodePath).
	Path             string            `json:"path" parquet:"path"`
	PartitionValues  map[string]string `json:"partitionValues" parquet:"partitionValues"`
	Size             int64             `json:"size" parquet:"size"`
	ModificationTime int64             `json:"modificationTime" parquet:"modificationTime"`
	DataChange       bool              `json:"dataChange" parquet:"dataChange"`
	// Stats is the Stats of the file as JSON.
	Stats string            `json:"stats,omitempty" parquet:"stats,optional"`
	Tags  map[string]string `json:"tags,omitempty" parquet:"tags,optional"`
}

// Remove is the remove action: a data file that left the table, kept as
// a tombstone for vacuum.
type Remove struct {
	Path                 string            `json:"path" parquet:"path"`
	DeletionTimestamp    int64             `json:"deletionTimestamp" parquet:"deletionTimestamp,optional"`
	DataChange           bool              `json:"dataChange" parquet:"dataChange"`
	ExtendedFileMetadata bool              `json:"extendedFileMetadata,omitempty" parquet:"extendedFileMetadata,optional"`
	PartitionValues      map[string]string `json:"partitionValues,omitempty" parquet:"partitionValues,optional"`
	Size                 int64             `json:"size,omitempty" parquet:"size,optional"`
}

// Txn is the txn action: the progress of an application writing the
// table, recorded in the same commit as its output.
type Txn struct {
	AppID       string `json:"appId" parquet:"appId"`
	Version     int64  `json:"version" parquet:"version"`
	LastUpdated int64  `json:"lastUpdated,omitempty" parquet:"lastUpdated,optional"`
}

// CommitInfo is the commitInfo action: provenance of a commit. Checkpoints
// do not keep it.
type CommitInfo struct {
	Timestamp           int64             `json:"timestamp"`
	Operation           string            `json:"operation"`
	OperationParameters map[string]string `json:"operationParameters,omitempty"`
	ReadVersion         *int64            `json:"readVersion,omitempty"`
	IsBlindAppend       *bool             `json:"isBlindAppend,omitempty"`
	OperationMetrics    map[string]string `json:"operationMetrics,omitempty"`
	EngineInfo          string            `json:"engineInfo,omitempty"`
}

// Action is one line of a commit: exactly one field is set. Unknown
// actions (cdc, domainMetadata…) decode with no field set and are ignored.
type Action struct {
	CommitInfo *CommitInfo `json:"commitInfo,omitempty"`
	Protocol   *Protocol   `json:"protocol,omitempty"`
	MetaData   *Metadata   `json:"metaData,omitempty"`
	Add        *Add        `json:"add,omitempty"`
	Remove     *Remove     `json:"remove,omitempty"`
	Txn        *Txn        `json:"txn,omitempty"`
}

// EncodeActions returns the commit file of actions: one JSON object a
// line, each ending with a newline.
func EncodeActions(actions []Action) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, a := range actions {
		if err := enc.Encode(a); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// DecodeActions parses a commit file. Blank lines are skipped.
func DecodeActions(data []byte) ([]Action, error) {
	var out []Action
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var a Action
		if err := json.Unmarshal(line, &a); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, a)
	}
	return out, nil
}
