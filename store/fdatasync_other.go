//go:build !linux

package store

import "os"

// fdatasync flushes f to disk; outside Linux that is a full fsync (on
// macOS with F_FULLFSYNC).
func fdatasync(f *os.File) error { return f.Sync() }
