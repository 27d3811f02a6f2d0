// Command hearth-search-bench measures full-text search for `make bench`
// (package searchbench): query latency over a cached corpus of a million
// messages, the index's size, and what indexing adds to a send. It prints
// the report's Search section in Markdown; --json saves the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/hearth-chat/hearth/bench/searchbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hearth-search-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hearth-search-bench", flag.ContinueOnError)
	var c searchbench.Config
	fs.StringVar(&c.Cache, "cache", "bench/.cache", "directory the corpus is built in and reused from")
	fs.IntVar(&c.Messages, "messages", 1_000_000, "messages in the corpus")
	fs.IntVar(&c.Rooms, "rooms", 500, "rooms in the corpus")
	fs.IntVar(&c.Queries, "queries", 500, "timed queries of each kind")
	fs.IntVar(&c.SendMessages, "send-messages", 20_000, "messages of each send-cost run")
	fs.DurationVar(&c.SearchDelay, "search-delay", 0, "the node's search delay (0: its default)")
	fs.BoolVar(&c.NoSend, "no-send", false, "time the queries only, not what indexing adds to a send")
	quick := fs.Bool("quick", false, "100,000 messages, 100 queries of each kind, 5,000 sends")
	jsonOut := fs.String("json", "", "also write the figures as JSON to this file")
	command := fs.String("command", "make bench", "the command named in the report")
	verbose := fs.Bool("v", false, "log progress to stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *quick {
		c.Messages, c.Queries, c.SendMessages = 100_000, 100, 5_000
	}
	if *verbose {
		c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	res, err := searchbench.Run(ctx, c)
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	fmt.Print(res.Markdown(machine(), *command))
	return nil
}

// machine names the CPU and its count, as the rest of the report does.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s", model, runtime.NumCPU(), runtime.Version())
}
