package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// Field 2 holds spaces and a ')' to make sure fields are counted from the last one.
	line := "1234 (hearth (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 8 0 100 1000 200 18446744073709551615\n"
	d, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if d != 4*time.Second {
		t.Fatalf("cpu %v, want 4s (400 ticks)", d)
	}
	if _, err := parseStatCPU([]byte("1 (x) S 1 2")); err == nil {
		t.Fatal("short line accepted")
	}
}

func TestParseStatus(t *testing.T) {
	b := []byte("Name:\thearth\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t8\n")
	m, err := parseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 1024*1024 || m.HWM != 2048*1024 {
		t.Fatalf("got %+v", m)
	}
	if _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Fatal("status without VmRSS accepted")
	}
}

func TestProcSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := procCPU(pid); err != nil {
		t.Fatal(err)
	}
	s := startRSSSampler(context.Background(), pid, time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	peak, err := s.Stop()
	if err != nil || peak == 0 {
		t.Fatalf("peak %d, err %v", peak, err)
	}
}
