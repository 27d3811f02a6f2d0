package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/bench"
	"github.com/hearth-chat/hearth/bench/gobench"
	"github.com/hearth-chat/hearth/bench/suite"
)

func sample() *suite.Results {
	res := &suite.Results{
		Date: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Rate: 200, SweepP99Ms: 50,
		Machine: suite.Machine{CPU: "Test CPU", Cores: 2, OS: "linux/amd64", Go: "go1.26", Node: "v20"},
	}
	for _, t := range []string{"hearth", "socketio", "centrifugo"} {
		for i, n := range []int{100, 1000, 5000} {
			r := &bench.Result{
				Target: t, Receivers: n, Rate: 200, Messages: 2000, Size: 100, Sent: 2000,
				Expected: int64(2000 * n), Received: int64(2000 * n), DeliveriesPerSec: float64(200 * n),
				Latency:        bench.Latency{P50: float64(1 + i*10), P99: float64(3 + i*100), Max: float64(5 + i*200)},
				Server:         &bench.Server{CPUSeconds: 2, DeliveriesPerCPUSecond: float64(100000 * (i + 1)), PeakRSS: 50 << 20},
				ToolCPUSeconds: 1,
			}
			if t == "socketio" && n == 5000 {
				r.Lost, r.Received = 12345, r.Expected-12345
			}
			res.F = append(res.F, suite.Run{Target: t, Receivers: n, Rate: 200, Result: r})
		}
		res.Sweeps = append(res.Sweeps, suite.Sweep{Target: t, Receivers: 100, Best: 1600, BestP99: 12, Steps: []suite.Run{
			{Target: t, Rate: 3200, Result: &bench.Result{Latency: bench.Latency{P99: 80}}},
			{Target: t, Rate: 1600, Result: &bench.Result{Latency: bench.Latency{P99: 12}, DeliveriesPerSec: 160000}},
		}})
	}
	res.F = append(res.F, suite.Run{Target: "hearth", Receivers: 20000, Error: "dial: too many open files"})
	res.F = append(res.F, suite.Run{Target: "hearth", Receivers: 10000, Rate: 20, Result: &bench.Result{
		Target: "hearth", Receivers: 10000, Rate: 20, Messages: 400, Expected: 4_000_000, Received: 4_000_000,
		Latency: bench.Latency{P50: 40, P99: 180, Max: 300}, Server: &bench.Server{CPUSeconds: 20, PeakRSS: 700 << 20},
	}})
	res.F = append(res.F, suite.Run{Target: "hearth", Receivers: 1000, Rate: 200, ConnsPerUser: 20, Result: &bench.Result{
		Target: "hearth", Receivers: 1000, Rate: 200, Messages: 2000, Expected: 2_000_000, Received: 2_000_000,
		Latency: bench.Latency{P50: 5, P99: 9, Max: 12}, Server: &bench.Server{CPUSeconds: 5, PeakRSS: 90 << 20},
	}})
	res.Joins = &bench.JoinsResult{Steps: []bench.JoinsStep{
		{Members: 100, Joins: 50, Observers: 50, StateBytesPerJoin: 157, StateFramesPerJoin: 1},
		{Members: 1000, Joins: 50, Observers: 50, StateBytesPerJoin: 158, StateFramesPerJoin: 1},
		{Members: 10000, Joins: 50, Observers: 50, StateBytesPerJoin: 159, StateFramesPerJoin: 1},
	}}
	res.Community = &bench.CommunityResult{Users: 5000, Rooms: 1000, Memberships: 14000, MedianRoom: 3, LargestRoom: 500,
		Messages: 12000, Expected: 900000, Received: 900000, Latency: bench.Latency{P50: 3, P99: 30, Max: 90},
		Server: &bench.Server{CPUSeconds: 9, PeakRSS: 400 << 20}, CPUMicrosPerDelivery: 10}
	res.Accounts = &suite.AccountsInfo{Users: 10100, Cached: true, Created: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), SignUpSeconds: 300}
	res.Machine.Kernel, res.Machine.RAM = "6.1.0", 24<<30
	res.Machine.Fsync = &suite.Fsync{Count: 200, P50Ms: 0.15, P99Ms: 2.5, MaxMs: 9}
	res.Commit, res.Dirty, res.DirtyFiles = "01be137", true, 3
	res.Seconds = 17.5 * 60
	res.Commands = []string{"make bench", "go test -run '^$' -bench . -benchmem ./node/..."}
	res.Go = sampleGo()
	res.Idle = &suite.Run{Target: "hearth", Receivers: 10000, Result: &bench.Result{ConnsPerUser: 100, Idle: &bench.Idle{
		Conns: 10000, Users: 100, RSSBefore: 40 << 20, RSSHalf: 80 << 20, RSSAfter: 140 << 20, BytesPerConn: 10 << 10, MarginalBytesPerConn: 12 << 10, ToolBytesPerConn: 6 << 10, DialSeconds: 3,
	}}}
	return res
}

