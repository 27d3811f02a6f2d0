package store

import "testing"

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
