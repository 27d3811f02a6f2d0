// Package report turns the suite's results into the markdown section and
// the SVG chart of docs/benchmarks.md. The chart is drawn by hand (a few
// lines, two panels) so the report needs no plotting dependency.
package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/hearth-chat/hearth/bench/suite"
)

// names are the display names of the targets.
var names = map[string]string{
	"hearth":     "Hearth",
	"socketio":   "Socket.io 4 (Node.js)",
	"centrifugo": "Centrifugo v6",
}

// colors are the targets' line colours (colour-blind safe).
var colors = map[string]string{
	"hearth":     "#d55e00",
	"socketio":   "#0072b2",
	"centrifugo": "#009e73",
}

func name(t string) string {
	if n, ok := names[t]; ok {
		return n
	}
	return t
}

// Markdown writes the benchmark section for res; chart is the SVG's path
// relative to the markdown file ("" for none).
func Markdown(w io.Writer, res *suite.Results, chart string) error {
	p := &printer{w: w}
	m := res.Machine
	p.f("## Benchmarks\n\n")
	p.f("Measured by `make bench` (`bench/run.sh`) on %s: %d cores (%s), %s, %s; Node.js %s. ",
		res.Date.Format("2006-01-02"), m.Cores, m.CPU, m.OS, m.Go, orDash(m.Node))
	p.f("The load tool runs on the same machine and shares the CPU with the server; every server is a fresh process per run, on loopback.")
	if l := maxLoad(res); l > float64(m.Cores)+1 {
		p.f(" **The machine was busy with other work during some runs** (1-minute load average up to %.1f on %d cores, against about 2 for a server and the tool alone): treat these figures as rough.", l, m.Cores)
	}
	p.f("\n\n")

	p.f("### Workload F: fan-out in one room\n\n")
	p.f("N receivers in one room on one server, one sender at R = %g messages/s, %s messages of ~%d bytes. ",
		res.Rate, thousands(msgCount(res)), msgSize(res))
	p.f("Latency runs from the moment a message was due to be sent (the body carries it, so a sender that falls behind schedule is counted) to its receipt, over every delivery. ")
	p.f("Lost is deliveries still missing 5 s after the last message was due. ")
	p.f("Server CPU and peak RSS come from `/proc/PID` over the run.\n\n")
	p.f("| server | N | p50 | p99 | max | deliveries/s | deliveries per server CPU-s | peak RSS | lost |\n")
	p.f("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	var notes []string
	for _, run := range res.F {
		r := run.Result
		if run.Error != "" && r == nil {
			p.f("| %s | %s | failed: %s | | | | | | |\n", name(run.Target), thousands(run.Receivers), oneLine(run.Error))
			continue
		}
		cpu, rss := "–", "–"
		if r.Server != nil {
			cpu = thousands(int(math.Round(r.Server.DeliveriesPerCPUSecond)))
			rss = fmt.Sprintf("%.0f MiB", float64(r.Server.PeakRSS)/(1<<20))
		}
		lost := thousands(int(r.Lost))
		if r.Lost > 0 {
			lost = fmt.Sprintf("%s (%.1f%%)", lost, 100*float64(r.Lost)/float64(max(r.Expected, 1)))
		}
		if run.Error != "" {
			notes = append(notes, fmt.Sprintf("%s at N = %s: %s", name(run.Target), thousands(run.Receivers), oneLine(run.Error)))
			lost += fmt.Sprintf(" [%d]", len(notes))
		}
		p.f("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name(run.Target), thousands(run.Receivers),
			ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max), thousands(int(math.Round(r.DeliveriesPerSec))), cpu, rss, lost)
	}
	p.f("\n")
	for i, n := range notes {
		p.f("[%d] %s\n", i+1, n)
	}
	if len(notes) > 0 {
		p.f("\n")
	}
	if chart != "" {
		p.f("![Workload F: p50 and p99 latency, and deliveries per server CPU-second, against N](%s)\n\n", chart)
	}
	if note := toolNote(res); note != "" {
		p.f("%s\n\n", note)
	}

	if len(res.Sweeps) > 0 {
		p.f("### Rate sweep\n\n")
		p.f("The highest R at which a server keeps p99 under %g ms with nothing lost or refused, N = %d: the rate doubles from %g until a step fails, then bisects three times; a step that fails is run once more before it counts. Each step is a fresh server and 5 to 10 s of messages (2,000 where that fits).\n\n",
			res.SweepP99Ms, res.Sweeps[0].Receivers, res.Rate)
		p.f("| server | highest R | p99 there | deliveries/s there | steps (R → p99, lost) |\n")
		p.f("| --- | ---: | ---: | ---: | --- |\n")
		for _, s := range res.Sweeps {
			steps := append([]suite.Run(nil), s.Steps...)
			sort.SliceStable(steps, func(i, j int) bool { return steps[i].Rate < steps[j].Rate })
			var parts []string
			var bestDPS float64
			for _, st := range steps {
				if st.Result == nil {
					parts = append(parts, fmt.Sprintf("%g → failed", st.Rate))
					continue
				}
				again := ""
				if st.Retry {
					again = " (again)"
				}
				parts = append(parts, fmt.Sprintf("%g%s → %s, %s", st.Rate, again, ms(st.Result.Latency.P99), thousands(int(st.Result.Lost))))
				if st.Rate == s.Best {
					bestDPS = st.Result.DeliveriesPerSec
				}
			}
			best, p99, dps := "none", "–", "–"
			if s.Best > 0 {
				best, p99, dps = fmt.Sprintf("%g/s", s.Best), ms(s.BestP99), thousands(int(math.Round(bestDPS)))
			}
			p.f("| %s | %s | %s | %s | %s |\n", name(s.Target), best, p99, dps, strings.Join(parts, "; "))
		}
		p.f("\n")
	}

	if res.Idle != nil {
		p.f("### Idle connections (Hearth)\n\n")
		if r := res.Idle.Result; r != nil && r.Idle != nil {
			i := r.Idle
			p.f("%s idle authenticated WebSocket connections (%d users, %d connections each) take the node's RSS from %.0f MiB to %.0f MiB with half of them open and %.0f MiB with all: **%.1f KiB per connection** (the second half's growth; %.1f KiB over all, which is lower because the first connections reuse memory the node had freed after sign-in's password hashing). The load tool itself: %.1f KiB per connection. Opening them took %.1f s.\n\n",
				thousands(i.Conns), i.Users, r.ConnsPerUser, float64(i.RSSBefore)/(1<<20), float64(i.RSSHalf)/(1<<20), float64(i.RSSAfter)/(1<<20),
				i.MarginalBytesPerConn/1024, i.BytesPerConn/1024, i.ToolBytesPerConn/1024, i.DialSeconds)
		} else {
			p.f("Failed: %s\n\n", oneLine(res.Idle.Error))
		}
	}
	p.f("Reproduce one run: `hearth bench --target hearth|socketio|centrifugo --url http://127.0.0.1:PORT --receivers N --rate R --pid PID` (see `bench/README.md`).\n")
	return p.err
}

