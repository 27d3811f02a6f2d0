package report

import (
	"fmt"
	"strings"

	"github.com/hearth-chat/hearth/bench/suite"
)

// Status says whether a measured value meets its target.
type Status string

const (
	Met         Status = "met"
	Missed      Status = "missed"
	NotMeasured Status = "not measured"
	// Reported is for a figure the issue asks for without a bound.
	Reported Status = "reported"
)

// Target is one row of the targets table: a goal of the benchmark issue
// and what this run measured for it.
type Target struct {
	Goal     string
	Measured string
	Status   Status
}

// The bounds, in the units measured.
const (
	fRate          = 200
	fN100P99Ms     = 2.5
	fN100PerCPU    = 120_000
	fN1000P99Ms    = 30
	fN1000PerCPU   = 220_000
	fN1000RSSMiB   = 150
	idleConns      = 10_000
	idleKiB        = 32
	durableAckedPS = 50_000
	historyP99Us   = 2000
	fedP50Ms       = 5
	fedP99Ms       = 20
	catchUp1kMs    = 2000
	catchUp10kMs   = 10_000
	wholeRunMin    = 20
)

// Targets compares res with the targets of the benchmark issue. A target
// whose conditions this run did not meet (a smaller room, fewer
// connections, a quick run) is "not measured", with what was measured.
func Targets(res *suite.Results) []Target {
	var ts []Target
	add := func(goal, measured string, s Status) { ts = append(ts, Target{goal, measured, s}) }
	status := func(ok bool) Status {
		if ok {
			return Met
		}
		return Missed
	}

	// Workload F.
	for _, c := range []struct {
		n      int
		p99    float64
		perCPU float64
	}{{100, fN100P99Ms, fN100PerCPU}, {1000, fN1000P99Ms, fN1000PerCPU}} {
		cond := fmt.Sprintf("F, N=%s, R=%d", thousands(c.n), fRate)
		op := "<"
		if c.n == 100 {
			op = "≤"
		}
		run, ok := findF(res, "hearth", c.n)
		if !ok {
			add(fmt.Sprintf("%s: p99 %s %g ms", cond, op, c.p99), notRun(run), NotMeasured)
			add(fmt.Sprintf("%s: ≥ %s deliveries per server CPU-s", cond, thousands(int(c.perCPU))), notRun(run), NotMeasured)
		} else {
			r := run.Result
			okP99 := r.Latency.P99 < c.p99 || (op == "≤" && r.Latency.P99 == c.p99)
			add(fmt.Sprintf("%s: p99 %s %g ms", cond, op, c.p99), ms(r.Latency.P99)+peersF(res, c.n, "p99"), status(okP99))
			if r.Server == nil {
				add(fmt.Sprintf("%s: ≥ %s deliveries per server CPU-s", cond, thousands(int(c.perCPU))), "no server CPU figure", NotMeasured)
			} else {
				add(fmt.Sprintf("%s: ≥ %s deliveries per server CPU-s", cond, thousands(int(c.perCPU))),
					thousands(int(r.Server.DeliveriesPerCPUSecond))+peersF(res, c.n, "cpu"), status(r.Server.DeliveriesPerCPUSecond >= c.perCPU))
			}
		}
		if c.n != 1000 {
			continue
		}
		if !ok || run.Result.Server == nil {
			add(fmt.Sprintf("%s: peak RSS < %d MiB", cond, fN1000RSSMiB), notRun(run), NotMeasured)
		} else {
			rss := float64(run.Result.Server.PeakRSS) / (1 << 20)
			add(fmt.Sprintf("%s: peak RSS < %d MiB", cond, fN1000RSSMiB), fmt.Sprintf("%.0f MiB", rss)+peersF(res, c.n, "rss"), status(rss < fN1000RSSMiB))
		}
		if !ok {
			add(cond+": nothing lost", notRun(run), NotMeasured)
		} else {
			r := run.Result
			add(cond+": nothing lost", fmt.Sprintf("%s lost, %s refused", thousands(int(r.Lost)), thousands(int(r.SendErrors))), status(r.Lost == 0 && r.SendErrors == 0 && run.Error == ""))
		}
	}

	// Rate sweep: reported side by side, no bound.
	if len(res.Sweeps) == 0 {
		add("rate sweep at N=100: highest R with p99 < 50 ms, Hearth and both peers", "not run", NotMeasured)
	} else {
		var parts []string
		for _, s := range res.Sweeps {
			best := "none"
			if s.Best > 0 {
				best = fmt.Sprintf("%s/s", thousands(int(s.Best)))
			}
			parts = append(parts, name(s.Target)+" "+best)
		}
		add(fmt.Sprintf("rate sweep at N=%d: highest R with p99 < %g ms, Hearth and both peers", res.Sweeps[0].Receivers, res.SweepP99Ms),
			strings.Join(parts, ", "), Reported)
	}

	// Idle connections.
	goal := fmt.Sprintf("%s idle authenticated connections ≤ %d KiB each", thousands(idleConns), idleKiB)
	switch {
	case res.Idle == nil:
		add(goal, "not run", NotMeasured)
	case res.Idle.Result == nil || res.Idle.Result.Idle == nil:
		add(goal, "failed: "+oneLine(res.Idle.Error), NotMeasured)
	default:
		i := res.Idle.Result.Idle
		kib := i.MarginalBytesPerConn / 1024
		m := fmt.Sprintf("%.1f KiB (growth over the second half)", kib)
		if i.Conns < idleConns {
			add(goal, fmt.Sprintf("%s with only %s connections", m, thousands(i.Conns)), NotMeasured)
		} else {
			add(goal, m, status(kib <= idleKiB))
		}
	}

	// Storage.
	goal = fmt.Sprintf("storage: ≥ %s durably acked msgs/s, 64 concurrent senders", thousands(durableAckedPS))
	if b, ok := findGo(res, "/store", "BenchmarkDurableSend"); ok {
		if v, ok := b.Value("acked/s"); ok {
			add(goal, fmt.Sprintf("%s/s (`store` BenchmarkDurableSend)", thousands(int(v))), status(v >= durableAckedPS))
		} else {
			add(goal, "no acked/s reported", NotMeasured)
		}
	} else {
		add(goal, "not run", NotMeasured)
	}
	goal = fmt.Sprintf("storage: 50-message history page in a 1M-message room, p99 < %g ms", float64(historyP99Us)/1000)
	if b, ok := findGo(res, "/store", "BenchmarkHistoryPage"); ok {
		v, has := b.Value("p99-µs")
		switch {
		case !has:
			add(goal, "no p99 reported", NotMeasured)
		case b.run.Short:
			add(goal, fmt.Sprintf("%s with -short (a 100k-message room)", ms(v/1000)), NotMeasured)
		default:
			add(goal, ms(v/1000), status(v < historyP99Us))
		}
	} else {
		add(goal, "not run", NotMeasured)
	}

	// Federation.
	for _, c := range []struct{ bench, config string }{
		{"BenchmarkCrossNodeDelivery/paced/direct/nodes=3/rate=100", "default config"},
		{"BenchmarkCrossNodeDelivery/paced/relayed/nodes=3/rate=100", "relayed hop by hop"},
	} {
		goal := fmt.Sprintf("federation: 3 nodes in a line (%s), 100 msg/s: cross-node p50 < %d ms, p99 < %d ms", c.config, fedP50Ms, fedP99Ms)
		b, ok := findGo(res, "/p2p", c.bench)
		p50, ok50 := b.Value("p50-ms")
		p99, ok99 := b.Value("p99-ms")
		if !ok || !ok50 || !ok99 {
			add(goal, "not run", NotMeasured)
			continue
		}
		add(goal, fmt.Sprintf("p50 %s, p99 %s (%s messages)", ms(p50), ms(p99), thousands(int(b.N))), status(p50 < fedP50Ms && p99 < fedP99Ms))
	}
	for _, c := range []struct {
		missed int
		limit  float64
	}{{1000, catchUp1kMs}, {10000, catchUp10kMs}} {
		goal := fmt.Sprintf("federation: a restarted node catches up %s missed messages in < %g s", thousands(c.missed), c.limit/1000)
		b, ok := findGo(res, "/p2p", fmt.Sprint("BenchmarkCatchUp/missed=", c.missed))
		worst, okMax := b.Value("max-ms")
		mean, okMean := b.Value("catchup-ms")
		if !ok || !okMax || !okMean {
			add(goal, "not run", NotMeasured)
			continue
		}
		add(goal, fmt.Sprintf("slowest of %d: %s (mean %s)", b.N, ms(worst), ms(mean)), status(worst < c.limit))
	}

	// The run itself.
	goal = fmt.Sprintf("`make bench` runs everything in < %d minutes", wholeRunMin)
	switch {
	case res.Seconds == 0:
		add(goal, "not timed", NotMeasured)
	case res.Quick:
		add(goal, fmt.Sprintf("%.1f min for a quick run (BENCH_QUICK=1)", res.Seconds/60), NotMeasured)
	default:
		add(goal, fmt.Sprintf("%.1f min", res.Seconds/60), status(res.Seconds < wholeRunMin*60))
	}
	return ts
}

