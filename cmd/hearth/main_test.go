package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Process-wide workers of libp2p's and Badger's dependencies,
		// started once and never stopped.
		goleak.IgnoreTopFunction("github.com/golang/glog.(*fileSink).flushDaemon"),
		goleak.IgnoreTopFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
		// bleve's analysis workers, one pool for the process.
		goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"),
	)
}

func TestParseFlags(t *testing.T) {
	host, _ := os.Hostname()
	const peer = "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(c Config) string // "" when c is right
		wantErr bool
	}{
		{name: "defaults", want: func(c Config) string {
			if c.Data != "./hearth-data" || c.HTTP != "127.0.0.1:8080" || !c.MDNS || c.Name != host ||
				!slices.Equal(c.P2P, []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}) || len(c.Peers) != 0 {
				return "not the API.md defaults"
			}
			return ""
		}},
		{name: "flags", args: []string{"--data", "/d", "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--p2p", "/ip4/127.0.0.1/udp/0/quic-v1", "--peer", peer, "--name", "n1", "--mdns=false"},
			want: func(c Config) string {
				if c.Data != "/d" || c.HTTP != "127.0.0.1:0" || c.MDNS || c.Name != "n1" || len(c.P2P) != 2 || !slices.Equal(c.Peers, []string{peer}) {
					return "flags not applied"
				}
				return ""
			}},
		{name: "environment", env: map[string]string{"HEARTH_DATA": "/e", "HEARTH_HTTP": "127.0.0.1:9", "HEARTH_MDNS": "false", "HEARTH_NAME": "env", "HEARTH_P2P": "/ip4/127.0.0.1/tcp/1, /ip4/127.0.0.1/tcp/2", "HEARTH_PEER": peer},
			want: func(c Config) string {
				if c.Data != "/e" || c.HTTP != "127.0.0.1:9" || c.MDNS || c.Name != "env" || !slices.Equal(c.P2P, []string{"/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2"}) || len(c.Peers) != 1 {
					return "environment not applied"
				}
				return ""
			}},
		{name: "flag wins over environment", args: []string{"--data", "/flag", "--mdns=true", "--p2p", "/ip4/127.0.0.1/tcp/3"},
			env: map[string]string{"HEARTH_DATA": "/env", "HEARTH_MDNS": "false", "HEARTH_P2P": "/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2", "HEARTH_HTTP": "127.0.0.1:7"},
			want: func(c Config) string {
				if c.Data != "/flag" || !c.MDNS || !slices.Equal(c.P2P, []string{"/ip4/127.0.0.1/tcp/3"}) || c.HTTP != "127.0.0.1:7" {
					return "command line did not win"
				}
				return ""
			}},
		{name: "media limits", args: []string{"--max-upload", "10MiB", "--media-grace", "1h"}, env: map[string]string{"HEARTH_USER_QUOTA": "2GiB"},
			want: func(c Config) string {
				if c.MaxUpload != 10<<20 || c.UserQuota != 2<<30 || c.MediaGrace != time.Hour {
					return "media flags not applied"
				}
				return ""
			}},
		{name: "media defaults", want: func(c Config) string {
			if c.MaxUpload != 50<<20 || c.UserQuota != 1<<30 || c.MediaGrace != 24*time.Hour {
				return "media defaults wrong"
			}
			return ""
		}},
		{name: "push defaults", want: func(c Config) string {
			if !c.Push || c.PushLoopback || c.PushSubject != "mailto:admin@"+host {
				return "push defaults wrong"
			}
			return ""
		}},
		{name: "push subject from the public URL", args: []string{"--public-url", "http://a.example", "--public-url", "https://chat.example.org"},
			want: func(c Config) string {
				if c.PushSubject != "https://chat.example.org" {
					return "push subject not the https public URL"
				}
				return ""
			}},
		{name: "push flags", args: []string{"--push=false", "--push-subject", "mailto:ops@example.org", "--push-allow-loopback"},
			want: func(c Config) string {
				if c.Push || !c.PushLoopback || c.PushSubject != "mailto:ops@example.org" {
					return "push flags not applied"
				}
				return ""
			}},
		{name: "bad size", args: []string{"--max-upload", "lots"}, wantErr: true},
		{name: "bad environment value", env: map[string]string{"HEARTH_MDNS": "maybe"}, wantErr: true},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
		{name: "peer without id", args: []string{"--peer", "/ip4/127.0.0.1/tcp/4001"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMain(io.Discard, io.Discard)
			err := m.ParseFlags(tc.args, func(k string) string { return tc.env[k] })
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; config %+v", m.Config)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.want(m.Config); msg != "" {
				t.Errorf("%s: %+v", msg, m.Config)
			}
		})
	}
}

