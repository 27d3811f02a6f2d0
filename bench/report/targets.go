package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/hearth-chat/hearth/bench"
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
	fRate           = 200
	fN100P99SlackMs = 0.5
	fN1000CPUFactor = 1.2
	fN1000RSSMiB    = 150
	fBigN           = 10_000
	fBigRate        = 20
	fBigP99Ms       = 250
	jSlackBytes     = 8
	cP99Ms          = 50
	idleConns       = 10_000
	idleKiB         = 32
	durableAckedPS  = 50_000
	historyP99Us    = 2000
	fedP50Ms        = 5
	fedP99Ms        = 20
	catchUp1kMs     = 2000
	catchUp10kMs    = 10_000
	wholeRunMin     = 20
)

// Targets compares res with the targets of the benchmark issue. A target
// whose conditions this run did not meet (a smaller room, fewer
// connections, a quick run) is "not measured", with what was measured.
//
// Long (over 80 lines) because it is the list of targets, one block
// each.
func Targets(res *suite.Results) []Target {
	var ts []Target
	add := func(goal, measured string, s Status) { ts = append(ts, Target{goal, measured, s}) }
	status := func(ok bool) Status {
		if ok {
			return Met
		}
		return Missed
	}

	// Workload F, one user per connection, against Centrifugo of the
	// same run.
	cf := func(n int) (*bench.Result, bool) {
		run, ok := findF(res, "centrifugo", n)
		return run.Result, ok
	}
	for _, n := range []int{100, 1000} {
		cond := fmt.Sprintf("F, N=%s, R=%d", thousands(n), fRate)
		p99Goal := fmt.Sprintf("%s: p99 ≤ Centrifugo's + %g ms", cond, fN100P99SlackMs)
		cpuGoal := fmt.Sprintf("%s: deliveries per server CPU-s ≥ Centrifugo's", cond)
		cpuFactor := 1.0
		if n == 1000 {
			p99Goal = cond + ": p99 ≤ Centrifugo's"
			cpuGoal = fmt.Sprintf("%s: deliveries per server CPU-s ≥ %g × Centrifugo's", cond, fN1000CPUFactor)
			cpuFactor = fN1000CPUFactor
		}
		run, ok := findF(res, "hearth", n)
		c, cok := cf(n)
		switch {
		case !ok:
			add(p99Goal, notRun(run), NotMeasured)
			add(cpuGoal, notRun(run), NotMeasured)
		case !cok:
			add(p99Goal, ms(run.Result.Latency.P99)+" (no Centrifugo run)", NotMeasured)
			add(cpuGoal, "no Centrifugo run", NotMeasured)
		default:
			r := run.Result
			bound := c.Latency.P99
			if n == 100 {
				bound += fN100P99SlackMs
			}
			add(p99Goal, ms(r.Latency.P99)+peersF(res, n, "p99"), status(r.Latency.P99 <= bound))
			if r.Server == nil || c.Server == nil {
				add(cpuGoal, "no server CPU figure", NotMeasured)
			} else {
				add(cpuGoal, thousands(int(r.Server.DeliveriesPerCPUSecond))+peersF(res, n, "cpu"),
					status(r.Server.DeliveriesPerCPUSecond >= cpuFactor*c.Server.DeliveriesPerCPUSecond))
			}
		}
		if n != 1000 {
			continue
		}
		if !ok || run.Result.Server == nil {
			add(fmt.Sprintf("%s: peak RSS < %d MiB", cond, fN1000RSSMiB), notRun(run), NotMeasured)
		} else {
			rss := float64(run.Result.Server.PeakRSS) / (1 << 20)
			add(fmt.Sprintf("%s: peak RSS < %d MiB", cond, fN1000RSSMiB), fmt.Sprintf("%.0f MiB", rss)+peersF(res, n, "rss"), status(rss < fN1000RSSMiB))
		}
		if !ok {
			add(cond+": nothing lost", notRun(run), NotMeasured)
		} else {
			r := run.Result
			add(cond+": nothing lost", fmt.Sprintf("%s lost, %s refused", thousands(int(r.Lost)), thousands(int(r.SendErrors))), status(r.Lost == 0 && r.SendErrors == 0 && run.Error == ""))
		}
	}

	// F at 10,000 users.
	cond := fmt.Sprintf("F, N=%s users, R=%d", thousands(fBigN), fBigRate)
	goal := fmt.Sprintf("%s: connects, nothing lost, p99 < %d ms, peak RSS < 1 GiB", cond, fBigP99Ms)
	if run, ok := findFAtRate(res, "hearth", fBigN, fBigRate); !ok {
		add(goal, notRun(run), NotMeasured)
	} else {
		r := run.Result
		rss := float64(0)
		if r.Server != nil {
			rss = float64(r.Server.PeakRSS) / (1 << 20)
		}
		add(goal, fmt.Sprintf("%s lost, p99 %s, peak RSS %.0f MiB", thousands(int(r.Lost)), ms(r.Latency.P99), rss),
			status(run.Error == "" && r.Lost == 0 && r.Latency.P99 < fBigP99Ms && rss > 0 && rss < 1024))
	}

	// Workload J.
	goal = "J: state bytes sent to each existing member per join independent of room size (100, 1,000, 10,000 members)"
	switch {
	case res.Joins == nil || len(res.Joins.Steps) == 0:
		add(goal, orDefault(oneLine(res.JoinsError), "not run"), NotMeasured)
	default:
		var parts []string
		lo, hi := math.Inf(1), 0.0
		for _, s := range res.Joins.Steps {
			parts = append(parts, fmt.Sprintf("%s B at %s", num(s.StateBytesPerJoin), thousands(s.Members)))
			lo, hi = min(lo, s.StateBytesPerJoin), max(hi, s.StateBytesPerJoin)
		}
		last := res.Joins.Steps[len(res.Joins.Steps)-1].Members
		m := strings.Join(parts, ", ")
		if last < 10000 {
			add(goal, m+" (not up to 10,000)", NotMeasured)
		} else {
			// Independent: within a few bytes (the count's digits).
			add(goal, m, status(hi-lo <= jSlackBytes))
		}
	}

	// Workload C.
	goal = fmt.Sprintf("C: p99 < %d ms (peak RSS and CPU per delivery reported)", cP99Ms)
	switch c := res.Community; {
	case c == nil:
		add(goal, orDefault(oneLine(res.CommunityError), "not run"), NotMeasured)
	default:
		m := fmt.Sprintf("p99 %s, %s lost", ms(c.Latency.P99), thousands(int(c.Lost)))
		if c.Server != nil {
			m += fmt.Sprintf(", %.1f µs CPU per delivery, peak RSS %.0f MiB", c.CPUMicrosPerDelivery, float64(c.Server.PeakRSS)/(1<<20))
		}
		if c.Users < 5000 {
			add(goal, m+fmt.Sprintf(" with only %s users", thousands(c.Users)), NotMeasured)
		} else {
			add(goal, m, status(c.Latency.P99 < cP99Ms && c.Lost == 0))
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
	goal = fmt.Sprintf("%s idle authenticated connections ≤ %d KiB each", thousands(idleConns), idleKiB)
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
	return findFAtRate(res, target, n, fRate)
}

// findFAtRate is findF at another rate. Only one-user-per-connection runs
// count (not the many-tabs one).
func findFAtRate(res *suite.Results, target string, n int, rate float64) (suite.Run, bool) {
	for _, run := range res.F {
		if run.Target == target && run.Receivers == n && run.Rate == rate && run.ConnsPerUser <= 1 {
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
