package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/bench/gobench"
	"github.com/hearth-chat/hearth/bench/suite"
)

// TestFromJSON redraws a report from saved results, with the analysis
// file included as it stands.
func TestFromJSON(t *testing.T) {
	dir := t.TempDir()
	res := suite.Results{
		Date: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), Rate: 200, Commit: "abc123",
		Commands: []string{"make bench"},
		Go: []gobench.Run{{Command: "go test ./store/...", Output: gobench.Output{Benchmarks: []gobench.Benchmark{
			{Pkg: "github.com/hearth-chat/hearth/store", Name: "BenchmarkDurableSend", Procs: 2, N: 10, Metrics: []gobench.Metric{{Value: 60000, Unit: "acked/s"}}},
		}}}},
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "results.json")
	analysis := filepath.Join(dir, "analysis.md")
	out := filepath.Join(dir, "docs", "benchmarks.md")
	for path, data := range map[string][]byte{in: b, analysis: []byte("Hand-written words.\n")} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(context.Background(), []string{"-from-json", in, "-analysis", analysis, "-out", out}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Benchmarks", "`abc123`", "| storage: ≥ 50,000 durably acked msgs/s, 64 concurrent senders | 60,000/s", "## Analysis", "Hand-written words."} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "docs", "benchmarks-f.svg")); err != nil {
		t.Errorf("no chart beside the report: %v", err)
	}
}

func TestCommands(t *testing.T) {
	got := commands([]string{"-quick"}, []gobench.Command{{Benchtime: "3x", Pkgs: []string{"./p2p/"}}}, true)
	if got[0] != "make bench" || !strings.HasSuffix(got[2], " -quick") || got[len(got)-1] != "go test -run '^$' -bench . -benchmem -benchtime 3x ./p2p/" {
		t.Errorf("commands = %q", got)
	}
}
