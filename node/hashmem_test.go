package node_test

import (
	"fmt"
	"runtime/metrics"
	"testing"
	"time"
)

// After a burst of sign-ups (argon2id takes 19 MiB a hash) the node gives
// the freed memory back to the operating system instead of leaving it to
// Go's slow background scavenger.
func TestHashMemoryGoesBackAfterABurst(t *testing.T) {
	n, _ := newTestNode(t, t.TempDir())
	for i := range 4 {
		mustRegister(t, n, fmt.Sprint("burst", i))
	}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	const bound = 8 << 20 // well under one hash's 19 MiB
	deadline := time.Now().Add(5 * time.Second)
	for {
		metrics.Read(sample)
		free := sample[0].Value.Uint64()
		if free < bound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d MiB of freed heap still held by the process 5 s after the burst", free>>20)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
