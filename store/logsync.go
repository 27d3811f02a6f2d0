package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// logSyncer makes Badger's logs durable without Badger's DB.Sync.
//
// DB.Sync holds Badger's memtable lock (a read lock) for the whole msync,
// and Badger's write goroutine takes that lock exclusively before every
// write batch, so each sync stalled every commit behind it: commits and
// fsyncs took turns instead of overlapping, which capped group commit at
// about half the disk's sync rate. logSyncer flushes the same files with
// fdatasync on descriptors of its own, which shares no lock with Badger.
//
// What it relies on (checked by TestLogSyncerFindsLogs): Badger writes
// the active memtable's write-ahead log to <dir>/NNNNN.mem and values to
// <dir>/NNNNNN.vlog, both through shared memory maps, numbering new files
// above the newest. A shared mapping's dirty pages belong to the file,
// so fdatasync on any descriptor flushes them; msync(MS_SYNC), which
// DB.Sync uses, is the same operation restricted to the mapped range.
//
// Once Badger starts file N+1 it never writes file N again, so a file
// gets one last sync when a newer one appears and is then dropped.
// That also covers the writes of a memtable that rotated between two
// syncs, which DB.Sync (active memtable only) leaves to the flush.
type logSyncer struct {
	dir  string
	mu   sync.Mutex
	logs [2]*logFile // the newest .mem and .vlog file
	// listed is the directory's modification time when it was last
	// listed: while it stays the same no file was added or removed, and
	// a sync need not list it again (one stat instead of a listing of
	// every file, on every sync).
	listed time.Time
}

// logFile is the newest file of one kind of log.
type logFile struct {
	dir    string
	format string // file name for a number, e.g. "%05d.mem"
	ext    string
	num    int      // of the newest file seen; -1 before
	f      *os.File // the newest file; nil if it is gone or none exists
}

// errNoLog means there is no memtable log file to sync.
var errNoLog = errors.New("no memtable log file found")

func newLogSyncer(dir string) (*logSyncer, error) {
	s := &logSyncer{dir: dir, logs: [2]*logFile{
		{dir: dir, format: "%05d.mem", ext: ".mem", num: -1},
		{dir: dir, format: "%06d.vlog", ext: ".vlog", num: -1},
	}}
	if _, err := s.advance(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (l *logFile) path(n int) string { return filepath.Join(l.dir, fmt.Sprintf(l.format, n)) }

// number parses a file name of this log ("00042.mem") into its number.
// It runs for every file of the directory on every sync, so it is
// written out rather than a fmt.Sscanf of the format (which cost more
// than the rest of a sync's bookkeeping).
func (l *logFile) number(name string) (int, bool) {
	digits, ok := strings.CutSuffix(name, l.ext)
	if !ok || len(digits) == 0 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' || n > (1<<31)/10 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// advance moves each log to its newest file, giving every file in between
// its last sync, and returns the files to sync now.
//
// It lists the directory each time rather than probing for file N+1:
// files are removed once flushed into tables, and a reader can keep an
// old memtable (and its file) alive while newer ones come and go.
func (s *logSyncer) advance() ([2]*os.File, error) {
	var files [2]*os.File
	fi, err := os.Stat(s.dir)
	if err != nil {
		return files, fmt.Errorf("stat database directory: %w", err)
	}
	// File times are coarse (a kernel tick): two changes in one tick
	// share a time, so the cache is trusted only once the listed time is
	// well in the past, when any later change must carry a newer one.
	if mt := fi.ModTime(); !s.listed.IsZero() && mt.Equal(s.listed) && time.Since(mt) > time.Second {
		for i, l := range s.logs {
			files[i] = l.f
		}
		return files, nil
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return files, fmt.Errorf("list database files: %w", err)
	}
	for i, l := range s.logs {
		var nums []int
		for _, e := range ents {
			if n, ok := l.number(e.Name()); ok && n > l.num {
				nums = append(nums, n)
			}
		}
		if err := l.moveTo(nums); err != nil {
			return files, err
		}
		files[i] = l.f
	}
	// Listed after the stat: a file created meanwhile moves the time on,
	// and the next sync lists again.
	s.listed = fi.ModTime()
	return files, nil
}

// moveTo makes the newest of nums (numbers above l.num) l's file, after
// a last sync of the files it leaves behind, which Badger no longer
// writes.
func (l *logFile) moveTo(nums []int) error {
	if len(nums) == 0 {
		return nil
	}
	slices.Sort(nums)
	if l.f != nil {
		if err := fdatasync(l.f); err != nil {
			return fmt.Errorf("sync %s: %w", l.f.Name(), err)
		}
		l.f.Close()
		l.f = nil
	}
	for _, n := range nums {
		f, err := os.Open(l.path(n))
		if errors.Is(err, fs.ErrNotExist) {
			continue // flushed into a table and removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", l.ext, err)
		}
		if n < nums[len(nums)-1] {
			err := fdatasync(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("sync %s: %w", f.Name(), err)
			}
			continue
		}
		l.f = f
	}
	l.num = nums[len(nums)-1]
	return nil
}

// sync makes every write that Badger applied before the call durable. It
// is safe for concurrent use.
func (s *logSyncer) sync() error {
	s.mu.Lock()
	files, err := s.advance()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if files[0] == nil {
		// Not the layout described above: the caller falls back to
		// DB.Sync. TestLogSyncerFindsLogs keeps this from happening
		// unnoticed.
		return errNoLog
	}
	// The two files are synced at once: every acknowledgement waits for
	// the slower one, not for both in turn.
	var errs [2]error
	var wg sync.WaitGroup
	for i, f := range files {
		if f == nil {
			continue
		}
		wg.Go(func() {
			// A concurrent advance may close f meanwhile; os.File keeps
			// the descriptor open until this call returns, and that
			// advance synced f before closing it.
			if err := fdatasync(f); err != nil && !errors.Is(err, os.ErrClosed) {
				errs[i] = fmt.Errorf("sync %s: %w", f.Name(), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs[0], errs[1])
}

func (s *logSyncer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.logs {
		if l.f != nil {
			l.f.Close()
			l.f = nil
		}
	}
}
