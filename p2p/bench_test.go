package p2p_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// BenchmarkCrossNodeDelivery measures the time from Send on the first node
// of a line to the message notification on the last, relayed by gossip
// hop by hop (p2ptest.Relayed), and with the default direct dials between
// room nodes. It reports p50 and p99 in milliseconds.
func BenchmarkCrossNodeDelivery(b *testing.B) {
	for _, c := range []struct {
		name string
		hops int
		tune func(*p2p.Config)
	}{
		{"relayed/hops=1", 1, p2ptest.Relayed},
		{"relayed/hops=2", 2, p2ptest.Relayed},
		{"relayed/hops=3", 3, p2ptest.Relayed},
		{"direct/nodes=3", 2, nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			ns := p2ptest.LineWith(b, c.hops+1, c.tune)
			first, last := ns[0], ns[len(ns)-1]
			users := make([]node.UserID, len(ns))
			for i, n := range ns {
				users[i] = n.User(b, fmt.Sprintf("user%d", i))
			}
			room, err := first.Node.CreateRoom(bg, users[0], "bench", "", node.Public)
			if err != nil {
				b.Fatal(err)
			}
			for i := 1; i < len(ns); i++ {
				p2ptest.WaitFor(b, 15*time.Second, func() error {
					_, err := ns[i].Node.Join(bg, users[i], room.ID)
					return err
				})
			}
			// Let the meshes form: a warm-up message must arrive.
			watch := last.Notes.Watch(1024)
			p2ptest.WaitFor(b, 20*time.Second, func() error {
				m, err := first.Node.Send(bg, users[0], node.SendParams{Room: room.ID, Body: "warm-up"})
				if err != nil {
					return err
				}
				deadline := time.After(time.Second)
				for {
					select {
					case n := <-watch:
						if n.Message.ID == m.ID {
							return nil
						}
					case <-deadline:
						return fmt.Errorf("warm-up not delivered")
					}
				}
			})
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				m, err := first.Node.Send(bg, users[0], node.SendParams{Room: room.ID, Body: fmt.Sprintf("m %d", i)})
				if err != nil {
					b.Fatal(err)
				}
				timeout := time.After(10 * time.Second)
			wait:
				for {
					select {
					case n := <-watch:
						if n.Message.ID == m.ID {
							break wait
						}
					case <-timeout:
						b.Fatalf("message %d not delivered", i)
					}
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkCatchUp measures how long a restarted node takes to hold the
// 1,000 messages it missed, from its reconnection.
func BenchmarkCatchUp(b *testing.B) {
	const missed = 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := p2ptest.LineWith(b, 2, p2ptest.Fast)
		a, c := ns[0], ns[1]
		ua, uc := a.User(b, "alice"), c.User(b, "carol")
		room, err := a.Node.CreateRoom(bg, ua, "catch-up", "", node.Public)
		if err != nil {
			b.Fatal(err)
		}
		p2ptest.WaitFor(b, 15*time.Second, func() error {
			_, err := c.Node.Join(bg, uc, room.ID)
			return err
		})
		c.Stop()
		var last node.EventID
		for j := range missed {
			m, err := a.Node.Send(bg, ua, node.SendParams{Room: room.ID, Body: fmt.Sprintf("missed %d", j)})
			if err != nil {
				b.Fatal(err)
			}
			last = m.ID
		}
		c.Restart()
		b.StartTimer()
		start := time.Now()
		p2ptest.Connect(b, c, a)
		p2ptest.WaitFor(b, 60*time.Second, func() error {
			if ok, _ := c.Node.HasEvent(bg, last); !ok {
				return fmt.Errorf("not caught up")
			}
			gotN, got, _ := c.Node.RoomDigest(bg, room.ID, nil)
			wantN, want, _ := a.Node.RoomDigest(bg, room.ID, nil)
			if got != want {
				return fmt.Errorf("c holds %d events, a %d", gotN, wantN)
			}
			return nil
		})
		b.ReportMetric(ms(time.Since(start)), "catchup-ms")
		b.StopTimer()
		a.Stop()
		c.Stop()
	}
}
