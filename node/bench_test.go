package node_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

func BenchmarkSealEvent(b *testing.B) {
	s := node.NewSigner(mustKey(b))
	u := node.NewUserID("alice", s.NodeID())
	content := []byte(`{"body":"hello, this is a message of about one hundred bytes: lorem ipsum dolor sit amet, consectetur"}`)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := &node.Event{Type: node.EventMessage, Room: "rbench", Sender: u, TS: int64(1_700_000_000_000 + i), Content: content}
		if err := s.Seal(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	s := node.NewSigner(mustKey(b))
	u := node.NewUserID("alice", s.NodeID())
	e := &node.Event{Type: node.EventMessage, Room: "rbench", Sender: u, TS: time.Now().UnixMilli(), Content: []byte(`{"body":"hello, this is a message of about one hundred bytes: lorem ipsum dolor sit amet, consectetur"}`)}
	if err := s.Seal(e); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.SetBytes(int64(len(e.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := node.DecodeEvent(e.Raw, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSend is the whole durable send path on real Badger files:
// authorise, sign, write, group-commit fsync, notify. senders=64 posts
// into 64 rooms at once, sharing fsyncs.
func BenchmarkSend(b *testing.B) {
	for _, senders := range []int{1, 64} {
		b.Run(fmt.Sprint("senders=", senders), func(b *testing.B) {
			ctx := context.Background()
			n, _ := newTestNode(b, b.TempDir())
			users := make([]node.UserID, senders)
			rooms := make([]node.RoomID, senders)
			for i := range senders {
				u, err := n.Register(ctx, fmt.Sprint("user", i), "correct horse", "")
				if err != nil {
					b.Fatal(err)
				}
				r, err := n.CreateRoom(ctx, u.ID, "bench", "", node.Public)
				if err != nil {
					b.Fatal(err)
				}
				users[i], rooms[i] = u.ID, r.ID
			}
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := range senders {
				count := b.N / senders
				if i == 0 {
					count += b.N % senders
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range count {
						if _, err := n.Send(ctx, users[i], node.SendParams{Room: rooms[i], Body: "hello, this is a message of about one hundred bytes: lorem ipsum dolor sit amet"}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acked/s")
		})
	}
}