// sampleGo is what the Go benchmark commands could have printed, parsed.
func sampleGo() []gobench.Run {
	const (
		node  = "github.com/hearth-chat/hearth/node"
		store = "github.com/hearth-chat/hearth/store"
		p2p   = "github.com/hearth-chat/hearth/p2p"
	)
	m := func(pairs ...any) []gobench.Metric {
		var out []gobench.Metric
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, gobench.Metric{Value: float64(pairs[i].(int)), Unit: pairs[i+1].(string)})
		}
		return out
	}
	return []gobench.Run{
		{Command: "go test -run '^$' -bench . -benchmem ./node/...", Output: gobench.Output{Benchmarks: []gobench.Benchmark{
			{Pkg: node, Name: "BenchmarkSealEvent", Procs: 2, N: 25234, Metrics: m(44343, "ns/op", 1312, "B/op", 6, "allocs/op")},
		}}},
		{Command: "go test -run '^$' -bench . -benchmem -benchtime 20000x ./store/...", Output: gobench.Output{Benchmarks: []gobench.Benchmark{
			{Pkg: store, Name: "BenchmarkDurableSend", Procs: 2, N: 20000, Metrics: m(64295, "ns/op", 51000, "acked/s", 3219, "B/op", 61, "allocs/op")},
			{Pkg: store, Name: "BenchmarkHistoryPage", Procs: 2, N: 20000, Metrics: m(470439, "ns/op", 377, "p50-µs", 1423, "p99-µs", 98948, "B/op", 1083, "allocs/op")},
		}}},
		{Command: "go test -run '^$' -bench CrossNodeDelivery -benchmem -benchtime 500x ./p2p/", Output: gobench.Output{Benchmarks: []gobench.Benchmark{
			{Pkg: p2p, Name: "BenchmarkCrossNodeDelivery/relayed/hops=2", Procs: 2, N: 500, Metrics: m(4571970, "ns/op", 3, "p50-ms", 25, "p99-ms")},
			{Pkg: p2p, Name: "BenchmarkCrossNodeDelivery/paced/direct/nodes=3/rate=100", Procs: 2, N: 500, Metrics: m(10128157, "ns/op", 4, "p50-ms", 19, "p99-ms")},
			{Pkg: p2p, Name: "BenchmarkCrossNodeDelivery/paced/relayed/nodes=3/rate=100", Procs: 2, N: 500, Metrics: m(10128157, "ns/op", 4, "p50-ms", 302, "p99-ms")},
		}}},
		{Command: "go test -run '^$' -bench CatchUp -benchmem -benchtime 3x ./p2p/", Error: "exit status 1",
			Output: gobench.Output{Failures: []string{"--- FAIL: BenchmarkCatchUp/missed=10000"}, Benchmarks: []gobench.Benchmark{
				{Pkg: p2p, Name: "BenchmarkCatchUp/missed=1000", Procs: 2, N: 3, Metrics: m(568806746, "ns/op", 568, "catchup-ms", 2100, "max-ms")},
			}}},
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	opt := Options{Chart: "benchmarks-f.svg", Analysis: "**The latency spikes are the disk.**\n", AnalysisPath: "bench/analysis.md"}
	if err := Markdown(&b, sample(), opt); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# Benchmarks\n",
		"- **Commit**: `01be137`, with uncommitted changes in 3 paths",
		"- **Machine**: Test CPU, 2 cores, 24.0 GiB RAM; linux/amd64, kernel 6.1.0; go1.26; Node.js v20.",
		"0.15 ms at p50, 2.50 ms at p99, 9.00 ms at most (200 rounds)",
		"the whole run took 17.5 minutes",
		"    make bench\n    go test -run '^$' -bench . -benchmem ./node/...\n",
		"| F, N=1,000, R=200: deliveries per server CPU-s ≥ 1.2 × Centrifugo's | 200,000 (Socket.io 200,000, Centrifugo 200,000) | **missed** |",
		"- **Users**: 10,100 Hearth users, signed up once on 2026-11-26 (300 s of argon2id hashing then)",
		"| node | `BenchmarkSealEvent` | 25,234 | 44.3 µs | 1,312 B | 6 | – |",
		"| store | `BenchmarkHistoryPage` | 20,000 | 470 µs | 97 KiB | 1,083 | p50 377 µs, p99 1,423 µs |",
		"| store | `BenchmarkDurableSend` | 20,000 | 64.3 µs | 3,219 B | 61 | 51,000 acked/s |",
		"| A→B→C (2 hops) | relayed | one at a time | 500 | 3.00 ms | 25.0 ms |",
		"| A→B→C (2 hops) | default | paced, 100 msg/s | 500 | 4.00 ms | 19.0 ms |",
		"| 1,000 | 3 | 568.0 ms | 2.10 s |",
		"**`go test -run '^$' -bench CatchUp -benchmem -benchtime 3x ./p2p/` failed** (exit status 1): --- FAIL: BenchmarkCatchUp/missed=10000.",
		"| N | p99, Hearth ÷ Socket.io | p99, Hearth ÷ Centrifugo | deliveries per CPU-s, Hearth ÷ Socket.io |",
		"| 1,000 | 1.00× | 1.00× | 1.00× | 1.00× | 1.00× | 1.00× |",
		"| Hearth | 100 | 200 | 1.00 ms | 3.00 ms | 5.00 ms | 20,000 | 100,000 | 50 MiB | 0 |",
		"| Socket.io 4 (Node.js) | 5,000 | 200 | 21.0 ms | 203.0 ms | 405.0 ms | 1,000,000 | 300,000 | 50 MiB | 12,345 (0.1%) |",
		"| Hearth | 20,000 | 0 | failed: dial: too many open files |",
		"| Hearth (many tabs: 20 connections per user) | 1,000 | 200 | 5.00 ms | 9.00 ms |",
		"| 10,000 | 159 | 1.00 |",
		"| 12,000 | 900,000 | 0 | 3.00 ms | 30.0 ms | 90.0 ms |",
		"![Workload F",
		"| Centrifugo v6 | 1600/s | 1.00× | 12.0 ms | 160,000 | 1600 → 12.0 ms, 0; 3200 → 80.0 ms, 0 |",
		"**12.0 KiB per connection**",
		"## Analysis\n\n*Hand-written in `bench/analysis.md`",
		"**The latency spikes are the disk.**\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Sections in order; the analysis last.
	last := -1
	for _, h := range []string{"## The run", "## Targets", "## Go benchmarks", "## Federation", "## Single node under load", "## Analysis"} {
		i := strings.Index(md, h)
		if i <= last {
			t.Errorf("section %q missing or out of order", h)
		}
		last = i
	}
}

