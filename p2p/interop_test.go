package p2p_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// TestJSLibp2pReceivesRoomEvents runs a stock js-libp2p node
// (p2p/interop/subscribe.mjs) against a Hearth node: it subscribes to a
// public room's topic and must receive the event of a posted message.
// Install it with scripts/interop-install.sh; without node_modules the
// test is skipped.
func TestJSLibp2pReceivesRoomEvents(t *testing.T) {
	dir, _ := filepath.Abs("interop")
	// make test sets HEARTH_INTEROP=1 after installing the JS node, so
	// there a missing install fails instead of passing by skipping.
	skip := t.Skip
	if os.Getenv("HEARTH_INTEROP") == "1" {
		skip = t.Fatal
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "libp2p")); err != nil {
		skip("p2p/interop/node_modules missing: run scripts/interop-install.sh")
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed")
	}
	a := p2ptest.Start(t, "A", nil)
	ua := a.User(t, "alice")
	room, err := a.Node.CreateRoom(bg, ua, "open to all", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	topic := "hearth/room/1/" + string(room.ID)
	p2ptest.WaitFor(t, 5*time.Second, func() error {
		if !slices.Contains(a.Host.Topics(), topic) {
			return fmt.Errorf("not subscribed to %s yet", topic)
		}
		return nil
	})

	cmd := exec.Command(nodeBin, "subscribe.mjs", a.Host.Addrs()[0], topic, "60000")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBUG="+os.Getenv("INTEROP_DEBUG"))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]string
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range lines {
		}
		_ = cmd.Wait()
	})
	next := func() map[string]string {
		t.Helper()
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatal("js node exited")
			}
			return m
		case <-time.After(30 * time.Second):
			t.Fatal("js node said nothing for 30s")
		}
		return nil
	}
	ready := next()
	if ready["type"] != "ready" {
		t.Fatalf("js node said %v first", ready)
	}
	js, err := peer.Decode(ready["peer"])
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		if !slices.Contains(a.Host.TopicPeers(topic), js) {
			h := a.Host.LibP2P()
			protos, _ := h.Peerstore().GetProtocols(js)
			return fmt.Errorf("js peer not in the topic yet: %v, protocols %v", h.Network().Connectedness(js), protos)
		}
		return nil
	})
	m := mustSend(t, a, ua, room.ID, "hello, javascript")
	for {
		got := next()
		if got["type"] != "message" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(got["data"])
		if err != nil {
			t.Fatal(err)
		}
		e, err := node.DecodeEvent(raw, time.Now())
		if err != nil {
			t.Fatalf("js node received something that is not an event: %v", err)
		}
		if e.ID == m.ID {
			return
		}
	}
}
