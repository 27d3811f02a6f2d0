package suite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Server is one server process under test, started by the suite.
type Server struct {
	Target string // bench target name: hearth, socketio, centrifugo
	URL    string // HTTP base URL
	debug  string // Go profiler's base URL (Hearth with Peers.Profiles)
	cmd    *exec.Cmd
	exited chan error
	log    *os.File
}

// PID returns the server's process ID, for /proc sampling.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop asks the server to shut down (SIGTERM) and kills it if it has not
// exited after 10 s. It returns ErrExitedEarly (wrapped) if the server
// had already exited, which invalidates a run that was using it; a server
// that had to be killed is only logged, since an overloaded server may be
// too busy flushing queued frames to shut down in time.
func (s *Server) Stop() error {
	defer s.log.Close()
	select {
	case err := <-s.exited:
		return fmt.Errorf("%s: %w (%v); log %s", s.Target, ErrExitedEarly, err, s.log.Name())
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		fmt.Fprintf(s.log, "\n[suite] did not stop 10 s after SIGTERM; killed\n")
	}
	return nil
}

// ErrExitedEarly means a server exited before it was asked to stop.
var ErrExitedEarly = errors.New("server exited before it was stopped")

// Peers says where the servers' programs are.
type Peers struct {
	// Root is the bench directory (holding peers/ and .bin/).
	Root string
	// Hearth is the hearth binary; empty skips Hearth.
	Hearth string
	// Node is the node binary for the Socket.io peer (default "node").
	Node string
	// Centrifugo is the centrifugo binary (default Root/.bin/centrifugo).
	Centrifugo string
	// LogDir receives one log file per server start (default a temp dir).
	LogDir string
	// Profiles, if set, is where the CPU and heap profiles of the measured
	// Hearth runs are written (profile.go); Hearth nodes then serve Go's
	// profiler.
	Profiles string
}

func (p *Peers) fill() error {
	if p.Root == "" {
		return errors.New("peers: no root")
	}
	if p.Node == "" {
		p.Node = "node"
	}
	if p.Centrifugo == "" {
		p.Centrifugo = filepath.Join(p.Root, ".bin", "centrifugo")
	}
	if p.LogDir == "" {
		d, err := os.MkdirTemp("", "hearth-bench-logs-")
		if err != nil {
			return err
		}
		p.LogDir = d
	}
	return os.MkdirAll(p.LogDir, 0o755)
}

// Start starts a fresh server of target on a free loopback port and waits
// until it is ready. dataDir is Hearth's --data (reused across starts so
// that bench users survive).
func (p *Peers) Start(ctx context.Context, target, dataDir string) (*Server, error) {
	if err := p.fill(); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var cmd *exec.Cmd
	var debug string
	health := "/healthz"
	switch target {
	case "hearth":
		if p.Hearth == "" {
			return nil, errors.New("no hearth binary")
		}
		health = "/readyz"
		// --user-rate=-1: the per-user limit on API requests and
		// WebSocket frames would refuse one sender at bench rates.
		// --user-sockets=-1: receivers share users, up to hundreds of
		// connections each (the many-tabs case); a node's default is 32.
		// --unauth-sockets-per-addr: the tool dials 64 at a time from
		// one address, the default's edge.
		cmd = exec.Command(p.Hearth, "serve", "--data", dataDir, "--http", addr,
			"--p2p", "/ip4/127.0.0.1/tcp/0", "--mdns=false", "--name", "bench",
			"--user-rate=-1", "--user-sockets=-1", "--unauth-sockets-per-addr=1024", "--log-level", "warn")
		if p.Profiles != "" {
			dport, err := freePort()
			if err != nil {
				return nil, err
			}
			daddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(dport))
			cmd.Args = append(cmd.Args, "--debug-addr", daddr)
			debug = "http://" + daddr
		}
	case "socketio":
		cmd = exec.Command(p.Node, filepath.Join(p.Root, "peers", "socketio", "server.js"), "--port", strconv.Itoa(port))
	case "centrifugo":
		health = "/health"
		cmd = exec.Command(p.Centrifugo, "-c", filepath.Join(p.Root, "peers", "centrifugo", "config.json"))
		cmd.Env = append(os.Environ(), "CENTRIFUGO_HTTP_SERVER_PORT="+strconv.Itoa(port))
	default:
		return nil, fmt.Errorf("unknown target %q", target)
	}
	logf, err := os.CreateTemp(p.LogDir, target+"-*.log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", target, err)
	}
	s := &Server{Target: target, URL: "http://" + addr, debug: debug, cmd: cmd, exited: make(chan error, 1), log: logf}
	go func() { s.exited <- cmd.Wait() }()
	if err := s.waitReady(ctx, health, 60*time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%s (log %s): %w", target, logf.Name(), err)
	}
	return s, nil
}

// waitReady polls path until it answers 200.
func (s *Server) waitReady(ctx context.Context, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-s.exited:
			s.exited <- err
			return fmt.Errorf("exited before ready: %v", err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
