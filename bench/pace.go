package bench

import (
	"context"
	"time"
)

// pacer releases message i at start + i/rate. The schedule is fixed when
// the pacer starts: a sender that falls behind (a slow write, a busy CPU)
// sends the overdue messages at once until it has caught up, instead of
// pushing every later message back as a sleep-per-message loop would. The
// payload carries the due time, not the moment of the write, so time the
// sender spends stalled counts in the measured latency (no coordinated
// omission).
type pacer struct {
	start time.Time
	rate  float64 // messages per second, > 0

	// now and sleep are time.Now and a timer wait; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func newPacer(start time.Time, rate float64) *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{
		start: start,
		rate:  rate,
		now:   time.Now,
		sleep: func(ctx context.Context, d time.Duration) error {
			t.Reset(d)
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		},
	}
}

// due returns when message i is due.
func (p *pacer) due(i int) time.Time {
	return p.start.Add(time.Duration(float64(i) * float64(time.Second) / p.rate))
}

// wait blocks until message i is due and returns its due time. It returns
// at once for a message that is already overdue.
func (p *pacer) wait(ctx context.Context, i int) (time.Time, error) {
	due := p.due(i)
	if d := due.Sub(p.now()); d > 0 {
		if err := p.sleep(ctx, d); err != nil {
			return due, err
		}
	}
	return due, nil
}
