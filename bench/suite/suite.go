// Package suite runs the benchmark suite behind `make bench`: it starts
// each server under test (Hearth, the Socket.io peer, Centrifugo) as a
// child process on a loopback port, drives workload F through package
// bench at several sizes, sweeps the rate to find the highest one each
// server sustains within a latency bound, measures Hearth's memory per
// idle connection, and collects every result for the report.
package suite

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
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
	// HearthConnsPerUser is passed to bench for Hearth runs (default 1:
	// one user per connection).
	HearthConnsPerUser int
	// ManyTabs, when positive, adds a labelled Hearth run of workload F
	// at N=1000 with this many connections per user (default 20; -1
	// skips it): the shape of one person with many tabs.
	ManyTabs int
	// BigN and BigRate are an extra workload F run of every target
	// (default N=10000 at R=20, BigMessages messages, default 400; BigN
	// -1 skips it).
	BigN        int
	BigRate     float64
	BigMessages int
	// JSizes are workload J's room sizes (default 100, 1000, 10000; nil
	// after -1 skips J).
	JSizes []int
	SkipJ  bool
	// Community is workload C's configuration (zero fields: bench's
	// defaults); SkipC skips it.
	Community bench.CommunityConfig
	SkipC     bool
	// Users is how many Hearth users the accounts cache holds (default:
	// what the largest run needs).
	Users int
	// CacheDir keeps the signed-up Hearth users between suite runs
	// (default Peers.Root/.cache).
	CacheDir string
	// DataDir is unused: every Hearth run gets a fresh copy of the
	// accounts' data directory.
	DataDir string
	Logger  *slog.Logger

	accounts bench.Accounts // set by RunSuite
	template string         // the accounts' data directory
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
	// Joins is workload J; Community workload C (Hearth only).
	Joins          *bench.JoinsResult     `json:"joins,omitempty"`
	JoinsError     string                 `json:"joins_error,omitempty"`
	Community      *bench.CommunityResult `json:"community,omitempty"`
	CommunityError string                 `json:"community_error,omitempty"`
	// CommunityProfile is the node's CPU profile over workload C's
	// posting, when the suite was asked for profiles.
	CommunityProfile string `json:"community_profile,omitempty"`
	// Accounts says how the Hearth users were signed up.
	Accounts *AccountsInfo `json:"accounts,omitempty"`
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
	// ConnsPerUser is more than 1 for the many-tabs shape (Hearth).
	ConnsPerUser int `json:"conns_per_user,omitempty"`
	// Retry marks a sweep step run again because the first try failed.
	Retry  bool          `json:"retry,omitempty"`
	Result *bench.Result `json:"result,omitempty"`
	Error  string        `json:"error,omitempty"`
	// Profile is the node's CPU profile over the sending, when the suite
	// was asked for profiles; its heap profile is beside it, "-heap" added
	// to the name.
	Profile string `json:"profile,omitempty"`
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

// Defaults is the suite a zero Config describes: setDefaults fills zero
// fields from it and hearth-bench-suite's flags show it, so each default
// is written once. Community's zero fields take bench's defaults.
func Defaults() Config {
	return Config{
		Targets: []string{"hearth", "socketio", "centrifugo"},
		Ns:      []int{100, 1000, 5000}, Rate: 200, Messages: 2000, Size: 100,
		SweepN: 100, SweepP99: 50 * time.Millisecond, SweepMax: 25600,
		Idle: 10000, HearthConnsPerUser: 1, ManyTabs: 20,
		BigN: 10000, BigRate: 20, BigMessages: 400,
		JSizes: []int{100, 1000, 10000},
	}
}

