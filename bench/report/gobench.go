package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hearth-chat/hearth/bench/gobench"
	"github.com/hearth-chat/hearth/bench/suite"
)

// p2pPkg is the package whose benchmarks make the federation tables; the
// others make the table of Go benchmarks.
const p2pPkg = "github.com/hearth-chat/hearth/p2p"

// goBench is one benchmark with the run that measured it.
type goBench struct {
	gobench.Benchmark
	run *gobench.Run
}

// goBenchmarks lists every benchmark of every Go run, in order.
func goBenchmarks(res *suite.Results) []goBench {
	var out []goBench
	for i := range res.Go {
		r := &res.Go[i]
		for _, b := range r.Benchmarks {
			out = append(out, goBench{b, r})
		}
	}
	return out
}

// findGo returns the last benchmark named name in package pkg (a suffix
// of the import path, such as "/store").
func findGo(res *suite.Results, pkg, name string) (goBench, bool) {
	var found goBench
	ok := false
	for _, b := range goBenchmarks(res) {
		if b.Name == name && strings.HasSuffix(b.Pkg, pkg) {
			found, ok = b, true
		}
	}
	return found, ok
}

// goMicro writes the table of Go benchmarks outside p2p.
func goMicro(p *printer, res *suite.Results) {
	p.f("## Go benchmarks\n\n")
	p.f("Single-node code paths, benchmarked in process with `-benchmem` (commands above). `time/op` is wall time per iteration; the last column holds what a benchmark reports itself (`b.ReportMetric`) and MB/s.\n\n")
	var rows []goBench
	for _, b := range goBenchmarks(res) {
		if b.Pkg != p2pPkg {
			rows = append(rows, b)
		}
	}
	if len(rows) == 0 {
		p.f("Not run.\n\n")
	} else {
		p.f("| package | benchmark | iterations | time/op | B/op | allocs/op | reported |\n")
		p.f("| --- | --- | ---: | ---: | ---: | ---: | --- |\n")
		for _, b := range rows {
			var extra []string
			for _, m := range b.Metrics {
				switch m.Unit {
				case "ns/op", "B/op", "allocs/op":
				default:
					extra = append(extra, metric(m))
				}
			}
			p.f("| %s | `%s` | %s | %s | %s | %s | %s |\n", shortPkg(b.Pkg), b.Name, thousands(int(b.N)),
				valueOr(b.Benchmark, "ns/op", nsTime), valueOr(b.Benchmark, "B/op", bytesStr), valueOr(b.Benchmark, "allocs/op", count),
				orDash(strings.Join(extra, ", ")))
		}
		p.f("\n")
	}
	goFailures(p, res, func(r *gobench.Run) bool { return !strings.Contains(r.Command, "./p2p") })
}

// goFailures notes the Go runs selected by sel that failed.
func goFailures(p *printer, res *suite.Results, sel func(*gobench.Run) bool) {
	for i := range res.Go {
		r := &res.Go[i]
		if !sel(r) || (r.Error == "" && len(r.Failures) == 0) {
			continue
		}
		p.f("**`%s` failed** (%s)", r.Command, orDash(oneLine(r.Error)))
		if len(r.Failures) > 0 {
			p.f(": %s", oneLine(strings.Join(r.Failures, "; ")))
		}
		p.f(". Its other benchmarks are in the table.\n\n")
	}
}

