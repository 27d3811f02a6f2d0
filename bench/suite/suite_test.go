package suite

import "testing"

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
