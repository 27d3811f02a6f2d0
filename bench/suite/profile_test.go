package suite

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProfileCPU fetches a real CPU profile from Go's profiler over a real
// socket, as the suite does from a node started with --debug-addr.
func TestProfileCPU(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	ts := httptest.NewServer(mux)
	defer ts.Close()

	path := filepath.Join(t.TempDir(), "sub", "hearth-F.pprof")
	s := &Server{Target: "hearth", debug: ts.URL}
	wait := s.profile(context.Background(), 300*time.Millisecond, path)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, strings.TrimSuffix(path, ".pprof") + "-heap.pprof"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// A pprof profile is gzipped protobuf.
		if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Fatalf("%s: not a gzipped profile: % x", p, b[:min(len(b), 8)])
		}
	}
}

func TestProfileCPUWithoutProfiler(t *testing.T) {
	s := &Server{Target: "hearth"}
	err := s.profile(context.Background(), time.Second, filepath.Join(t.TempDir(), "x.pprof"))()
	if err == nil || !strings.Contains(err.Error(), "without a profiler") {
		t.Fatalf("err = %v, want one saying there is no profiler", err)
	}
}

// TestProfileCPURefused reports the profiler's own error (a second
// profile while one runs is refused by Go's runtime).
func TestProfileCPURefused(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Could not enable CPU profiling: cpu profiling already in use", http.StatusInternalServerError)
	}))
	defer ts.Close()
	s := &Server{Target: "hearth", debug: ts.URL}
	path := filepath.Join(t.TempDir(), "x.pprof")
	err := s.profile(context.Background(), time.Second, path)()
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("err = %v, want the profiler's refusal", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a refused profile left a file: %v", err)
	}
}