// toolNote says how much CPU the load tool took, to read the figures by.
func toolNote(res *suite.Results) string {
	var parts []string
	for _, run := range res.F {
		r := run.Result
		if r == nil || r.Received == 0 || r.ToolCPUSeconds == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%.1f µs", r.ToolCPUSeconds*1e6/float64(r.Received)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "The load tool spent " + strings.Join(parts, ", ") + " of CPU per delivery in these runs (in table order): at large N it competes with the server for the two cores, so those rows are a ceiling of the pair, not of the server alone."
}

// maxLoad is the highest load average any run started with.
func maxLoad(res *suite.Results) float64 {
	var l float64
	add := func(r *suite.Run) {
		if r != nil && r.Result != nil {
			l = max(l, r.Result.LoadAvg)
		}
	}
	for i := range res.F {
		add(&res.F[i])
	}
	for _, s := range res.Sweeps {
		for i := range s.Steps {
			add(&s.Steps[i])
		}
	}
	add(res.Idle)
	return l
}

func msgCount(res *suite.Results) int {
	for _, r := range res.F {
		if r.Result != nil {
			return r.Result.Messages
		}
	}
	return 0
}

func msgSize(res *suite.Results) int {
	for _, r := range res.F {
		if r.Result != nil {
			return r.Result.Size
		}
	}
	return 0
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func ms(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 1000:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f s", v/1000)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// series is one target's points for the chart.
type series struct {
	target string
	n      []float64
	p50    []float64
	p99    []float64
	perCPU []float64
}

func collect(res *suite.Results) []series {
	var out []series
	idx := map[string]int{}
	for _, run := range res.F {
		r := run.Result
		if r == nil || r.Received == 0 {
			continue
		}
		i, ok := idx[run.Target]
		if !ok {
			i = len(out)
			idx[run.Target] = i
			out = append(out, series{target: run.Target})
		}
		s := &out[i]
		s.n = append(s.n, float64(run.Receivers))
		s.p50 = append(s.p50, max(r.Latency.P50, 0.01))
		s.p99 = append(s.p99, max(r.Latency.P99, 0.01))
		per := math.NaN()
		if r.Server != nil {
			per = r.Server.DeliveriesPerCPUSecond
		}
		s.perCPU = append(s.perCPU, per)
	}
	return out
}

// Chart writes an SVG with two panels against N (log scale): p50 (dashed)
// and p99 (solid) latency on a log scale, and deliveries per server
// CPU-second.
func Chart(w io.Writer, res *suite.Results) error {
	ss := collect(res)
	const (
		W, H          = 900, 390
		panelW        = 360
		top, bottom   = 40, 290
		left1, left2  = 80, 520
		legendY       = 352
		font          = `font-family="sans-serif" font-size="12"`
		gridColor     = "#ddd"
		axisTextColor = "#333"
	)
	p := &printer{w: w}
	p.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", W, H, W, H)
	p.f(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")

	var nmin, nmax = math.Inf(1), math.Inf(-1)
	var lmin, lmax = math.Inf(1), math.Inf(-1)
	var cmax float64
	for _, s := range ss {
		for i := range s.n {
			nmin, nmax = math.Min(nmin, s.n[i]), math.Max(nmax, s.n[i])
			lmin, lmax = math.Min(lmin, s.p50[i]), math.Max(lmax, s.p99[i])
			if !math.IsNaN(s.perCPU[i]) {
				cmax = math.Max(cmax, s.perCPU[i])
			}
		}
	}
	if len(ss) == 0 {
		nmin, nmax, lmin, lmax = 100, 1000, 1, 100
	}
	if nmin == nmax {
		nmin, nmax = nmin/2, nmax*2
	}
	// Log axes span whole decades (latency) or the data (N, with margin).
	lx0, lx1 := math.Log10(nmin)-0.1, math.Log10(nmax)+0.1
	ly0, ly1 := math.Floor(math.Log10(lmin)), math.Ceil(math.Log10(lmax))
	if ly1 <= ly0 {
		ly1 = ly0 + 1
	}
	cTop := niceCeil(cmax)
	x := func(left int, n float64) float64 {
		return float64(left) + (math.Log10(n)-lx0)/(lx1-lx0)*panelW
	}
	yLat := func(v float64) float64 {
		return bottom - (math.Log10(v)-ly0)/(ly1-ly0)*(bottom-top)
	}
	yCPU := func(v float64) float64 {
		return bottom - v/cTop*(bottom-top)
	}

	// Titles and axes.
	p.f(`<text x="%d" y="24" %s font-weight="bold">Latency, due → received (log scale): p99 solid, p50 dashed</text>`+"\n", left1, font)
	p.f(`<text x="%d" y="24" %s font-weight="bold">Deliveries per server CPU-second</text>`+"\n", left2, font)
	for _, left := range []int{left1, left2} {
		p.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`+"\n", left, bottom, left+panelW, bottom)
		p.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`+"\n", left, top, left, bottom)
		for _, n := range xTicks(res) {
			xx := x(left, n)
			p.f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", xx, top, xx, bottom, gridColor)
			p.f(`<text x="%.1f" y="%d" %s fill="%s" text-anchor="middle">%s</text>`+"\n", xx, bottom+16, font, axisTextColor, thousands(int(n)))
		}
		p.f(`<text x="%d" y="%d" %s fill="%s" text-anchor="middle">receivers N (log scale)</text>`+"\n", left+panelW/2, bottom+34, font, axisTextColor)
	}
	for e := ly0; e <= ly1; e++ {
		v := math.Pow(10, e)
		yy := yLat(v)
		p.f(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", left1, yy, left1+panelW, yy, gridColor)
		p.f(`<text x="%d" y="%.1f" %s fill="%s" text-anchor="end">%s</text>`+"\n", left1-6, yy+4, font, axisTextColor, msTick(v))
	}
	for i := 0; i <= 4; i++ {
		v := cTop * float64(i) / 4
		yy := yCPU(v)
		p.f(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", left2, yy, left2+panelW, yy, gridColor)
		p.f(`<text x="%d" y="%.1f" %s fill="%s" text-anchor="end">%s</text>`+"\n", left2-6, yy+4, font, axisTextColor, short(v))
	}

	// Lines.
	for _, s := range ss {
		c := colors[s.target]
		if c == "" {
			c = "#555"
		}
		line(p, c, "", s.n, s.p99, func(n float64) float64 { return x(left1, n) }, yLat)
		line(p, c, `stroke-dasharray="5,4"`, s.n, s.p50, func(n float64) float64 { return x(left1, n) }, yLat)
		line(p, c, "", s.n, s.perCPU, func(n float64) float64 { return x(left2, n) }, yCPU)
	}
	// Legend.
	lx := left1
	for _, s := range ss {
		c := colors[s.target]
		p.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", lx, legendY, lx+24, legendY, c)
		p.f(`<text x="%d" y="%d" %s>%s</text>`+"\n", lx+30, legendY+4, font, name(s.target))
		lx += 60 + 8*len(name(s.target))
	}
	p.f(`<text x="%d" y="%d" %s fill="#666">workload F, R = %g/s, %d cores shared with the load tool</text>`+"\n", left1, legendY+26, font, res.Rate, res.Machine.Cores)
	p.f("</svg>\n")
	return p.err
}

func line(p *printer, color, extra string, xs, ys []float64, fx, fy func(float64) float64) {
	var pts []string
	for i := range xs {
		if math.IsNaN(ys[i]) {
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", fx(xs[i]), fy(ys[i])))
	}
	if len(pts) == 0 {
		return
	}
	p.f(`<polyline fill="none" stroke="%s" stroke-width="2" %s points="%s"/>`+"\n", color, extra, strings.Join(pts, " "))
	for _, pt := range pts {
		xy := strings.Split(pt, ",")
		p.f(`<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], color)
	}
}

func xTicks(res *suite.Results) []float64 {
	seen := map[int]bool{}
	var out []float64
	for _, r := range res.F {
		if !seen[r.Receivers] {
			seen[r.Receivers] = true
			out = append(out, float64(r.Receivers))
		}
	}
	sort.Float64s(out)
	return out
}

func msTick(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%g ms", v)
	case v < 1000:
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.0f s", v/1000)
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}
