package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLogFileNumber(t *testing.T) {
	mem := &logFile{format: "%05d.mem", ext: ".mem"}
	vlog := &logFile{format: "%06d.vlog", ext: ".vlog"}
	for _, c := range []struct {
		l    *logFile
		name string
		n    int
		ok   bool
	}{
		{mem, "00042.mem", 42, true},
		{mem, "123456.mem", 123456, true},
		{mem, "00042.vlog", 0, false},
		{mem, ".mem", 0, false},
		{mem, "0x042.mem", 0, false},
		{mem, "MANIFEST", 0, false},
		{vlog, "000007.vlog", 7, true},
		{vlog, "99999999999999999999.vlog", 0, false},
	} {
		if n, ok := c.l.number(c.name); n != c.n || ok != c.ok {
			t.Errorf("number(%q) = %d, %v; want %d, %v", c.name, n, ok, c.n, c.ok)
		}
	}
}

// TestLogSyncerNoticesNewLogAfterQuietSpell: once the directory has been
// quiet long enough, a sync does not list it; a log Badger starts later
// changes the directory's time, and the next sync moves to it.
func TestLogSyncerNoticesNewLogAfterQuietSpell(t *testing.T) {
	dir := t.TempDir()
	touch := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	touch("00001.mem")
	touch("000001.vlog")
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	s, err := newLogSyncer(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := s.sync(); err != nil || s.logs[0].num != 1 {
		t.Fatalf("first sync: %v, memtable log %d", err, s.logs[0].num)
	}
	touch("00002.mem")
	if err := s.sync(); err != nil {
		t.Fatal(err)
	}
	if s.logs[0].num != 2 || s.logs[0].f == nil || !strings.HasSuffix(s.logs[0].f.Name(), "00002.mem") {
		t.Fatalf("after a new memtable log the syncer holds %d (%v)", s.logs[0].num, s.logs[0].f)
	}
}
