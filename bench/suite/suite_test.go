package suite

import (
	"runtime"
	"testing"
)

func TestSweepMessages(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		want int
	}{
		{50, 500}, {100, 1000}, {200, 2000}, {400, 2000}, {3200, 16000}, {25600, 64000},
	} {
		if got := sweepMessages(tt.rate, 2000); got != tt.want {
			t.Errorf("sweepMessages(%g) = %d, want %d", tt.rate, got, tt.want)
		}
	}
}

func TestMeasureFsync(t *testing.T) {
	f, err := MeasureFsync(t.TempDir(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if f.Count != 10 || f.P50Ms <= 0 || f.P50Ms > f.P99Ms || f.P99Ms > f.MaxMs {
		t.Fatalf("implausible: %+v", f)
	}
	if _, err := MeasureFsync(t.TempDir(), 0); err == nil {
		t.Fatal("0 rounds: no error")
	}
}

func TestDescribe(t *testing.T) {
	m := Describe("")
	if m.Cores < 1 || m.Go == "" || m.OS == "" {
		t.Fatalf("incomplete: %+v", m)
	}
	if runtime.GOOS == "linux" && (m.CPU == "" || m.RAM <= 0 || m.Kernel == "") {
		t.Errorf("linux: missing /proc fields: %+v", m)
	}
}
