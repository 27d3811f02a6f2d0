package node_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// median runs fn n times and returns the median duration.
func median(n int, fn func()) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		fn()
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2]
}

// TestLoginTimingHidesUsernames: a wrong password for a known user and any
// password for an unknown one cost the same hash, so the time of the
// answer does not tell which usernames exist. (An unknown name was
// compared against an empty hash and answered in microseconds.)
func TestLoginTimingHidesUsernames(t *testing.T) {
	ctx := context.Background()
	n, _ := newTestNode(t, t.TempDir())
	mustRegister(t, n, "alice")
	known := median(9, func() { _, _ = n.Login(ctx, "alice", "wrong password") })
	unknown := median(9, func() { _, _ = n.Login(ctx, "nobody", "wrong password") })
	if ratio := float64(unknown) / float64(known); ratio < 0.5 || ratio > 2 {
		t.Fatalf("median login: known user %v, unknown user %v (ratio %.3f); want within 2x", known, unknown, ratio)
	}
}

// TestHashQueueIsBounded: past HashQueue waiting callers, a login is
// refused at once (ErrUnavailable, a 503) instead of queueing.
func TestHashQueueIsBounded(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := node.New(ctx, node.Config{Store: db, Key: mustKey(t), HashConcurrency: 1, HashQueue: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	mustRegister(t, n, "alice")
	var mu sync.Mutex
	refused, checked := 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := n.Login(ctx, "alice", "wrong password")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, node.ErrUnavailable):
				refused++
			case errors.Is(err, node.ErrUnauthenticated):
				checked++
			default:
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if refused == 0 || checked == 0 {
		t.Fatalf("%d logins hashed, %d refused; want both", checked, refused)
	}
}