// TestMainInProcess runs the real wiring configured from the environment.
func TestMainInProcess(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"HEARTH_DATA": data, "HEARTH_HTTP": "127.0.0.1:0", "HEARTH_P2P": "/ip4/127.0.0.1/tcp/0", "HEARTH_MDNS": "false", "HEARTH_NAME": "inproc"}
	var logs syncBuffer
	m := NewMain(io.Discard, &logs)
	if err := m.ParseFlags(nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	base := "http://" + m.HTTPAddr()
	var info struct {
		ID, Name, Version string
		Addrs             []string
	}
	mustGetJSON(t, base+"/api/v1/node", &info)
	if info.ID != string(m.node.ID()) || info.Name != "inproc" || len(info.Addrs) == 0 {
		t.Errorf("node = %+v", info)
	}
	for _, a := range info.Addrs {
		if !strings.HasPrefix(a, "/ip4/127.0.0.1/") || !strings.HasSuffix(a, "/p2p/"+info.ID) {
			t.Errorf("addr %q is not a full multiaddr of this node", a)
		}
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, resp)
	}
	resp.Body.Close()
	ready := parseReady(logs.String())
	if ready == nil || ready.http != m.HTTPAddr() || ready.node != info.ID || !strings.Contains(ready.line, "p2p=") {
		t.Errorf("ready line missing or wrong in %q", logs.String())
	}
	if err := m.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	// The data directory is free again.
	m2 := startTestMain(t, data)
	if m2.node.ID() != m.node.ID() {
		t.Errorf("node id changed across restart: %s, %s", m.node.ID(), m2.node.ID())
	}
	m2.Close()
}

// --- multi-process tests with the real binary ---------------------------

// TestProcess builds hearth and runs it as a process: the data lock,
// SIGTERM, restart with everything kept, and acked messages surviving
// kill -9.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "hearth")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	t.Run("lock, SIGTERM and restart", func(t *testing.T) {
		data := t.TempDir()
		p := startProc(t, bin, data)
		c := &apiClient{base: "http://" + p.http}
		alice := c.register(t, "alice")
		var room struct{ ID string }
		c.mustDo(t, "POST", "/api/v1/rooms", alice.AccessToken, map[string]string{"name": "kept", "visibility": "public"}, 201, &room)
		var msg struct{ ID string }
		c.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken, map[string]string{"body": "survives"}, 201, &msg)

		// A second process on the same data directory refuses to start.
		second := exec.Command(bin, "serve", "--data", data, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--mdns=false")
		var errOut bytes.Buffer
		second.Stderr = &errOut
		done := make(chan error, 1)
		if err := second.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- second.Wait() }()
		select {
		case err := <-done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("second process: %v, want a non-zero exit", err)
			}
			if !strings.Contains(errOut.String(), "in use") {
				t.Errorf("second process said %q, want a clear message", errOut.String())
			}
		case <-time.After(20 * time.Second):
			second.Process.Kill()
			<-done
			t.Fatal("a second process on the same --data is still running")
		}

		// SIGTERM closes open WebSockets with 1001 and exits 0.
		ws := dialAuthed(t, p.http, alice.AccessToken)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		for {
			_, _, err := ws.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Errorf("socket ended with %v, want close 1001", err)
			}
			break
		}
		if code := p.wait(t, 20*time.Second); code != 0 {
			t.Errorf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, p.stderr.String())
		}
		// The binary's listener (--max-conns is on by default) leaves the
		// WebSocket writer its direct path: x/net's LimitListener hid the
		// socket, and the server says so when a connection cannot use it.
		if strings.Contains(p.stderr.String(), "cannot be written directly") {
			t.Errorf("the binary's WebSockets cannot write frames directly:\n%s", p.stderr.String())
		}

		// Restart: same node, users, rooms, messages and sessions.
		p2 := startProc(t, bin, data)
		if p2.node != p.node {
			t.Errorf("node id %s after restart, was %s", p2.node, p.node)
		}
		c2 := &apiClient{base: "http://" + p2.http}
		var s session
		c2.mustDo(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": alice.RefreshToken}, 200, &s)
		c2.mustDo(t, "GET", "/api/v1/me", alice.AccessToken, nil, 200, nil) // the access token too
		var rooms struct{ Rooms []struct{ ID string } }
		c2.mustDo(t, "GET", "/api/v1/rooms", s.AccessToken, nil, 200, &rooms)
		if len(rooms.Rooms) != 1 || rooms.Rooms[0].ID != room.ID {
			t.Errorf("rooms after restart = %+v", rooms.Rooms)
		}
		if ids := c2.history(t, s.AccessToken, room.ID); !slices.Equal(ids, []string{msg.ID}) {
			t.Errorf("history after restart = %v", ids)
		}
		c2.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": testPassword}, 200, nil)
		p2.stopWith(t, syscall.SIGINT)
	})

	t.Run("acked messages survive kill -9", func(t *testing.T) {
		data := t.TempDir()
		const senders, rounds, acksPerRound = 4, 4, 100
		acked := map[string]string{} // message id -> clientId
		var tokens []string
		var room string
		prevStored := 0
		for round := range rounds {
			p := startProc(t, bin, data)
			c := &apiClient{base: "http://" + p.http}
			if round == 0 {
				tokens, room = c.sharedRoom(t, "sender", senders)
			}
			// The last round stops with SIGTERM under the same load: in-flight
			// sends finish, and the exit is clean.
			sig := syscall.SIGKILL
			if round == rounds-1 {
				sig = syscall.SIGTERM
			}
			got := sendUntilKilled(t, p, tokens, room, round, acksPerRound, 0, sig)
			for id, cid := range got {
				acked[id] = cid
			}

			// Restart and check every acked message is there once.
			p2 := startProc(t, bin, data)
			c2 := &apiClient{base: "http://" + p2.http}
			ids := c2.history(t, tokens[0], room)
			seen := map[string]int{}
			for _, id := range ids {
				seen[id]++
			}
			for id, cid := range acked {
				if seen[id] != 1 {
					t.Errorf("round %d: acked message %s (clientId %s) is in history %d times", round, id, cid, seen[id])
				}
			}
			rest := 0
			for _, cid := range got {
				if strings.Contains(cid, "-rest-") {
					rest++
				}
			}
			t.Logf("round %d: %d acked so far (%d over REST this round), %d in history", round, len(acked), rest, len(ids))
			if stored := len(ids) - prevStored; sig == syscall.SIGTERM && stored != len(got) {
				// A clean stop finishes the frames being handled and
				// flushes their acks before closing with 1001.
				t.Errorf("after SIGTERM: %d messages stored this round but %d acked", stored, len(got))
			}
			prevStored = len(ids)
			p2.kill(t)
		}
	})
}

