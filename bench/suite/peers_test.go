package suite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/bench"
)

// TestPeers drives the real peers (and Hearth, when bench/.bin/hearth or
// $HEARTH_BIN exists) end to end with a small workload F. It needs node,
// the Socket.io peer's node_modules and the centrifugo binary, which
// bench/run.sh installs, so it runs only with BENCH_PEERS=1 (make bench).
func TestPeers(t *testing.T) {
	if os.Getenv("BENCH_PEERS") != "1" {
		t.Skip("set BENCH_PEERS=1 (bench/run.sh does) to run against the real peers")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	peers := Peers{Root: root, LogDir: t.TempDir(), Profiles: t.TempDir()}
	hearth := os.Getenv("HEARTH_BIN")
	if hearth == "" {
		hearth = filepath.Join(root, ".bin", "hearth")
	}
	targets := []string{"socketio", "centrifugo"}
	if _, err := os.Stat(hearth); err == nil {
		peers.Hearth = hearth
		targets = append(targets, "hearth")
	} else {
		t.Logf("no hearth binary at %s: testing the peers only", hearth)
	}
	data := t.TempDir()
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			srv, err := peers.Start(ctx, target, data)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := srv.Stop(); err != nil {
					t.Error(err)
				}
			}()
			// Hearth's CPU profile over the sending, as -profile takes it.
			var profiled func() error
			profile := filepath.Join(peers.Profiles, target+".pprof")
			sending := func(d time.Duration) { profiled = srv.profile(ctx, d, profile) }
			if target != "hearth" {
				sending = nil
			}
			r, err := bench.Run(ctx, bench.Config{
				URLs: []string{srv.URL}, Target: target, Receivers: 20, Rate: 400,
				Messages: 400, Size: 120, PID: srv.PID(), ConnsPerUser: 10,
				Warmup: 200 * time.Millisecond, Drain: 20 * time.Second,
				Sending: sending,
			})
			if err != nil {
				t.Fatal(err)
			}
			if target == "hearth" {
				if profiled == nil {
					t.Error("Sending was not called")
				} else if err := profiled(); err != nil {
					t.Errorf("cpu profile: %v", err)
				} else if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
					t.Errorf("cpu profile: %v, %v", fi, err)
				}
			}
			if r.Sent != 400 || r.Received != r.Expected || r.Lost != 0 || r.Duplicates != 0 || r.Malformed != 0 || r.Disconnected != 0 {
				t.Errorf("sent %d, received %d of %d, lost %d, dups %d, malformed %d, disconnected %d",
					r.Sent, r.Received, r.Expected, r.Lost, r.Duplicates, r.Malformed, r.Disconnected)
			}
			if r.SendErrors != 0 {
				t.Errorf("%d sends refused, first: %s", r.SendErrors, r.FirstError)
			}
			if target != "socketio" && r.Acks != int64(r.Sent) {
				t.Errorf("acks %d, want %d", r.Acks, r.Sent)
			}
			if r.Latency.P50 <= 0 || r.Latency.Max < r.Latency.P99 {
				t.Errorf("implausible latency %+v", r.Latency)
			}
			if r.Server == nil || r.Server.PeakRSS == 0 {
				t.Errorf("no server figures: %+v", r.Server)
			}
		})
	}
}