// findF returns Hearth's (or target's) workload F run at n receivers and
// the rate; ok is false unless it has a result and started.
func findF(res *suite.Results, target string, n int) (suite.Run, bool) {
	for _, run := range res.F {
		if run.Target == target && run.Receivers == n && run.Rate == fRate {
			return run, run.Result != nil && run.Result.Received > 0
		}
	}
	return suite.Run{}, false
}

func notRun(run suite.Run) string {
	if run.Error != "" {
		return "failed: " + oneLine(run.Error)
	}
	return "not run"
}

// peersF is the peers' figure of the same F run, for context:
// " (Socket.io 4.67 ms, Centrifugo 2.78 ms)".
func peersF(res *suite.Results, n int, what string) string {
	var parts []string
	for _, t := range []string{"socketio", "centrifugo"} {
		run, ok := findF(res, t, n)
		if !ok {
			continue
		}
		r := run.Result
		var v string
		switch {
		case what == "p99":
			v = ms(r.Latency.P99)
		case r.Server == nil:
			continue
		case what == "cpu":
			v = thousands(int(r.Server.DeliveriesPerCPUSecond))
		case what == "rss":
			v = fmt.Sprintf("%.0f MiB", float64(r.Server.PeakRSS)/(1<<20))
		}
		parts = append(parts, shortName(t)+" "+v)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func shortName(t string) string {
	switch t {
	case "socketio":
		return "Socket.io"
	case "centrifugo":
		return "Centrifugo"
	}
	return name(t)
}

// targetsTable writes the targets table.
func targetsTable(p *printer, res *suite.Results) {
	p.f("## Targets\n\n")
	p.f("Computed by `make bench` from the figures below (`bench/report/targets.go` holds the bounds); nobody edits the last column. Peers' figures of the same run are in brackets. A target whose conditions this run did not meet is \"not measured\".\n\n")
	p.f("| target | measured | |\n| --- | --- | --- |\n")
	for _, t := range Targets(res) {
		s := string(t.Status)
		if t.Status == Missed {
			s = "**missed**"
		}
		p.f("| %s | %s | %s |\n", t.Goal, t.Measured, s)
	}
	p.f("\n")
}