// sendUntilKilled runs concurrent WebSocket senders, each sending one
// message at a time, and signals the node (SIGKILL, or SIGTERM for a
// clean stop) as soon as want acks have arrived, or after delay when
// want is 0, with sends still in flight. It returns the acked messages.
func sendUntilKilled(t *testing.T, p *proc, tokens []string, room string, round, want int, delay time.Duration, sig syscall.Signal) map[string]string {
	t.Helper()
	var (
		mu      sync.Mutex
		acked   = map[string]string{}
		reached = make(chan struct{})
		once    sync.Once
		wg      sync.WaitGroup
	)
	for i, tok := range tokens {
		ws := dialAuthed(t, p.http, tok)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ws.Close()
			for n := 0; ; n++ {
				cid := fmt.Sprintf("r%d-s%d-%d", round, i, n)
				if err := ws.WriteJSON(map[string]string{"type": "send", "id": cid, "room": room, "body": "crash test " + cid}); err != nil {
					return
				}
				for {
					var f struct {
						Type, ID string
						Message  struct{ ID, ClientID string }
					}
					if err := ws.ReadJSON(&f); err != nil {
						return // killed
					}
					if f.Type == "error" {
						t.Errorf("send %s refused: %+v", cid, f)
						return
					}
					if f.Type != "ack" {
						continue
					}
					if f.ID != cid || f.Message.ClientID != cid {
						t.Errorf("ack %+v for send %s", f, cid)
					}
					mu.Lock()
					acked[f.Message.ID] = cid
					if len(acked) >= want {
						once.Do(func() { close(reached) })
					}
					mu.Unlock()
					break
				}
			}
		}()
	}
	// One more sender posts over REST: a 201 is the same promise.
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 10 * time.Second}
		for n := 0; ; n++ {
			cid := fmt.Sprintf("r%d-rest-%d", round, n)
			b, _ := json.Marshal(map[string]string{"body": "crash test " + cid, "clientId": cid})
			req, _ := http.NewRequest("POST", "http://"+p.http+"/api/v1/rooms/"+room+"/messages", bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+tokens[len(tokens)-1])
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return // killed
			}
			var m struct{ ID, ClientID string }
			err = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				// The per-user limit, which a long soak reaches: back
				// off as a client would; the send was not taken.
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if resp.StatusCode != http.StatusCreated || err != nil {
				if resp.StatusCode < 500 {
					t.Errorf("post %s: %d", cid, resp.StatusCode)
				}
				return // 503 while shutting down is fine
			}
			mu.Lock()
			acked[m.ID] = cid
			mu.Unlock()
		}
	}()
	if want > 0 {
		select {
		case <-reached:
		case <-time.After(60 * time.Second):
			t.Fatal("acks did not arrive")
		}
	} else {
		time.Sleep(delay)
	}
	if sig == syscall.SIGKILL {
		p.kill(t)
	} else {
		p.stopWith(t, sig)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(acked)
}