func (c *Config) setDefaults() {
	d := Defaults()
	if len(c.Targets) == 0 {
		c.Targets = d.Targets
	}
	if len(c.Ns) == 0 {
		c.Ns = d.Ns
	}
	c.Rate = cmp.Or(c.Rate, d.Rate)
	c.Messages = cmp.Or(c.Messages, d.Messages)
	c.Size = cmp.Or(c.Size, d.Size)
	c.SweepN = cmp.Or(c.SweepN, d.SweepN)
	c.SweepP99 = cmp.Or(c.SweepP99, d.SweepP99)
	c.SweepMax = cmp.Or(c.SweepMax, d.SweepMax)
	c.Idle = cmp.Or(c.Idle, d.Idle)
	c.ManyTabs = cmp.Or(c.ManyTabs, d.ManyTabs)
	c.BigN = cmp.Or(c.BigN, d.BigN)
	c.BigRate = cmp.Or(c.BigRate, d.BigRate)
	c.BigMessages = cmp.Or(c.BigMessages, d.BigMessages)
	if len(c.JSizes) == 0 {
		c.JSizes = d.JSizes
	}
	c.HearthConnsPerUser = cmp.Or(c.HearthConnsPerUser, d.HearthConnsPerUser)
	if c.Users == 0 {
		need := max(c.Idle, c.BigN, slices.Max(c.Ns), c.SweepN)
		if !c.SkipJ {
			need = max(need, slices.Max(c.JSizes)+50)
		}
		if !c.SkipC {
			need = max(need, c.Community.Users)
			if c.Community.Users == 0 {
				need = max(need, bench.DefaultCommunity().Users)
			}
		}
		c.Users = need + 50
	}
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(c.Peers.Root, ".cache")
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
		acc, info, err := cfg.hearthAccounts(ctx)
		if err != nil {
			return nil, err
		}
		cfg.accounts, cfg.template, res.Accounts = acc, filepath.Join(info.Dir, "data"), info
	}
	for _, t := range targets {
		for _, n := range cfg.Ns {
			res.F = append(res.F, cfg.one(ctx, t, n, cfg.Rate, cfg.Messages, 0))
		}
		if cfg.BigN > 0 {
			res.F = append(res.F, cfg.one(ctx, t, cfg.BigN, cfg.BigRate, cfg.BigMessages, 0))
		}
		if t == "hearth" && cfg.ManyTabs > 1 {
			res.F = append(res.F, cfg.one(ctx, t, 1000, cfg.Rate, cfg.Messages, cfg.ManyTabs))
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
	if contains(targets, "hearth") && !cfg.SkipJ {
		res.Joins, res.JoinsError = cfg.joins(ctx)
	}
	if contains(targets, "hearth") && !cfg.SkipC {
		res.Community, res.CommunityProfile, res.CommunityError = cfg.community(ctx)
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

// stopper is a started server.
type stopper interface {
	Stop() error
	PID() int
}

// start starts a fresh server of target: Hearth on a copy of the
// accounts' data directory.
func (c *Config) start(ctx context.Context, target string) (stopper, string, error) {
	if target == "hearth" {
		srv, err := c.startHearth(ctx, c.template)
		if err != nil {
			return nil, "", err
		}
		return srv, srv.URL, nil
	}
	srv, err := c.Peers.Start(ctx, target, "")
	if err != nil {
		return nil, "", err
	}
	return srv, srv.URL, nil
}

// one starts a fresh server of target, runs workload F once against it
// and stops it. tabs > 1 is the many-tabs shape (connections per user).
func (c *Config) one(ctx context.Context, target string, n int, rate float64, messages, tabs int) Run {
	run := Run{Target: target, Receivers: n, Rate: rate}
	if tabs > 1 {
		run.ConnsPerUser = tabs
	}
	c.Logger.Info("run", "target", target, "receivers", n, "rate", rate, "messages", messages, "conns_per_user", tabs)
	srv, url, err := c.start(ctx, target)
	if err != nil {
		run.Error = err.Error()
		c.Logger.Error("start server", "target", target, "err", err)
		return run
	}
	cpu := c.connsPerUser(target, n)
	if tabs > 1 {
		cpu = tabs
	}
	name := fmt.Sprintf("%s-F-n%d-r%g", target, n, rate)
	if tabs > 1 {
		name += fmt.Sprintf("-tabs%d", tabs)
	}
	sending, profiled := c.profiling(ctx, srv, name)
	r, err := bench.Run(ctx, bench.Config{
		URLs: []string{url}, Target: target, Receivers: n, Rate: rate,
		Messages: messages, Size: c.Size, PID: srv.PID(),
		ConnsPerUser: cpu, Accounts: c.accounts, Logger: c.Logger,
		Sending: sending,
	})
	if profiled != nil {
		run.Profile = profiled()
	}
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
			run := c.one(ctx, target, c.SweepN, rate, sweepMessages(rate, c.Messages), 0)
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
	// A fresh copy of the accounts' directory: no room or message of
	// another run moves the node's memory while the connections open.
	srv, err := c.startHearth(ctx, c.template)
	if err != nil {
		run.Error = err.Error()
		return run
	}
	r, err := bench.Run(ctx, bench.Config{
		URLs: []string{srv.URL}, Target: "hearth", Idle: c.Idle, PID: srv.PID(), Accounts: c.accounts,
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

// joins runs workload J on a fresh Hearth node.
func (c *Config) joins(ctx context.Context) (*bench.JoinsResult, string) {
	c.Logger.Info("workload J", "sizes", c.JSizes)
	srv, err := c.startHearth(ctx, c.template)
	if err != nil {
		return nil, err.Error()
	}
	r, err := bench.RunJoins(ctx, bench.JoinsConfig{
		URL: srv.URL, PID: srv.PID(), Sizes: c.JSizes, Accounts: c.accounts,
		UsersPrefix: c.accounts.Prefix, Password: c.accounts.Password, Logger: c.Logger,
	})
	if stopErr := srv.Stop(); stopErr != nil && err == nil {
		err = stopErr
	}
	settle()
	if err != nil {
		c.Logger.Error("workload J failed", "err", err)
		return r, err.Error()
	}
	return r, ""
}

// community runs workload C on a fresh Hearth node. It returns the
// result, the CPU profile written (if any) and the error's text.
func (c *Config) community(ctx context.Context) (_ *bench.CommunityResult, profile, errText string) {
	cc := c.Community
	c.Logger.Info("workload C", "users", cc.Users, "rooms", cc.Rooms)
	srv, err := c.startHearth(ctx, c.template)
	if err != nil {
		return nil, "", err.Error()
	}
	cc.URL, cc.PID, cc.Accounts, cc.Logger = srv.URL, srv.PID(), c.accounts, c.Logger
	cc.UsersPrefix, cc.Password = c.accounts.Prefix, c.accounts.Password
	var profiled func() string
	cc.Posting, profiled = c.profiling(ctx, srv, "hearth-C")
	r, err := bench.RunCommunity(ctx, cc)
	if profiled != nil {
		profile = profiled()
	}
	if stopErr := srv.Stop(); stopErr != nil && err == nil {
		err = stopErr
	}
	settle()
	if err != nil {
		c.Logger.Error("workload C failed", "err", err)
		return r, profile, err.Error()
	}
	return r, profile, ""
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
