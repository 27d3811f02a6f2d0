// Package poll lets a test wait for a condition that another goroutine,
// process or node makes true, instead of sleeping for a guessed time: on
// an idle machine the wait ends as soon as the condition holds, and on a
// busy one it lasts as long as it must, up to a deadline that only a real
// failure reaches.
package poll

import (
	"errors"
	"testing"
	"time"
)

// Interval is how long Until waits between two checks.
const Interval = 10 * time.Millisecond

// Until calls check until it returns nil, and fails t with check's last
// error once timeout has passed, or at once when check returns an error
// made by Stop. It must be called from the goroutine running the test,
// like t.Fatal.
func Until(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	if err := wait(timeout, check); err != nil {
		t.Fatalf("waited %v: %v", timeout, err)
	}
}

// Stop wraps err so that Until gives up at once: for a condition that can
// no longer come true, such as a process that has exited.
func Stop(err error) error { return stopped{err} }

type stopped struct{ error }

func (s stopped) Unwrap() error { return s.error }

// wait returns nil as soon as check does, or check's last error once
// timeout has passed or check stops it.
func wait(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		var stop stopped
		if errors.As(err, &stop) {
			return stop.error
		}
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(Interval)
	}
}
