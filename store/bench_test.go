package store_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// BenchmarkDurableSend measures durably acknowledged writes with 64
// concurrent senders sharing group commits: each op is one message write
// followed by waiting for its fsync. Target: ≥ 50k ops/s.
func BenchmarkDurableSend(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b, b.TempDir())
	defer db.Close()
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / 64
	for g := range 64 {
		n := per
		if g == 0 {
			n += b.N % 64
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			for range n {
				i := int(seq.Add(1))
				err := db.Update(ctx, func(tx node.Tx) error {
					return tx.PutMessage(&node.Message{ID: node.EventID(fmt.Sprint("m", i)), Room: node.RoomID(fmt.Sprint("room", g)), Sender: "a@N", Body: "hello, this is a message of about one hundred bytes: lorem ipsum dolor sit amet", Order: order(i)})
				})
				if err != nil {
					b.Error(err)
					return
				}
				db.Durable(func(err error) { done <- err })
				if err := <-done; err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acked/s")
}

// BenchmarkHistoryPage reads a 50-message page at random depths of a room
// of 1M messages (100k with -short). Target: p99 under 2 ms.
func BenchmarkHistoryPage(b *testing.B) {
	ctx := context.Background()
	size := 1_000_000
	if testing.Short() {
		size = 100_000
	}
	db := mustOpen(b, b.TempDir())
	defer db.Close()
	// Bulk writes build the room in seconds instead of most of a minute;
	// the keys and values are those PutMessage writes.
	putMessagesBulk(b, db, "big", 0, size)
	putMessages(b, db, "other", 0, 1000)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		before := order((i * 7919) % size)
		t0 := time.Now()
		err := db.View(ctx, func(tx node.Tx) error {
			page, _, err := tx.Messages("big", before, 50)
			if err == nil && len(page) == 0 && (i*7919)%size > 0 {
				err = fmt.Errorf("empty page")
			}
			return err
		})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// putMessagesBulk is putMessages through store.PutMessagesBulk.
func putMessagesBulk(t testing.TB, db *store.DB, room node.RoomID, from, to int) {
	t.Helper()
	for start := from; start < to; start += 10_000 {
		msgs := make([]*node.Message, 0, 10_000)
		for i := start; i < min(start+10_000, to); i++ {
			msgs = append(msgs, testMessage(room, i))
		}
		if err := store.PutMessagesBulk(db, msgs); err != nil {
			t.Fatal(err)
		}
	}
}