const testPassword = "correct horse battery"

type proc struct {
	cmd    *exec.Cmd
	http   string
	node   string
	ready  string // the ready log line
	stderr *syncBuffer
	done   chan struct{}
	state  *os.ProcessState
}

var readyRE = regexp.MustCompile(`msg="hearth ready".* http=(\S+) .*node=(\S+)`)

type readyLine struct{ line, http, node string }

func parseReady(logs string) *readyLine {
	for _, line := range strings.Split(logs, "\n") {
		if m := readyRE.FindStringSubmatch(line); m != nil {
			return &readyLine{line, m[1], m[2]}
		}
	}
	return nil
}

// startProc runs `hearth serve` on data and waits for its ready line.
func startProc(t *testing.T, bin, data string) *proc {
	t.Helper()
	return startServe(t, bin, data, "--name", "proc")
}

// startServe runs `hearth serve` on data with extra flags, waits for its
// ready line and checks that it names the chosen ports.
func startServe(t *testing.T, bin, data string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--mdns=false"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HEARTH_HTTP=127.0.0.1:8080") // the flag must win
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	ready := make(chan *readyLine, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.stderr.Write(append(sc.Bytes(), '\n'))
			if r := parseReady(sc.Text()); r != nil {
				select {
				case ready <- r:
				default:
				}
			}
		}
		_ = cmd.Wait()
		p.state = cmd.ProcessState
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	select {
	case r := <-ready:
		p.http, p.node, p.ready = r.http, r.node, r.line
	case <-p.done:
		t.Fatalf("hearth exited before it was ready:\n%s", p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("hearth not ready after 30s:\n%s", p.stderr.String())
	}
	if !strings.HasPrefix(p.http, "127.0.0.1:") || p.http == "127.0.0.1:8080" || !strings.HasPrefix(p.node, "12D3KooW") {
		t.Fatalf("ready line names http=%s node=%s", p.http, p.node)
	}
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.state.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("process still running after %v", timeout)
		return -1
	}
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t, 10*time.Second)
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.stopWith(t, syscall.SIGTERM)
}

// stopWith signals the process and expects a clean exit.
func (p *proc) stopWith(t *testing.T, sig syscall.Signal) {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after %v:\n%s", code, sig, p.stderr.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type apiClient struct{ base string }

type session struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

func (c *apiClient) mustDo(t *testing.T, method, path, token string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (c *apiClient) register(t *testing.T, name string) session {
	t.Helper()
	var s session
	c.mustDo(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": name, "password": testPassword}, 201, &s)
	return s
}

// sharedRoom registers n users named prefix0… and puts them in one new
// public room; it returns their access tokens and the room's ID.
func (c *apiClient) sharedRoom(t *testing.T, prefix string, n int) ([]string, string) {
	t.Helper()
	var tokens []string
	for i := range n {
		tokens = append(tokens, c.register(t, fmt.Sprintf("%s%d", prefix, i)).AccessToken)
	}
	var r struct{ ID string }
	c.mustDo(t, "POST", "/api/v1/rooms", tokens[0], map[string]string{"name": prefix, "visibility": "public"}, 201, &r)
	for _, tok := range tokens[1:] {
		c.mustDo(t, "POST", "/api/v1/rooms/"+r.ID+"/join", tok, nil, 200, nil)
	}
	return tokens, r.ID
}

// history pages through a room's whole history, newest first.
func (c *apiClient) history(t *testing.T, token, room string) []string {
	t.Helper()
	var ids []string
	q := "?limit=200"
	for {
		var p struct {
			Messages []struct{ ID string }
			More     bool
		}
		c.mustDo(t, "GET", "/api/v1/rooms/"+room+"/messages"+q, token, nil, 200, &p)
		for _, m := range p.Messages {
			ids = append(ids, m.ID)
		}
		if !p.More || len(p.Messages) == 0 {
			return ids
		}
		q = "?limit=200&before=" + p.Messages[len(p.Messages)-1].ID
	}
}

func mustGetJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// dialAuthed opens an authenticated WebSocket and waits for ready.
func dialAuthed(t *testing.T, addr, token string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := ws.WriteJSON(map[string]string{"type": "auth", "token": token}); err != nil {
		t.Fatal(err)
	}
	for {
		var f struct{ Type string }
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("auth: %v", err)
		}
		if f.Type == "ready" {
			break
		}
	}
	_ = ws.SetReadDeadline(time.Time{})
	return ws
}
