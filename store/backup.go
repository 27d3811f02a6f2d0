package store

import (
	"fmt"
	"io"
)

// Backup writes a consistent snapshot of the whole database to w while
// the node keeps serving (Badger's backup stream of the newest version of
// every live key).
func (db *DB) Backup(w io.Writer) error {
	if _, err := db.bdb.Backup(w, 0); err != nil {
		return fmt.Errorf("backup database: %w", err)
	}
	return nil
}

// Load restores a Backup stream into this (empty) database and syncs it.
func (db *DB) Load(r io.Reader) error {
	if err := db.bdb.Load(r, 256); err != nil {
		return fmt.Errorf("restore database: %w", err)
	}
	if err := db.bdb.Sync(); err != nil {
		return fmt.Errorf("sync restored database: %w", err)
	}
	return nil
}
