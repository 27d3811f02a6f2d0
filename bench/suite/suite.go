// Package suite runs the benchmark suite behind `make bench`: it starts
// each server under test (Hearth, the Socket.io peer, Centrifugo) as a
// child process on a loopback port, drives workload F through package
// bench at several sizes, sweeps the rate to find the highest one each
// server sustains within a latency bound, measures Hearth's memory per
// idle connection, and collects every result for the report.
package suite

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-chat/hearth/bench"
	"github.com/hearth-chat/hearth/bench/gobench"
)

// Config says what to run. Zero fields take the defaults noted.
type Config struct {
	Peers Peers
	// Targets to run (default hearth, socketio, centrifugo; hearth is
	// skipped when Peers.Hearth is empty).
	Targets []string
	// Ns are the receiver counts of workload F (default 100, 1000, 5000).
	Ns []int
	// Rate of workload F (default 200).
	Rate float64
	// Messages per workload F run (default 2000).
	Messages int
	// Size of a message body (default 100).
	Size int
	// SweepN is the receiver count of the rate sweep (default 100; -1
	// skips the sweep).
	SweepN int
	// SweepP99 is the latency bound of the sweep (default 50 ms).
	SweepP99 time.Duration
	// SweepMax caps the swept rate (default 25600).
	SweepMax float64
	// Idle is the number of idle connections for Hearth's memory figure
	// (default 10000; -1 skips it).
	Idle int
	// HearthConnsPerUser is passed to bench for Hearth runs (default 0:
	// bench's choice). Fewer users mean fewer registrations.
	HearthConnsPerUser int
	// DataDir is Hearth's data directory, kept across runs so that the
	// bench users are registered once (default a temp dir).
	DataDir string
	Logger  *slog.Logger
}

// Results is everything one suite run measured.
type Results struct {
	Date    time.Time `json:"date"`
	Machine Machine   `json:"machine"`
	Rate    float64   `json:"rate"`
	// F holds workload F runs in the order run.
	F []Run `json:"f"`
	// Sweeps holds one rate sweep per target.
	Sweeps []Sweep `json:"sweeps"`
	// Idle is Hearth's idle-connection run.
	Idle *Run `json:"idle,omitempty"`
	// SweepP99Ms is the sweep's latency bound.
	SweepP99Ms float64 `json:"sweep_p99_ms"`

	// The fields below are filled in by the caller (hearth-bench-suite),
	// not by RunSuite.

	// Commit is the git commit measured; Dirty says the working tree
	// differed from it, and DirtyFiles how many paths differed.
	Commit     string `json:"commit,omitempty"`
	Dirty      bool   `json:"dirty,omitempty"`
	DirtyFiles int    `json:"dirty_files,omitempty"`
	// Quick marks a shortened run (BENCH_QUICK=1), whose figures are not
	// the targets' conditions.
	Quick bool `json:"quick,omitempty"`
	// Commands are the commands that measured these results, in order.
	Commands []string `json:"commands,omitempty"`
	// Go holds the runs of the Go benchmarks.
	Go []gobench.Run `json:"go,omitempty"`
	// Seconds is the wall time of the whole run up to writing the
	// report (from bench/run.sh's start when it passed it), 0 if unknown.
	Seconds float64 `json:"seconds,omitempty"`
}