func TestTargets(t *testing.T) {
	res := sample()
	got := map[string]Target{}
	for _, tg := range Targets(res) {
		got[tg.Goal] = tg
	}
	for _, tt := range []struct {
		goal     string
		measured string
		status   Status
	}{
		{"F, N=100, R=200: p99 ≤ Centrifugo's + 0.5 ms", "3.00 ms (Socket.io 3.00 ms, Centrifugo 3.00 ms)", Met},
		{"F, N=100, R=200: deliveries per server CPU-s ≥ Centrifugo's", "100,000 (Socket.io 100,000, Centrifugo 100,000)", Met},
		{"F, N=1,000, R=200: deliveries per server CPU-s ≥ 1.2 × Centrifugo's", "200,000 (Socket.io 200,000, Centrifugo 200,000)", Missed},
		{"F, N=1,000, R=200: p99 ≤ Centrifugo's", "103.0 ms (Socket.io 103.0 ms, Centrifugo 103.0 ms)", Met},
		{"F, N=10,000 users, R=20: connects, nothing lost, p99 < 250 ms, peak RSS < 1 GiB", "0 lost, p99 180.0 ms, peak RSS 700 MiB", Met},
		{"J: state bytes sent to each existing member per join independent of room size (100, 1,000, 10,000 members)", "157 B at 100, 158 B at 1,000, 159 B at 10,000", Met},
		{"C: p99 < 50 ms (peak RSS and CPU per delivery reported)", "p99 30.0 ms, 0 lost, 10.0 µs CPU per delivery, peak RSS 400 MiB", Met},
		{"F, N=1,000, R=200: peak RSS < 150 MiB", "50 MiB (Socket.io 50 MiB, Centrifugo 50 MiB)", Met},
		{"F, N=1,000, R=200: nothing lost", "0 lost, 0 refused", Met},
		{"rate sweep at N=100: highest R with p99 < 50 ms, Hearth and both peers", "Hearth 1,600/s, Socket.io 4 (Node.js) 1,600/s, Centrifugo v6 1,600/s", Reported},
		{"10,000 idle authenticated connections ≤ 32 KiB each", "12.0 KiB (growth over the second half)", Met},
		{"storage: ≥ 50,000 durably acked msgs/s, 64 concurrent senders", "51,000/s (`store` BenchmarkDurableSend)", Met},
		{"storage: 50-message history page in a 1M-message room, p99 < 2 ms", "1.42 ms", Met},
		{"federation: 3 nodes in a line (default config), 100 msg/s: cross-node p50 < 5 ms, p99 < 20 ms", "p50 4.00 ms, p99 19.0 ms (500 messages)", Met},
		{"federation: 3 nodes in a line (relayed hop by hop), 100 msg/s: cross-node p50 < 5 ms, p99 < 20 ms", "p50 4.00 ms, p99 302.0 ms (500 messages)", Missed},
		{"federation: a restarted node catches up 1,000 missed messages in < 2 s", "slowest of 3: 2.10 s (mean 568.0 ms)", Missed},
		{"federation: a restarted node catches up 10,000 missed messages in < 10 s", "not run", NotMeasured},
		{"`make bench` runs everything in < 20 minutes", "17.5 min", Met},
	} {
		g, ok := got[tt.goal]
		if !ok {
			t.Errorf("no target %q", tt.goal)
			continue
		}
		if g.Measured != tt.measured || g.Status != tt.status {
			t.Errorf("%s:\n got %q, %s\nwant %q, %s", tt.goal, g.Measured, g.Status, tt.measured, tt.status)
		}
	}
	if len(got) != 18 {
		t.Errorf("%d targets, want 18", len(got))
	}
}

