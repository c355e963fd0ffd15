package pipetest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sluice-io/sluice/runner/config"
)

// Created is the set of expect files that CreateMissingExpect created and
// that no test has written yet. A nil *Created is an empty set.
type Created struct {
	paths map[string]bool
}

// CreateMissingExpect creates, empty, the expect file of each test that
// names one which does not exist, in a folder that does: the loader then
// accepts the test, and Update fills the file. Expect files in missing
// folders are left alone (the loader reports them). The caller removes the
// created files that no test filled with RemoveUnwritten.
func CreateMissingExpect(tests []*config.Test) (*Created, error) {
	c := &Created{paths: map[string]bool{}}
	for _, t := range tests {
		if t.Expect == "" || c.paths[t.Expect] {
			continue
		}
		if dir, err := os.Stat(filepath.Dir(t.Expect)); err != nil || !dir.IsDir() {
			continue
		}
		f, err := os.OpenFile(t.Expect, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			c.RemoveUnwritten()
			return nil, fmt.Errorf("creating the expect file of test %q: %w", t.Name, err)
		}
		c.paths[t.Expect] = true
		if err := f.Close(); err != nil {
			c.RemoveUnwritten()
			return nil, fmt.Errorf("creating the expect file of test %q: %w", t.Name, err)
		}
	}
	return c, nil
}

// Written records that the expect file at path now holds a test's output,
// so that RemoveUnwritten keeps it.
func (c *Created) Written(path string) {
	if c != nil {
		delete(c.paths, path)
	}
}

// RemoveUnwritten removes the created files that no test wrote (their test
// failed, or was not selected), leaving the folders as they were.
func (c *Created) RemoveUnwritten() {
	if c == nil {
		return
	}
	for path := range c.paths {
		_ = os.Remove(path)
		delete(c.paths, path)
	}
}