// Run is one bench run, or the error that stopped it.
type Run struct {
	Target    string  `json:"target"`
	Receivers int     `json:"receivers"`
	Rate      float64 `json:"rate"`
	// Retry marks a sweep step run again because the first try failed.
	Retry  bool          `json:"retry,omitempty"`
	Result *bench.Result `json:"result,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// Sweep is the rate sweep of one target: every step, and the highest
// rate that passed.
type Sweep struct {
	Target    string  `json:"target"`
	Receivers int     `json:"receivers"`
	Best      float64 `json:"best_rate"`
	BestP99   float64 `json:"best_p99_ms"`
	Steps     []Run   `json:"steps"`
}

// Machine describes where the suite ran.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	OS     string `json:"os"`
	Kernel string `json:"kernel,omitempty"`
	// RAM is MemTotal from /proc/meminfo, in bytes.
	RAM  int64  `json:"ram_bytes,omitempty"`
	Go   string `json:"go"`
	Node string `json:"node,omitempty"`
	// Fsync is the time to write and fsync 4 KiB in Hearth's data
	// directory, when measured.
	Fsync *Fsync `json:"fsync,omitempty"`
}

// Fsync is a small measurement of the disk under Hearth's data: Count
// rounds of a 4 KiB write and fsync of one file.
type Fsync struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func (c *Config) setDefaults() {
	if len(c.Targets) == 0 {
		c.Targets = []string{"hearth", "socketio", "centrifugo"}
	}
	if len(c.Ns) == 0 {
		c.Ns = []int{100, 1000, 5000}
	}
	if c.Rate == 0 {
		c.Rate = 200
	}
	if c.Messages == 0 {
		c.Messages = 2000
	}
	if c.Size == 0 {
		c.Size = 100
	}
	if c.SweepN == 0 {
		c.SweepN = 100
	}
	if c.SweepP99 == 0 {
		c.SweepP99 = 50 * time.Millisecond
	}
	if c.SweepMax == 0 {
		c.SweepMax = 25600
	}
	if c.Idle == 0 {
		c.Idle = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// RunSuite runs the whole suite. A run that fails is recorded with its
// error and the suite goes on; only setup failures are returned.
func RunSuite(ctx context.Context, cfg Config) (*Results, error) {
	cfg.setDefaults()
	if err := cfg.Peers.fill(); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		d, err := os.MkdirTemp("", "hearth-bench-data-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		cfg.DataDir = d
	}
	log := cfg.Logger
	res := &Results{Date: time.Now().UTC(), Machine: Describe(cfg.Peers.Node), Rate: cfg.Rate, SweepP99Ms: float64(cfg.SweepP99) / 1e6}
	if f, err := MeasureFsync(cfg.DataDir, 200); err != nil {
		log.Warn("measuring fsync", "err", err)
	} else {
		res.Machine.Fsync = f
	}
	var targets []string
	for _, t := range cfg.Targets {
		if t == "hearth" && cfg.Peers.Hearth == "" {
			log.Warn("skipping hearth: no binary")
			continue
		}
		targets = append(targets, t)
	}

	if contains(targets, "hearth") {
		cfg.primeHearth(ctx)
	}
	for _, t := range targets {
		for _, n := range cfg.Ns {
			run := cfg.one(ctx, t, n, cfg.Rate, cfg.Messages)
			res.F = append(res.F, run)
		}
	}
	if cfg.SweepN > 0 {
		for _, t := range targets {
			res.Sweeps = append(res.Sweeps, cfg.sweep(ctx, t))
		}
	}
	if cfg.Idle > 0 && cfg.Peers.Hearth != "" && contains(targets, "hearth") {
		run := cfg.idle(ctx)
		res.Idle = &run
	}
	return res, ctx.Err()
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// one starts a fresh server of target, runs workload F once against it
// and stops it.
func (c *Config) one(ctx context.Context, target string, n int, rate float64, messages int) Run {
	run := Run{Target: target, Receivers: n, Rate: rate}
	c.Logger.Info("run", "target", target, "receivers", n, "rate", rate, "messages", messages)
	srv, err := c.Peers.Start(ctx, target, c.DataDir)
	if err != nil {
		run.Error = err.Error()
		c.Logger.Error("start server", "target", target, "err", err)
		return run
	}
	r, err := bench.Run(ctx, bench.Config{
		URLs: []string{srv.URL}, Target: target, Receivers: n, Rate: rate,
		Messages: messages, Size: c.Size, PID: srv.PID(),
		ConnsPerUser: c.connsPerUser(target, n), Logger: c.Logger,
	})
	if stopErr := srv.Stop(); stopErr != nil && err == nil {
		// A server that died during the run invalidates it.
		err = stopErr
	}
	if err != nil {
		run.Error = err.Error()
		c.Logger.Error("run failed", "target", target, "receivers", n, "rate", rate, "err", err)
	}
	settle()
	run.Result = r
	if r != nil {
		c.Logger.Info("result", "target", target, "receivers", n, "rate", rate,
			"p50_ms", r.Latency.P50, "p99_ms", r.Latency.P99, "lost", r.Lost, "refused", r.SendErrors)
	}
	return run
}

func (c *Config) connsPerUser(target string, n int) int {
	if target != "hearth" {
		return 0
	}
	return c.HearthConnsPerUser
}

// primeHearth registers the bench users on the data directory with a
// tiny unmeasured run, so that no measured run pays for registration
// (slow password hashing) in the node it measures.
func (c *Config) primeHearth(ctx context.Context) {
	c.Logger.Info("registering the Hearth bench users")
	srv, err := c.Peers.Start(ctx, "hearth", c.DataDir)
	if err != nil {
		c.Logger.Error("start hearth", "err", err)
		return
	}
	_, err = bench.Run(ctx, bench.Config{
		URLs: []string{srv.URL}, Target: "hearth", Receivers: 50, ConnsPerUser: 1,
		Messages: 10, Rate: 100, Warmup: 10 * time.Millisecond, Drain: time.Second, Logger: c.Logger,
	})
	if err != nil {
		c.Logger.Error("registering the Hearth bench users", "err", err)
	}
	srv.Stop()
	settle()
}

// settle lets the machine calm down between runs: the previous server's
// memory is being returned and the tool's own garbage collected, which
// would otherwise land in the next run's first second.
func settle() {
	runtime.GC()
	time.Sleep(time.Second)
}

// sweep finds the highest rate at which target, with SweepN receivers,
// keeps p99 under SweepP99 with nothing lost or refused: it doubles the
// rate from the workload's rate until a step fails, then bisects between
// the last pass and the first failure three times (to a multiple of 25).
func (c *Config) sweep(ctx context.Context, target string) Sweep {
	sw := Sweep{Target: target, Receivers: c.SweepN}
	bound := float64(c.SweepP99) / 1e6
	// A step that fails is run once more before it counts: one stall of a
	// few hundred milliseconds (a GC, the JIT warming up, the machine)
	// is enough to push p99 over the bound of a 10 s run.
	broken := false // the server could not be started or run at all
	step := func(rate float64) bool {
		for try := 0; try < 2 && !broken; try++ {
			run := c.one(ctx, target, c.SweepN, rate, sweepMessages(rate, c.Messages))
			run.Retry = try > 0
			sw.Steps = append(sw.Steps, run)
			r := run.Result
			if r == nil {
				broken = true
				break
			}
			if run.Error == "" && r != nil && r.Lost == 0 && r.SendErrors == 0 && r.Latency.P99 < bound {
				if rate > sw.Best {
					sw.Best, sw.BestP99 = rate, r.Latency.P99
				}
				return true
			}
			if ctx.Err() != nil {
				break
			}
		}
		return false
	}
	lo, hi := 0.0, 0.0
	for rate := c.Rate; rate <= c.SweepMax && ctx.Err() == nil; rate *= 2 {
		if !step(rate) {
			hi = rate
			break
		}
		lo = rate
	}
	if hi == 0 { // never failed up to the cap
		return sw
	}
	// If the first rate failed, lo is 0 and the bisection searches below it.
	for range 3 {
		mid := float64(int((lo+hi)/2/25) * 25)
		if mid <= lo || mid >= hi || broken || ctx.Err() != nil {
			break
		}
		if step(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return sw
}

// sweepMessages is the workload's count, but at most 10 s and at least
// 5 s worth at the rate, and at most 64000.
func sweepMessages(rate float64, base int) int {
	return min(max(int(rate*5), min(base, int(rate*10))), 64000)
}

// idle measures Hearth's RSS per idle authenticated connection.
func (c *Config) idle(ctx context.Context) Run {
	run := Run{Target: "hearth", Receivers: c.Idle}
	c.Logger.Info("idle run", "conns", c.Idle)
	// A node of its own: on the shared directory the node would start
	// with whatever the sweeps left (tens of thousands of messages,
	// memtables to replay), and that, not the connections, would move
	// its memory while they open.
	dir, err := os.MkdirTemp("", "hearth-bench-idle-")
	if err != nil {
		run.Error = err.Error()
		return run
	}
	defer os.RemoveAll(dir)
	srv, err := c.Peers.Start(ctx, "hearth", dir)
	if err != nil {
		run.Error = err.Error()
		return run
	}
	r, err := bench.Run(ctx, bench.Config{
		URLs: []string{srv.URL}, Target: "hearth", Idle: c.Idle, PID: srv.PID(),
		ConnsPerUser: c.HearthConnsPerUser, Warmup: 2 * time.Second, DialConcurrency: 32, Logger: c.Logger,
	})
	if stopErr := srv.Stop(); stopErr != nil && err == nil {
		err = stopErr
	}
	if err != nil {
		run.Error = err.Error()
		c.Logger.Error("idle run failed", "err", err)
	}
	run.Result = r
	return run
}

// Describe describes this machine: CPU, cores, RAM, kernel, the Go
// version the suite was built with and the version of nodeBin (Node.js).
// What it cannot read stays empty.
func Describe(nodeBin string) Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseInt(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 10, 64); err == nil {
		m.RAM = kb << 10
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if nodeBin != "" {
		if out, err := exec.Command(nodeBin, "--version").Output(); err == nil {
			m.Node = strings.TrimSpace(string(out))
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc
// file whose key is key.
func procField(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// MeasureFsync writes and fsyncs 4 KiB rounds times to a file in dir
// (then removes it) and returns the latency distribution: Hearth
// acknowledges a message only after an fsync, so this is a floor under
// its latencies on this disk.
func MeasureFsync(dir string, rounds int) (*Fsync, error) {
	if rounds < 1 {
		return nil, fmt.Errorf("measure fsync: %d rounds", rounds)
	}
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	lat := make([]time.Duration, 0, rounds)
	for i := range rounds {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i)*int64(len(buf))); err != nil {
			return nil, err
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	msOf := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return &Fsync{
		Count: rounds,
		P50Ms: msOf(lat[len(lat)/2]),
		P99Ms: msOf(lat[min(len(lat)-1, len(lat)*99/100)]),
		MaxMs: msOf(lat[len(lat)-1]),
	}, nil
}

// String is a one-line description of a run for logs.
func (r Run) String() string {
	if r.Error != "" {
		return fmt.Sprintf("%s N=%d R=%g: %s", r.Target, r.Receivers, r.Rate, r.Error)
	}
	return fmt.Sprintf("%s N=%d R=%g: p99 %.1f ms", r.Target, r.Receivers, r.Rate, r.Result.Latency.P99)
}