// TestTargetsNotMeasured: a run outside the targets' conditions decides
// nothing.
func TestTargetsNotMeasured(t *testing.T) {
	res := sample()
	res.Quick = true
	res.Idle.Result.Idle.Conns = 2000
	res.Go[1].Short = true
	res.F = res.F[:0]
	for _, tg := range Targets(res) {
		switch {
		case strings.HasPrefix(tg.Goal, "F, "), strings.HasPrefix(tg.Goal, "10,000 idle"),
			strings.Contains(tg.Goal, "history page"), strings.Contains(tg.Goal, "make bench"):
			if tg.Status != NotMeasured {
				t.Errorf("%s: %s (%s), want not measured", tg.Goal, tg.Status, tg.Measured)
			}
		}
	}
	if got := Targets(&suite.Results{}); len(got) != 18 {
		t.Fatalf("empty results: %d targets", len(got))
	}
	for _, tg := range Targets(&suite.Results{}) {
		if tg.Status == Met || tg.Status == Missed {
			t.Errorf("empty results decide %q: %s", tg.Goal, tg.Status)
		}
	}
}

func TestMetric(t *testing.T) {
	for _, tt := range []struct {
		m    gobench.Metric
		want string
	}{
		{gobench.Metric{Value: 1423, Unit: "p99-µs"}, "p99 1,423 µs"},
		{gobench.Metric{Value: 2.043, Unit: "p50-ms"}, "p50 2.04 ms"},
		{gobench.Metric{Value: 817.2, Unit: "acked/s"}, "817 acked/s"},
		{gobench.Metric{Value: 3.48, Unit: "MB/s"}, "3.48 MB/s"},
		{gobench.Metric{Value: 12, Unit: "in-flight"}, "12 in-flight"},
	} {
		if got := metric(tt.m); got != tt.want {
			t.Errorf("metric(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
	for ns, want := range map[float64]string{512: "512 ns", 44343: "44.3 µs", 1223748: "1.22 ms", 6320564671: "6.32 s"} {
		if got := nsTime(ns); got != want {
			t.Errorf("nsTime(%g) = %q, want %q", ns, got, want)
		}
	}
}

func TestParseCross(t *testing.T) {
	for name, want := range map[string]string{
		"relayed/hops=1":                 "A→B (1 hop) relayed one at a time",
		"relayed/hops=3":                 "A→B→C→D (3 hops) relayed one at a time",
		"direct/nodes=3":                 "A→B→C (2 hops) default one at a time",
		"paced/direct/nodes=3/rate=100":  "A→B→C (2 hops) default paced, 100 msg/s",
		"paced/relayed/nodes=3/rate=100": "A→B→C (2 hops) relayed paced, 100 msg/s",
	} {
		c := parseCross(name)
		if got := c.line() + " " + c.config() + " " + c.sending(); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func TestChartIsWellFormedSVG(t *testing.T) {
	for name, res := range map[string]*suite.Results{"full": sample(), "empty": {Rate: 200}} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Chart(&b, res); err != nil {
				t.Fatal(err)
			}
			d := xml.NewDecoder(&b)
			polylines := 0
			for {
				tok, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed: %v", err)
				}
				if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
					polylines++
					for _, a := range se.Attr {
						if a.Name.Local == "points" && (strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf")) {
							t.Fatalf("bad points %q", a.Value)
						}
					}
				}
			}
			if want := 3 * len(collect(res)); polylines != want {
				t.Fatalf("%d polylines, want %d", polylines, want)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
}
