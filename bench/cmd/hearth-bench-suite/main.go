// Command hearth-bench-suite runs everything `make bench` measures: the
// Go benchmarks (package gobench runs and parses them) and then the load
// suite against Hearth and its peers (package suite). It writes the
// results as JSON, the raw Go benchmark output, and docs/benchmarks.md
// with its SVG chart (package report), including the hand-written
// analysis file verbatim. bench/run.sh installs the peers and calls it;
// with --from-json it only redraws the report from saved results.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearth-chat/hearth/bench"
	"github.com/hearth-chat/hearth/bench/gobench"
	"github.com/hearth-chat/hearth/bench/report"
	"github.com/hearth-chat/hearth/bench/suite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hearth-bench-suite:", err)
		os.Exit(1)
	}
}

// run is the command: flags, then the suite (or a redraw from JSON) and
// its report files. Long (over 80 lines) because it is mostly the flags
// and their defaults, in the order they are shown.
func run(ctx context.Context, args []string) error {
	var (
		cfg      suite.Config
		targets  string
		ns       string
		out      string
		svg      string
		jsonPath string
		fromJSON string
		timeout  time.Duration
		analysis string
		goOut    string
		goBin    string
		runGo    bool
		runLoad  bool
		quick    bool
		started  int64
		jSizes   string
		prepare  bool
	)
	def, defC := suite.Defaults(), bench.DefaultCommunity()
	fs := flag.NewFlagSet("hearth-bench-suite", flag.ContinueOnError)
	fs.StringVar(&cfg.Peers.Root, "root", "bench", "the bench directory (peers/, .bin/)")
	fs.StringVar(&cfg.Peers.Hearth, "hearth-bin", "", "hearth binary; empty skips Hearth")
	fs.StringVar(&cfg.Peers.Node, "node", "node", "node binary for the Socket.io peer")
	fs.StringVar(&cfg.Peers.Centrifugo, "centrifugo-bin", "", "centrifugo binary (default ROOT/.bin/centrifugo)")
	fs.StringVar(&cfg.Peers.LogDir, "log-dir", "", "directory for server logs (default a temp dir)")
	fs.StringVar(&cfg.Peers.Profiles, "profile", "", "write the Hearth node's CPU profile over each F and C run's sending, and its heap as it ends, into this directory (read with go tool pprof)")
	fs.StringVar(&targets, "targets", strings.Join(def.Targets, ","), "comma-separated targets")
	fs.StringVar(&ns, "n", joinInts(def.Ns), "comma-separated receiver counts for workload F")
	fs.Float64Var(&cfg.Rate, "rate", def.Rate, "workload F rate (messages/s)")
	fs.IntVar(&cfg.Messages, "messages", def.Messages, "messages per workload F run")
	fs.IntVar(&cfg.SweepN, "sweep-n", def.SweepN, "receivers for the rate sweep; -1 skips it")
	fs.DurationVar(&cfg.SweepP99, "sweep-p99", def.SweepP99, "latency bound of the sweep")
	fs.Float64Var(&cfg.SweepMax, "sweep-max", def.SweepMax, "highest rate the sweep tries")
	fs.IntVar(&cfg.Idle, "idle", def.Idle, "idle Hearth connections for the memory figure; -1 skips it")
	fs.IntVar(&cfg.HearthConnsPerUser, "hearth-conns-per-user", def.HearthConnsPerUser, "connections per Hearth user in workload F (1: one user per connection)")
	fs.IntVar(&cfg.ManyTabs, "many-tabs", def.ManyTabs, "connections per user of the labelled many-tabs Hearth run at N=1000; -1 skips it")
	fs.IntVar(&cfg.BigN, "big-n", def.BigN, "receivers of the extra large workload F run of every target; -1 skips it")
	fs.Float64Var(&cfg.BigRate, "big-rate", def.BigRate, "rate of the large workload F run")
	fs.IntVar(&cfg.BigMessages, "big-messages", def.BigMessages, "messages of the large workload F run")
	fs.StringVar(&jSizes, "j-sizes", joinInts(def.JSizes), "workload J room sizes; empty skips J")
	fs.IntVar(&cfg.Community.Users, "c-users", defC.Users, "workload C users; -1 skips C")
	fs.IntVar(&cfg.Community.Rooms, "c-rooms", defC.Rooms, "workload C rooms")
	fs.DurationVar(&cfg.Community.Duration, "c-duration", 40*time.Second, "how long workload C users post")
	fs.IntVar(&cfg.Users, "users", 0, "Hearth users in the accounts cache (0: what the largest run needs)")
	fs.StringVar(&cfg.CacheDir, "cache", "", "where the signed-up Hearth users are kept between runs (default ROOT/.cache)")
	fs.BoolVar(&prepare, "prepare-users", false, "only make sure the Hearth users are signed up and cached (bench/run.sh does this before it starts the clock), then exit")
	fs.StringVar(&cfg.DataDir, "data", "", "Hearth data directory kept across runs (default a temp dir)")
	fs.StringVar(&out, "out", "bench/out/benchmarks.md", "markdown report to write")
	fs.StringVar(&svg, "svg", "", "SVG chart to write (default benchmarks-f.svg beside --out)")
	fs.StringVar(&jsonPath, "json", "", "results JSON to write (default results.json beside --out)")
	fs.StringVar(&fromJSON, "from-json", "", "do not run: redraw the report from this results JSON")
	fs.DurationVar(&timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.StringVar(&analysis, "analysis", "", "hand-written analysis included verbatim (default ROOT/analysis.md; \"none\" for none)")
	fs.StringVar(&goOut, "go-out", "", "raw output of the Go benchmarks (default gobench.txt beside --json)")
	fs.StringVar(&goBin, "go-bin", "go", "go command for the Go benchmarks")
	fs.BoolVar(&runGo, "go", true, "run the Go benchmarks (from the current directory, the module root)")
	fs.BoolVar(&runLoad, "load", true, "run the load suite")
	fs.BoolVar(&quick, "quick", false, "fewer Go benchmark iterations, -short store benchmarks; marks the report as a quick run")
	fs.Int64Var(&started, "started", 0, "unix time the whole run started (bench/run.sh passes its own), for the run's duration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if svg == "" {
		svg = filepath.Join(filepath.Dir(out), "benchmarks-f.svg")
	}
	if jsonPath == "" {
		jsonPath = filepath.Join(filepath.Dir(out), "results.json")
	}
	if goOut == "" {
		goOut = filepath.Join(filepath.Dir(jsonPath), "gobench.txt")
	}
	if analysis == "" {
		analysis = filepath.Join(cfg.Peers.Root, "analysis.md")
	}
	var analysisText string
	if analysis != "none" {
		b, err := os.ReadFile(analysis)
		if err != nil {
			return err
		}
		analysisText = string(b)
	}

	var res *suite.Results
	if fromJSON != "" {
		b, err := os.ReadFile(fromJSON)
		if err != nil {
			return err
		}
		res = new(suite.Results)
		if err := json.Unmarshal(b, res); err != nil {
			return fmt.Errorf("%s: %w", fromJSON, err)
		}
	} else {
		cfg.Targets = splitList(targets)
		for _, s := range splitList(jSizes) {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return fmt.Errorf("-j-sizes: bad size %q", s)
			}
			cfg.JSizes = append(cfg.JSizes, n)
		}
		cfg.SkipJ = len(cfg.JSizes) == 0
		if cfg.SkipC = cfg.Community.Users < 0; cfg.SkipC {
			cfg.Community.Users = 0
		}
		for _, s := range splitList(ns) {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return fmt.Errorf("-n: bad count %q", s)
			}
			cfg.Ns = append(cfg.Ns, n)
		}
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		if prepare {
			info, err := suite.PrepareUsers(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Printf("%d Hearth users ready in %s (signed up %s, %.0f s)\n", info.Users, info.Dir, info.Created.Format(time.DateOnly), info.SignUpSeconds)
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := os.MkdirAll(filepath.Dir(jsonPath), 0o755); err != nil {
			return err
		}
		var goRuns []gobench.Run
		var goCmds []gobench.Command
		if runGo {
			goCmds = goCommands(quick)
			var err error
			if goRuns, err = runGoBenchmarks(ctx, goBin, goCmds, goOut, cfg.Logger); err != nil {
				return err
			}
		}
		if runLoad {
			var err error
			res, err = suite.RunSuite(ctx, cfg)
			if res == nil {
				return err
			}
			if err != nil {
				cfg.Logger.Error("suite stopped early; writing what was measured", "err", err)
			}
		} else {
			res = &suite.Results{Date: time.Now().UTC(), Machine: suite.Describe(cfg.Peers.Node)}
		}
		res.Go, res.Quick = goRuns, quick
		res.Commit, res.Dirty, res.DirtyFiles = gitState()
		res.Commands = commands(args, goCmds, started > 0)
		if started > 0 {
			res.Seconds = time.Since(time.Unix(started, 0)).Seconds()
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := writeFile(svg, func(f *os.File) error { return report.Chart(f, res) }); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(out), svg)
	if err != nil {
		rel = svg
	}
	opt := report.Options{Chart: filepath.ToSlash(rel), Analysis: analysisText, AnalysisPath: relToCwd(analysis)}
	if err := writeFile(out, func(f *os.File) error { return report.Markdown(f, res, opt) }); err != nil {
		return err
	}
	if fromJSON == "" {
		fmt.Printf("wrote %s, %s, %s\n", out, svg, jsonPath)
	} else {
		fmt.Printf("wrote %s, %s\n", out, svg)
	}
	return nil
}

func writeFile(path string, fn func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// goCommands are the Go benchmarks of `make bench`, each with an
// iteration count that keeps the whole run under 20 minutes on two cores
// (about 2.5 minutes for these). quick is for checking the pipeline.
func goCommands(quick bool) []gobench.Command {
	if quick {
		return []gobench.Command{
			{Benchtime: "100x", Pkgs: []string{"./node/...", "./token/..."}},
			{Benchtime: "2000x", Short: true, Pkgs: []string{"./store/..."}},
			{Benchtime: "50x", Pkgs: []string{"./webui/..."}},
			{Bench: "CrossNodeDelivery", Benchtime: "100x", Pkgs: []string{"./p2p/"}},
			{Bench: "CatchUp", Benchtime: "1x", Pkgs: []string{"./p2p/"}},
			{Benchtime: "2x", Pkgs: []string{"./media/"}},
		}
	}
	return []gobench.Command{
		{Pkgs: []string{"./node/...", "./token/..."}},
		// 1M messages in BenchmarkHistoryPage's room: no -short.
		{Benchtime: "20000x", Pkgs: []string{"./store/..."}},
		{Benchtime: "300x", Pkgs: []string{"./webui/..."}},
		// 2,000 messages per case (the paced ones take 20 s each at
		// 100/s): one 100 ms disk stall on this shared VM delays about 10
		// messages, which is 2 % of 500 and would be the p99, but half a
		// percent of 2,000.
		{Bench: "CrossNodeDelivery", Benchtime: "2000x", Pkgs: []string{"./p2p/"}},
		// Three restarts per size (Go runs one more first, to size b.N).
		{Bench: "CatchUp", Benchtime: "3x", Pkgs: []string{"./p2p/"}},
		// Media (issue #14): upload MB/s beside raw disk writes, a
		// preview of a 12 MP photo, a 10 MB file across one and two hops.
		{Benchtime: "10x", Pkgs: []string{"./media/"}},
	}
}

// runGoBenchmarks runs cmds in turn, writing what they print to the file
// raw and to standard error. A command that fails is recorded and the
// rest still run.
func runGoBenchmarks(ctx context.Context, goBin string, cmds []gobench.Command, raw string, log *slog.Logger) ([]gobench.Run, error) {
	f, err := os.Create(raw)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []gobench.Run
	for _, c := range cmds {
		log.Info("go benchmarks", "command", c.String())
		r := gobench.Exec(ctx, goBin, ".", c, io.MultiWriter(f, os.Stderr))
		if r.Error != "" {
			log.Error("go benchmarks failed", "command", r.Command, "err", r.Error, "failures", r.Failures)
		}
		runs = append(runs, r)
		if ctx.Err() != nil {
			break
		}
	}
	return runs, f.Close()
}

// commands lists what measured the results: `make bench` if run.sh
// called this command, this command as it was called, and the Go
// benchmark commands it ran.
func commands(args []string, goCmds []gobench.Command, viaRunSh bool) []string {
	self := []string{relToCwd(os.Args[0])}
	for _, a := range args {
		self = append(self, relToCwd(a))
	}
	var out []string
	if viaRunSh {
		out = append(out, "make bench", "# which runs bench/run.sh, which ends with:")
	}
	out = append(out, gobench.Quote(self))
	if len(goCmds) > 0 {
		out = append(out, "# which runs the Go benchmarks first:")
		for _, c := range goCmds {
			out = append(out, c.String())
		}
	}
	return out
}

// relToCwd shortens a path (or a flag=path argument) under the current
// directory to a relative one, so that commands read the same on every
// machine.
func relToCwd(s string) string {
	wd, err := os.Getwd()
	if err != nil {
		return s
	}
	return strings.ReplaceAll(s, wd+string(filepath.Separator), "")
}

// gitState returns the commit of the current directory's repository,
// whether the working tree differs from it and in how many paths ("" if
// git cannot tell).
func gitState() (commit string, dirty bool, paths int) {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false, 0
	}
	commit = strings.TrimSpace(string(out))
	st, err := exec.Command("git", "status", "--porcelain").Output()
	if err != nil {
		return commit, false, 0
	}
	for _, l := range strings.Split(string(st), "\n") {
		if strings.TrimSpace(l) != "" {
			paths++
		}
	}
	return commit, paths > 0, paths
}

// joinInts writes ns as a comma-separated flag value.
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
