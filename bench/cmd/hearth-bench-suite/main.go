// Command hearth-bench-suite runs the benchmark suite of `make bench`
// (package suite) and writes the results as JSON, a markdown section and
// an SVG chart (package report). bench/run.sh installs the peers and calls
// it; with --from-json it only redraws the report from saved results.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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
	)
	fs := flag.NewFlagSet("hearth-bench-suite", flag.ContinueOnError)
	fs.StringVar(&cfg.Peers.Root, "root", "bench", "the bench directory (peers/, .bin/)")
	fs.StringVar(&cfg.Peers.Hearth, "hearth-bin", "", "hearth binary; empty skips Hearth")
	fs.StringVar(&cfg.Peers.Node, "node", "node", "node binary for the Socket.io peer")
	fs.StringVar(&cfg.Peers.Centrifugo, "centrifugo-bin", "", "centrifugo binary (default ROOT/.bin/centrifugo)")
	fs.StringVar(&cfg.Peers.LogDir, "log-dir", "", "directory for server logs (default a temp dir)")
	fs.StringVar(&targets, "targets", "hearth,socketio,centrifugo", "comma-separated targets")
	fs.StringVar(&ns, "n", "100,1000,5000", "comma-separated receiver counts for workload F")
	fs.Float64Var(&cfg.Rate, "rate", 200, "workload F rate (messages/s)")
	fs.IntVar(&cfg.Messages, "messages", 2000, "messages per workload F run")
	fs.IntVar(&cfg.SweepN, "sweep-n", 100, "receivers for the rate sweep; -1 skips it")
	fs.DurationVar(&cfg.SweepP99, "sweep-p99", 50*time.Millisecond, "latency bound of the sweep")
	fs.Float64Var(&cfg.SweepMax, "sweep-max", 25600, "highest rate the sweep tries")
	fs.IntVar(&cfg.Idle, "idle", 10000, "idle Hearth connections for the memory figure; -1 skips it")
	fs.IntVar(&cfg.HearthConnsPerUser, "hearth-conns-per-user", 0, "connections per Hearth user (0: bench's default, at most 50 users)")
	fs.StringVar(&cfg.DataDir, "data", "", "Hearth data directory kept across runs (default a temp dir)")
	fs.StringVar(&out, "out", "bench/out/benchmarks.md", "markdown report to write")
	fs.StringVar(&svg, "svg", "", "SVG chart to write (default benchmarks-f.svg beside --out)")
	fs.StringVar(&jsonPath, "json", "", "results JSON to write (default results.json beside --out)")
	fs.StringVar(&fromJSON, "from-json", "", "do not run: redraw the report from this results JSON")
	fs.DurationVar(&timeout, "timeout", 30*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if svg == "" {
		svg = filepath.Join(filepath.Dir(out), "benchmarks-f.svg")
	}
	if jsonPath == "" {
		jsonPath = filepath.Join(filepath.Dir(out), "results.json")
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
		for _, s := range splitList(ns) {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return fmt.Errorf("-n: bad count %q", s)
			}
			cfg.Ns = append(cfg.Ns, n)
		}
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var err error
		res, err = suite.RunSuite(ctx, cfg)
		if res == nil {
			return err
		}
		if err != nil {
			cfg.Logger.Error("suite stopped early; writing what was measured", "err", err)
		}
		if err := os.MkdirAll(filepath.Dir(jsonPath), 0o755); err != nil {
			return err
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
	if err := writeFile(out, func(f *os.File) error { return report.Markdown(f, res, filepath.ToSlash(rel)) }); err != nil {
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
