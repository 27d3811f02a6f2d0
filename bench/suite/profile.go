package suite

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A Hearth run's figures say how fast; its CPU profile says why. With
// Peers.Profiles set, every node the suite starts serves Go's profiler on
// a loopback port of its own (--debug-addr, never the API's listener),
// and the F and C runs fetch the node's CPU profile over exactly their
// measured part (bench.Config.Sending), not the sign-ins and connects
// before it, and then the heap as the sending ends (what peak RSS is made
// of). `go tool pprof -top bin/hearth FILE` reads one.

// profile fetches the server's CPU profile over the next d into path
// and then its heap profile into path's name with "-heap" added, in the
// background. The returned wait blocks until both are written and says
// why not if they were not.
func (s *Server) profile(ctx context.Context, d time.Duration, path string) (wait func() error) {
	done := make(chan error, 1)
	go func() {
		secs := max(1, int(math.Ceil(d.Seconds())))
		err := s.fetchProfile(ctx, fmt.Sprintf("profile?seconds=%d", secs), time.Duration(secs)*time.Second, path)
		if err == nil {
			heap := strings.TrimSuffix(path, ".pprof") + "-heap.pprof"
			err = s.fetchProfile(ctx, "heap", 0, heap)
		}
		done <- err
	}()
	return func() error { return <-done }
}

// fetchProfile writes the profiler's answer to query (a path under
// /debug/pprof/ with its parameters), which takes d, to path.
func (s *Server) fetchProfile(ctx context.Context, query string, d time.Duration, path string) error {
	if s.debug == "" {
		return fmt.Errorf("%s: started without a profiler", s.Target)
	}
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", s.debug+"/debug/pprof/"+query, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", query, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("profile %s: %s: %s", query, resp.Status, b)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile %s: %w", query, err)
	}
	return f.Close()
}

// profiling returns the hook that profiles srv's measured part into the
// profile directory under name, and the wait for it (nil, nil when runs
// are not profiled or srv is not a Hearth node). wait returns the file
// written, or "" after logging why there is none.
func (c *Config) profiling(ctx context.Context, srv stopper, name string) (hook func(time.Duration), wait func() string) {
	h, ok := srv.(*hearthServer)
	if !ok || c.Peers.Profiles == "" {
		return nil, nil
	}
	path := filepath.Join(c.Peers.Profiles, name+".pprof")
	var waitFetch func() error
	hook = func(d time.Duration) { waitFetch = h.profile(ctx, d, path) }
	wait = func() string {
		if waitFetch == nil {
			return ""
		}
		if err := waitFetch(); err != nil {
			c.Logger.Warn("no CPU profile", "run", name, "err", err)
			return ""
		}
		return path
	}
	return hook, wait
}
