package bench

import (
	"context"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the pacer sleeps or the test
// says so.
type fakeClock struct {
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

func TestPacerKeepsSchedule(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name string
		rate float64
		// work is how long "sending" message i takes.
		work func(i int) time.Duration
		// wantSleeps is the number of waits that should have slept.
		wantSleeps int
	}{
		{"idle sender sleeps before every message but the first", 200, func(int) time.Duration { return 0 }, 99},
		{"fractional rate", 3, func(int) time.Duration { return time.Millisecond }, 99},
		{"stall then catch up", 100, func(i int) time.Duration {
			if i == 10 {
				return 500 * time.Millisecond // 50 messages overdue afterwards
			}
			return 0
		}, 99 - 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{t: start}
			p := &pacer{start: start, rate: tt.rate, now: c.now, sleep: c.sleep}
			for i := 0; i < 100; i++ {
				due, err := p.wait(context.Background(), i)
				if err != nil {
					t.Fatal(err)
				}
				want := start.Add(time.Duration(float64(i) / tt.rate * float64(time.Second)))
				if d := due.Sub(want); d > time.Microsecond || d < -time.Microsecond {
					t.Fatalf("message %d due %v, want %v", i, due, want)
				}
				if c.t.Before(due) {
					t.Fatalf("message %d released at %v before due %v", i, c.t, due)
				}
				c.t = c.t.Add(tt.work(i))
			}
			if len(c.sleeps) != tt.wantSleeps {
				t.Fatalf("slept %d times, want %d", len(c.sleeps), tt.wantSleeps)
			}
			// The last message is due at 99/rate whatever happened before.
			if got, want := p.due(99).Sub(start), time.Duration(99/tt.rate*float64(time.Second)); got-want > time.Microsecond || want-got > time.Microsecond {
				t.Fatalf("schedule drifted: last due after %v, want %v", got, want)
			}
		})
	}
}

func TestPacerRealTimerHonoursContext(t *testing.T) {
	p := newPacer(time.Now(), 0.001) // message 1 is due in 1000 s
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.wait(ctx, 0); err != nil {
		t.Fatalf("message 0: %v", err)
	}
	if _, err := p.wait(ctx, 1); err == nil {
		t.Fatalf("wait returned before its due time without an error")
	}
}

func TestPacerRealTimer(t *testing.T) {
	start := time.Now()
	p := newPacer(start, 1000)
	for i := 0; i < 50; i++ {
		if _, err := p.wait(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 49*time.Millisecond {
		t.Fatalf("50 messages at 1000/s took %v, want at least 49ms", el)
	}
}