// federation writes the cross-node latency and catch-up tables.
func federation(p *printer, res *suite.Results) {
	p.f("## Federation\n\n")
	p.f("Go benchmarks in `p2p/bench_test.go`: every node is a whole in-process node (Badger store with group commit, domain node, libp2p host) on 127.0.0.1 over TCP, Noise and Yamux, each with its own data directory.\n\n")
	var cross, catch []goBench
	for _, b := range goBenchmarks(res) {
		switch {
		case b.Pkg != p2pPkg:
		case strings.HasPrefix(b.Name, "BenchmarkCrossNodeDelivery/"):
			cross = append(cross, b)
		case strings.HasPrefix(b.Name, "BenchmarkCatchUp/"):
			catch = append(catch, b)
		}
	}
	p.f("**Cross-node delivery latency**: from `Node.Send` on the first node of a line (it returns once the message is durable there) to the `message` notification for a member on the last node (after that node validated, authorised and durably stored it). *Relayed* lines use `p2ptest.HopByHop` (no DHT, no direct dials between a room's nodes; a node's default intervals, as the default lines), so each hop is a GossipSub forward after the relaying node ingested the event; the *default* config lets a node dial the other nodes of its rooms, so a line of three becomes one hop plus a direct push. *One at a time* sends each message after the previous one arrived and times it from the call to Send; *paced* sends on a fixed schedule and times each message from when it was due, so a sender held up by a slow send counts.\n\n")
	if len(cross) == 0 {
		p.f("Not run.\n\n")
	} else {
		p.f("| line | config | sending | messages | p50 | p99 |\n")
		p.f("| --- | --- | --- | ---: | ---: | ---: |\n")
		for _, b := range cross {
			c := parseCross(strings.TrimPrefix(b.Name, "BenchmarkCrossNodeDelivery/"))
			p.f("| %s | %s | %s | %s | %s | %s |\n", c.line(), c.config(), c.sending(), thousands(int(b.N)),
				valueOr(b.Benchmark, "p50-ms", ms), valueOr(b.Benchmark, "p99-ms", ms))
		}
		p.f("\n")
	}
	p.f("**Catch-up after a restart**: node C stops, A posts the messages C misses, C restarts on the same directory; the time from C's reconnection until C holds exactly A's event set (same digest). The path is anti-entropy: a digest exchange, pages of `refs`, `get` batches, and ingestion of each batch (every event verified, authorised and written, then one fsync for the batch).\n\n")
	if len(catch) == 0 {
		p.f("Not run.\n\n")
	} else {
		p.f("| missed messages | restarts | mean | slowest |\n")
		p.f("| ---: | ---: | ---: | ---: |\n")
		for _, b := range catch {
			missed := strings.TrimPrefix(b.Name, "BenchmarkCatchUp/missed=")
			if n, err := strconv.Atoi(missed); err == nil {
				missed = thousands(n)
			}
			p.f("| %s | %d | %s | %s |\n", missed, b.N, valueOr(b.Benchmark, "catchup-ms", ms), valueOr(b.Benchmark, "max-ms", ms))
		}
		p.f("\n")
	}
	goFailures(p, res, func(r *gobench.Run) bool { return strings.Contains(r.Command, "./p2p") })
}

// crossCase is a BenchmarkCrossNodeDelivery sub-benchmark's name, read:
// "relayed/hops=2", "direct/nodes=3", "paced/direct/nodes=3/rate=100".
type crossCase struct {
	nodes   int
	relayed bool
	rate    float64
}

func parseCross(name string) crossCase {
	var c crossCase
	for _, part := range strings.Split(name, "/") {
		k, v, _ := strings.Cut(part, "=")
		n, _ := strconv.ParseFloat(v, 64)
		switch k {
		case "relayed":
			c.relayed = true
		case "hops":
			c.nodes = int(n) + 1
		case "nodes":
			c.nodes = int(n)
		case "rate":
			c.rate = n
		}
	}
	return c
}

func (c crossCase) line() string {
	if c.nodes < 2 || c.nodes > 26 {
		return "?"
	}
	var names []string
	for i := range c.nodes {
		names = append(names, string(rune('A'+i)))
	}
	hops := "hop"
	if c.nodes > 2 {
		hops = "hops"
	}
	return fmt.Sprintf("%s (%d %s)", strings.Join(names, "→"), c.nodes-1, hops)
}

func (c crossCase) config() string {
	if c.relayed {
		return "relayed"
	}
	return "default"
}

func (c crossCase) sending() string {
	if c.rate > 0 {
		return fmt.Sprintf("paced, %g msg/s", c.rate)
	}
	return "one at a time"
}

func shortPkg(pkg string) string {
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		return pkg[i+1:]
	}
	return pkg
}

// valueOr formats the benchmark's value in unit, or "–".
func valueOr(b gobench.Benchmark, unit string, format func(float64) string) string {
	if v, ok := b.Value(unit); ok {
		return format(v)
	}
	return "–"
}

// metric formats a reported metric: "p99-µs" reads "p99 1,423 µs",
// "acked/s" reads "16,051 acked/s".
func metric(m gobench.Metric) string {
	if q, u, ok := strings.Cut(m.Unit, "-"); ok && (u == "µs" || u == "us" || u == "ms" || u == "ns") {
		return fmt.Sprintf("%s %s %s", q, num(m.Value), u)
	}
	return fmt.Sprintf("%s %s", num(m.Value), m.Unit)
}

// num prints large values with thousands separators and small ones with
// three significant digits.
func num(v float64) string {
	if math.Abs(v) >= 100 {
		return thousands(int(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func count(v float64) string { return thousands(int(math.Round(v))) }

// nsTime formats nanoseconds with a unit that fits.
func nsTime(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%s µs", num(ns/1e3))
	case ns < 1e9:
		return fmt.Sprintf("%s ms", num(ns/1e6))
	}
	return fmt.Sprintf("%s s", num(ns/1e9))
}

func bytesStr(b float64) string {
	switch {
	case b < 10<<10:
		return fmt.Sprintf("%s B", thousands(int(math.Round(b))))
	case b < 10<<20:
		return fmt.Sprintf("%.0f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f MiB", b/(1<<20))
}
