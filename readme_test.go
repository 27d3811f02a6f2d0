package hearth_test

// The README's first commands, run as a newcomer would type them: `make
// run` on another address, `make demo` on another base port, and the
// systemd unit's settings. Each node gets a temporary data directory and
// ports the kernel had free; each process group is stopped at the end.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
)

// startTimeout bounds how long a make target may take to build and bring
// its nodes up on a busy machine.
const startTimeout = 3 * time.Minute

// readme returns README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeCommand returns the README's command line that matches re, from
// an indented code block.
func readmeCommand(t *testing.T, re string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^    (` + re + `.*)$`).FindStringSubmatch(readme(t))
	if m == nil {
		t.Fatalf("the README shows no command matching %q", re)
	}
	return strings.TrimSpace(m[1])
}

func TestReadmeNamesRealTargets(t *testing.T) {
	out, err := exec.Command("make", "--no-print-directory", "help").CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+make (\S+)`).FindAllStringSubmatch(string(out), -1) {
		targets[m[1]] = true
	}
	text := readme(t)
	if !strings.HasPrefix(text, "# Hearth\n\n    make run ") || strings.Index(text, "make test ") > strings.Index(text, "make demo") {
		t.Error("the README must open with make run and make test, then make demo")
	}
	for _, m := range regexp.MustCompile("(?:^    |`)make ([a-z-]+)").FindAllStringSubmatch(text, -1) {
		if !targets[m[1]] {
			t.Errorf("the README mentions make %s, which make help does not list", m[1])
		}
	}
}

func TestMakeRunOnAnotherAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary through make")
	}
	for _, tc := range []struct{ name, re string }{
		{"make variable", `make run HTTP=`},
		{"environment", `HEARTH_HTTP=\S+ make run`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1))
			line := regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(readmeCommand(t, tc.re), addr)
			if !strings.Contains(line, addr) {
				t.Fatalf("no address to replace in %q", line)
			}
			// Everything but the HTTP address stays off the defaults: the
			// data directory, and libp2p on an ephemeral loopback port.
			line += " DATA=" + t.TempDir()
			p := startMake(t, line, "HEARTH_P2P=/ip4/127.0.0.1/tcp/0", "HEARTH_MDNS=false")
			url := "http://" + addr
			p.waitHealthy(t, url)
			p.waitOutput(t, "hearth ready", "http="+addr)
			p.stop(t)
		})
	}
}

func TestMakeDemoOnAnotherBasePort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three nodes through make")
	}
	line := readmeCommand(t, `make demo DEMO_PORT=`)
	base := freePorts(t, 3)
	line = regexp.MustCompile(`DEMO_PORT=\d+`).ReplaceAllString(line, "DEMO_PORT="+strconv.Itoa(base))
	p := startMake(t, line+" DEMO_DATA="+t.TempDir())
	p.waitOutput(t, "Press Ctrl-C")
	var urls []string
	for i := range 3 {
		url := fmt.Sprintf("http://127.0.0.1:%d", base+i)
		p.waitOutput(t, url)
		p.waitHealthy(t, url)
		urls = append(urls, url)
	}
	a, c := urls[0], urls[2]

	// The README's walk-through: sign up on A and on C, create a public
	// room on A, join it from C by its ID, and talk across B.
	alice, carol := register(t, a, "alice"), register(t, c, "carol")
	var room struct{ ID string }
	call(t, a, alice, "POST", "/api/v1/rooms", map[string]string{"name": "demo", "visibility": "public"}, http.StatusCreated, &room)
	poll.Until(t, time.Minute, func() error {
		// C learns of the room by gossip through B; until then the join fails.
		return tryCall(c, carol, "POST", "/api/v1/rooms/"+room.ID+"/join", nil, http.StatusOK, nil)
	})
	var sent struct{ ID string }
	call(t, a, alice, "POST", "/api/v1/rooms/"+room.ID+"/messages", map[string]string{"body": "hello, C"}, http.StatusCreated, &sent)
	poll.Until(t, time.Minute, func() error {
		var page struct{ Messages []struct{ ID, Body string } }
		if err := tryCall(c, carol, "GET", "/api/v1/rooms/"+room.ID+"/messages", nil, http.StatusOK, &page); err != nil {
			return err
		}
		for _, m := range page.Messages {
			if m.ID == sent.ID {
				return nil
			}
		}
		return fmt.Errorf("C holds %d messages, not A's", len(page.Messages))
	})
	p.stop(t)
	for _, url := range urls {
		if _, err := http.Get(url + "/healthz"); err == nil {
			t.Errorf("%s still answers after the demo stopped", url)
		}
	}
}

func TestSystemdUnitSetsRealFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	unit, err := os.ReadFile("docs/hearth.service")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^ExecStart=\S+/hearth serve$`).Match(unit) {
		t.Error("the unit's ExecStart does not run hearth serve")
	}
	bin := t.TempDir() + "/hearth"
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/hearth").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	help, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		flags[m[1]] = true
	}
	if !flags["http"] {
		t.Fatalf("could not read the flags from hearth serve -h:\n%s", help)
	}
	// Every setting, commented out or not, must name a flag: the node
	// ignores HEARTH_ variables it does not know.
	var env []string
	for _, m := range regexp.MustCompile(`(?m)^#?Environment=(HEARTH_([A-Z0-9_]+))=(.*)$`).FindAllStringSubmatch(string(unit), -1) {
		flag := strings.ReplaceAll(strings.ToLower(m[2]), "_", "-")
		if !flags[flag] {
			t.Errorf("the unit sets %s, but hearth serve has no --%s", m[1], flag)
		}
		if m[3] != "" {
			env = append(env, m[1]+"="+m[3])
		}
	}
	if len(env) < 3 {
		t.Fatalf("the unit sets %d HEARTH_ variables", len(env))
	}
	// The node starts with the unit's settings, moved to a temporary
	// directory and free ports.
	port := freePorts(t, 1)
	for i, kv := range env {
		switch {
		case strings.HasPrefix(kv, "HEARTH_DATA="):
			env[i] = "HEARTH_DATA=" + t.TempDir()
		case strings.HasPrefix(kv, "HEARTH_HTTP="):
			env[i] = fmt.Sprintf("HEARTH_HTTP=127.0.0.1:%d", port)
		case strings.HasPrefix(kv, "HEARTH_P2P="):
			env[i] = "HEARTH_P2P=/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0/quic-v1"
		}
	}
	p := start(t, exec.Command(bin, "serve"), env)
	p.waitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d", port))
	p.waitOutput(t, `"msg":"hearth ready"`) // HEARTH_LOG_FORMAT=json took
	p.stop(t)
}

// freePorts returns the first of n consecutive loopback ports that were
// free a moment ago, starting from one the kernel picked.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := first.Addr().(*net.TCPAddr).Port
		held := []net.Listener{first}
		for i := 1; i < n; i++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				break
			}
			held = append(held, ln)
		}
		for _, ln := range held {
			ln.Close()
		}
		if len(held) == n {
			return base
		}
	}
	t.Fatalf("found no %d consecutive free ports", n)
	return 0
}

// proc is a command running in its own process group, with its output
// collected.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	out bytes.Buffer
}

// startMake runs a README command line (make and its variables, after
// optional VAR=value assignments) with extra environment variables.
func startMake(t *testing.T, line string, env ...string) *proc {
	t.Helper()
	words := strings.Fields(line)
	i := slices.Index(words, "make")
	if i < 0 {
		t.Fatalf("%q does not run make", line)
	}
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, words[i+1:]...)...)
	return start(t, cmd, append(words[:i:i], env...))
}

func start(t *testing.T, cmd *exec.Cmd, env []string) *proc {
	t.Helper()
	p := &proc{cmd: cmd, done: make(chan struct{})}
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			p.mu.Lock()
			p.out.Write(append(s.Bytes(), '\n'))
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	go func() {
		_ = cmd.Wait()
		w.Close()
		close(p.done)
	}()
	t.Logf("started %s", strings.Join(append(env, cmd.Args...), " "))
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", cmd.Args, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits for a line of output that contains every part.
func (p *proc) waitOutput(t *testing.T, parts ...string) {
	t.Helper()
	poll.Until(t, startTimeout, func() error {
		for line := range strings.Lines(p.output()) {
			if containsAll(line, parts) {
				return nil
			}
		}
		select {
		case <-p.done:
			return poll.Stop(fmt.Errorf("exited without printing %q", parts))
		default:
		}
		return fmt.Errorf("no output line with %q yet", parts)
	})
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// waitHealthy waits for url/healthz to answer 200.
func (p *proc) waitHealthy(t *testing.T, url string) {
	t.Helper()
	poll.Until(t, startTimeout, func() error {
		select {
		case <-p.done:
			return poll.Stop(errors.New("exited before answering /healthz"))
		default:
		}
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz: %s", resp.Status)
		}
		return nil
	})
}

// stop sends SIGINT to the process group, as Ctrl-C in a terminal does,
// and waits for everything in it to exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	pgid := p.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatal("still running a minute after Ctrl-C")
	}
	poll.Until(t, 30*time.Second, func() error {
		// Kill with signal 0 only asks whether any member is left.
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return errors.New("a process of the group is still running")
	})
}

// register signs a user up on the node at url and returns an access token.
func register(t *testing.T, url, name string) string {
	t.Helper()
	var s struct{ AccessToken string }
	call(t, url, "", "POST", "/api/v1/auth/register", map[string]string{"username": name, "password": "correct horse battery"}, http.StatusCreated, &s)
	return s.AccessToken
}

func call(t *testing.T, url, token, method, path string, body any, want int, out any) {
	t.Helper()
	if err := tryCall(url, token, method, path, body, want, out); err != nil {
		t.Fatal(err)
	}
}

func tryCall(url, token, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
