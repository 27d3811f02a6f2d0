package p2p_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// BenchmarkCrossNodeDelivery measures the time from Send on the first node
// of a line to the message notification on the last. "relayed" lines do
// not dial the other nodes of their rooms (p2ptest.HopByHop), so gossip
// is forwarded hop by hop; "direct" lines use the default config, where a
// node dials them. Both run at a node's default intervals: the tests'
// Fast intervals (anti-entropy every second instead of every ten,
// presence twice a second, scores five times) are for tests that wait
// for convergence, and a benchmark with them measures ten times the
// background work of a real node, and did: the paced relayed line's p99
// was 9.8 to 27.9 ms in six runs with them and 7.2 to 10.0 ms without
// (docs/benchmarks.md).
// The plain cases send one message at a time and time each from the call
// to Send; the "paced" cases send b.N messages on a fixed schedule of 100
// per second and time each from when it was due, so a sender held up by a
// slow send is counted. Every case reports p50 and p99 in milliseconds.
func BenchmarkCrossNodeDelivery(b *testing.B) {
	for _, c := range []struct {
		name string
		hops int
		tune func(*p2p.Config)
		rate float64 // messages per second; 0 sends one at a time
	}{
		{"relayed/hops=1", 1, p2ptest.HopByHop, 0},
		{"relayed/hops=2", 2, p2ptest.HopByHop, 0},
		{"relayed/hops=3", 3, p2ptest.HopByHop, 0},
		{"direct/nodes=3", 2, nil, 0},
		{"paced/relayed/nodes=3/rate=100", 2, p2ptest.HopByHop, 100},
		{"paced/direct/nodes=3/rate=100", 2, nil, 100},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := newBenchLine(b, c.hops+1, c.tune)
			var lat []time.Duration
			if c.rate > 0 {
				lat = l.paced(b, c.rate)
			} else {
				lat = l.oneAtATime(b)
			}
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
		})
	}
}

// benchLine is a line of nodes with one member per node in one room, and
// a watch on the last node's message notifications.
type benchLine struct {
	first *p2ptest.Node
	user  node.UserID // the member on the first node
	room  node.RoomID
	watch <-chan *node.Notification
}

func newBenchLine(b *testing.B, nodes int, tune func(*p2p.Config)) *benchLine {
	b.Helper()
	ns := p2ptest.LineWith(b, nodes, tune)
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
	watch := last.Notes.Watch(4096)
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
	return &benchLine{first: first, user: users[0], room: room.ID, watch: watch}
}

// oneAtATime sends b.N messages, each after the previous one arrived.
func (l *benchLine) oneAtATime(b *testing.B) []time.Duration {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		m, err := l.first.Node.Send(bg, l.user, node.SendParams{Room: l.room, Body: fmt.Sprintf("m %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		timeout := time.After(10 * time.Second)
	wait:
		for {
			select {
			case n := <-l.watch:
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
	return lat
}

// paced sends b.N messages at rate per second on a fixed schedule
// (message i is due at start + i/rate; a sender that falls behind sends
// at once instead of drifting) and returns each one's latency from its
// due time to its arrival on the last node.
func (l *benchLine) paced(b *testing.B, rate float64) []time.Duration {
	period := time.Duration(float64(time.Second) / rate)
	const prefix = "paced "
	b.ResetTimer()
	start := time.Now()
	due := func(i int) time.Time { return start.Add(time.Duration(i) * period) }
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < b.N; i++ {
			time.Sleep(time.Until(due(i)))
			if _, err := l.first.Node.Send(bg, l.user, node.SendParams{Room: l.room, Body: prefix + strconv.Itoa(i)}); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	defer wg.Wait()
	lat := make([]time.Duration, 0, b.N)
	seen := make([]bool, b.N)
	timeout := time.NewTimer(time.Until(due(b.N)) + 10*time.Second)
	defer timeout.Stop()
	for len(lat) < b.N {
		select {
		case n := <-l.watch:
			i, err := strconv.Atoi(strings.TrimPrefix(n.Message.Body, prefix))
			if err != nil || i < 0 || i >= b.N || seen[i] {
				continue
			}
			seen[i] = true
			lat = append(lat, time.Since(due(i)))
		case <-timeout.C:
			b.Fatalf("%d of %d messages delivered", len(lat), b.N)
		}
	}
	b.StopTimer()
	return lat
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkCatchUp measures how long a restarted node takes to hold the
// messages it missed (1,000 and 10,000), from its reconnection until it
// holds exactly the sender's event set. Each op is one restart; it
// reports the mean (catchup-ms) and the slowest op (max-ms).
func BenchmarkCatchUp(b *testing.B) {
	for _, missed := range []int{1000, 10000} {
		b.Run(fmt.Sprint("missed=", missed), func(b *testing.B) {
			var total, worst time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				d := catchUp(b, missed)
				total += d
				worst = max(worst, d)
			}
			b.ReportMetric(ms(total/time.Duration(b.N)), "catchup-ms")
			b.ReportMetric(ms(worst), "max-ms")
		})
	}
}

// catchUp runs one catch-up of missed messages and returns its duration;
// only the catch-up itself runs with the benchmark timer on.
func catchUp(b *testing.B, missed int) time.Duration {
	ns := p2ptest.LineWith(b, 2, p2ptest.Fast)
	a, c := ns[0], ns[1]
	defer a.Stop()
	defer c.Stop()
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
	// Several senders share A's fsyncs, so that setting up 10,000 missed
	// messages takes seconds, not tens of seconds.
	const senders = 8
	lasts := make([]node.EventID, senders)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := s; j < missed; j += senders {
				m, err := a.Node.Send(bg, ua, node.SendParams{Room: room.ID, Body: fmt.Sprintf("missed %d", j)})
				if err != nil {
					b.Error(err)
					return
				}
				lasts[s] = m.ID
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	c.Restart()
	b.StartTimer()
	start := time.Now()
	p2ptest.Connect(b, c, a)
	p2ptest.WaitFor(b, 120*time.Second, func() error {
		for _, id := range lasts {
			if ok, _ := c.Node.HasEvent(bg, id); !ok {
				return fmt.Errorf("not caught up")
			}
		}
		gotN, got, _ := c.Node.RoomDigest(bg, room.ID, nil)
		wantN, want, _ := a.Node.RoomDigest(bg, room.ID, nil)
		if got != want {
			return fmt.Errorf("c holds %d events, a %d", gotN, wantN)
		}
		return nil
	})
	d := time.Since(start)
	b.StopTimer()
	return d
}
