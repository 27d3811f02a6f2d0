package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/bench"
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
	res.Idle = &suite.Run{Target: "hearth", Receivers: 10000, Result: &bench.Result{ConnsPerUser: 100, Idle: &bench.Idle{
		Conns: 10000, Users: 100, RSSBefore: 40 << 20, RSSHalf: 80 << 20, RSSAfter: 140 << 20, BytesPerConn: 10 << 10, MarginalBytesPerConn: 12 << 10, ToolBytesPerConn: 6 << 10, DialSeconds: 3,
	}}}
	return res
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, sample(), "benchmarks-f.svg"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## Benchmarks",
		"| Hearth | 100 | 1.00 ms | 3.00 ms | 5.00 ms | 20,000 | 100,000 | 50 MiB | 0 |",
		"| Socket.io 4 (Node.js) | 5,000 | 21.0 ms | 203.0 ms | 405.0 ms | 1,000,000 | 300,000 | 50 MiB | 12,345 (0.1%) |",
		"| Hearth | 20,000 | failed: dial: too many open files |",
		"![Workload F",
		"| Centrifugo v6 | 1600/s | 12.0 ms | 160,000 | 1600 → 12.0 ms, 0; 3200 → 80.0 ms, 0 |",
		"**12.0 KiB per connection**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
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
