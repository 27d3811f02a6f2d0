package poll

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestWaitReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	err := wait(time.Minute, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("wait = %v after %d checks, want nil after 3", err, calls)
	}
}

func TestWaitGivesTheLastErrorAtTheDeadline(t *testing.T) {
	calls := 0
	start := time.Now()
	err := wait(50*time.Millisecond, func() error {
		calls++
		return fmt.Errorf("check %d", calls)
	})
	if took := time.Since(start); took < 50*time.Millisecond || calls < 2 || err == nil || err.Error() != fmt.Sprintf("check %d", calls) {
		t.Fatalf("wait = %v after %v and %d checks, want the last check's error after 50ms", err, took, calls)
	}
}

func TestStopEndsTheWaitAtOnce(t *testing.T) {
	calls := 0
	gone := errors.New("exited")
	err := wait(time.Minute, func() error {
		if calls++; calls == 2 {
			return Stop(gone)
		}
		return errors.New("not yet")
	})
	if err != gone || calls != 2 {
		t.Fatalf("wait = %v after %d checks, want %v after 2", err, calls, gone)
	}
}
