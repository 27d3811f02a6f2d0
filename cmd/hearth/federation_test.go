package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
)

var p2pRE = regexp.MustCompile(`p2p=(\S+)`)

// fedProc is a `hearth serve` process of a federation test.
type fedProc struct {
	*proc
	p2p  []string
	data string
	api  *apiClient
}

// startPeer runs `hearth serve` on data with the given --peer addresses
// and parses HTTP, node and libp2p addresses from its ready line.
func startPeer(t *testing.T, bin, data string, peers ...string) *fedProc {
	t.Helper()
	extra := []string{"--name", filepath.Base(data)}
	for _, p := range peers {
		extra = append(extra, "--peer", p)
	}
	p := startServe(t, bin, data, extra...)
	m := p2pRE.FindStringSubmatch(p.ready)
	if m == nil {
		t.Fatalf("cannot parse libp2p addresses from ready line %q", p.ready)
	}
	return &fedProc{proc: p, p2p: strings.Split(m[1], ","), data: data, api: &apiClient{base: "http://" + p.http}}
}

// try is mustDo without failing: it reports the status.
func (c *apiClient) try(method, path, token string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		_ = json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

func TestFederationProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three binaries")
	}
	bin := filepath.Join(t.TempDir(), "hearth")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataA, dataB, dataC := filepath.Join(t.TempDir(), "A"), filepath.Join(t.TempDir(), "B"), filepath.Join(t.TempDir(), "C")
	a := startPeer(t, bin, dataA)
	b := startPeer(t, bin, dataB, a.p2p[0])
	c := startPeer(t, bin, dataC, b.p2p[0])
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range []*fedProc{a, b, c} {
				t.Logf("%s logs:\n%s", p.data, tail(p.stderr.String(), 4000))
			}
		}
	})
	outer := t // processes started in subtests live as long as the test
	alice, bob, carol := a.api.register(t, "alice"), b.api.register(t, "bob"), c.api.register(t, "carol")
	aliceID, carolID := "alice@"+a.node, "carol@"+c.node

	var room struct{ ID string }
	a.api.mustDo(t, "POST", "/api/v1/rooms", alice.AccessToken, map[string]string{"name": "town", "visibility": "public"}, 201, &room)
	for _, j := range []struct {
		p   *fedProc
		tok string
	}{{b, bob.AccessToken}, {c, carol.AccessToken}} {
		poll.Until(t, 20*time.Second, func() error {
			if code, err := j.p.api.try("POST", "/api/v1/rooms/"+room.ID+"/join", j.tok, nil, nil); code != 200 {
				return fmt.Errorf("join on %s: %d %v", j.p.node, code, err)
			}
			return nil
		})
	}

	t.Run("message on A reaches a WebSocket on C through B", func(t *testing.T) {
		ws := dialAuthed(t, c.http, carol.AccessToken)
		var msg struct{ ID string }
		a.api.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken, map[string]string{"body": "over the hills"}, 201, &msg)
		_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		for {
			var f struct {
				Type    string
				Message struct{ ID, Body string }
			}
			if err := ws.ReadJSON(&f); err != nil {
				t.Fatalf("carol never got %s: %v", msg.ID, err)
			}
			if f.Type == "message" && f.Message.ID == msg.ID {
				break
			}
		}
	})

	// carolMentions polls C until carol's mention count in the room is want.
	carolMentions := func(t *testing.T, want int) {
		t.Helper()
		poll.Until(t, 30*time.Second, func() error {
			var r struct{ Mentions *int }
			if code, err := c.api.try("GET", "/api/v1/rooms/"+room.ID, carol.AccessToken, nil, &r); code != 200 || r.Mentions == nil {
				return fmt.Errorf("GET room on C: %d %v %+v", code, err, r)
			}
			if *r.Mentions != want {
				return fmt.Errorf("carol's mention count on C = %d, want %d", *r.Mentions, want)
			}
			return nil
		})
	}

	t.Run("a mention from a user on A raises the mention count on C", func(t *testing.T) {
		var m struct {
			Mentions []string
		}
		a.api.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken,
			map[string]any{"body": "@carol look", "mentions": []string{carolID}}, 201, &m)
		if !slices.Equal(m.Mentions, []string{carolID}) {
			t.Fatalf("the message carries mentions %v, want [%s]", m.Mentions, carolID)
		}
		carolMentions(t, 1)
	})

	t.Run("C killed and restarted catches up", func(t *testing.T) {
		c.kill(t)
		for i := range 20 {
			body := map[string]any{"body": fmt.Sprintf("while C is down %d", i)}
			if i == 7 {
				body["mentionsRoom"] = true // a mention C learns of by catch-up
			}
			a.api.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken, body, 201, nil)
		}
		c = startPeer(outer, bin, dataC, b.p2p[0])
		want := a.api.history(t, alice.AccessToken, room.ID)
		poll.Until(t, 30*time.Second, func() error {
			got := c.api.history(t, carol.AccessToken, room.ID)
			if !slices.Equal(got, want) {
				return fmt.Errorf("C holds %d messages, A %d", len(got), len(want))
			}
			return nil
		})
		// The mention before the kill survived the restart, and the one
		// sent while C was down came with the catch-up.
		carolMentions(t, 2)
	})

	t.Run("C's search finds A's messages and edits", func(t *testing.T) {
		var msg struct{ ID string }
		a.api.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken, map[string]string{"body": "meet at the lighthouse"}, 201, &msg)
		found := func(q string) ([]string, error) {
			var page struct {
				Results []struct{ ID, Body, Sender string }
			}
			if code, err := c.api.try("GET", "/api/v1/search?q="+q, carol.AccessToken, nil, &page); code != 200 {
				return nil, fmt.Errorf("search %s on C: %d %v", q, code, err)
			}
			var out []string
			for _, r := range page.Results {
				out = append(out, r.Body)
			}
			return out, nil
		}
		want := func(q string, bodies ...string) {
			t.Helper()
			poll.Until(t, 20*time.Second, func() error {
				got, err := found(q)
				if err == nil && !slices.Equal(got, bodies) {
					err = fmt.Errorf("C's search for %s found %q, want %q", q, got, bodies)
				}
				return err
			})
		}
		want("lighthouse", "meet at the lighthouse")
		// Caught up after the restart, through history sync.
		want("%22down+7%22", "while C is down 7")
		a.api.mustDo(t, "PATCH", "/api/v1/rooms/"+room.ID+"/messages/"+msg.ID, alice.AccessToken, map[string]string{"body": "meet at the harbour"}, 200, nil)
		want("harbour", "meet at the harbour")
		want("lighthouse")
	})

	t.Run("DM and private room stay off B", func(t *testing.T) {
		var dm struct{ ID string }
		// Plaintext rooms: this test is about node-level privacy.
		a.api.mustDo(t, "POST", "/api/v1/dm", alice.AccessToken, map[string]any{"userId": carolID, "encrypted": false}, 200, &dm)
		var priv struct{ ID string }
		a.api.mustDo(t, "POST", "/api/v1/rooms", alice.AccessToken, map[string]any{"name": "inner", "visibility": "private", "encrypted": false}, 201, &priv)
		a.api.mustDo(t, "POST", "/api/v1/rooms/"+priv.ID+"/invite", alice.AccessToken, map[string]string{"userId": carolID}, 204, nil)
		poll.Until(t, 20*time.Second, func() error {
			if code, err := c.api.try("POST", "/api/v1/rooms/"+priv.ID+"/join", carol.AccessToken, nil, nil); code != 200 {
				return fmt.Errorf("carol joins private room: %d %v", code, err)
			}
			return nil
		})
		secrets := map[string]string{dm.ID: "zebra-dm-secret-4711", priv.ID: "walrus-room-secret-0815"}
		for id, body := range secrets {
			var m struct{ ID string }
			a.api.mustDo(t, "POST", "/api/v1/rooms/"+id+"/messages", alice.AccessToken, map[string]string{"body": body}, 201, &m)
			poll.Until(t, 20*time.Second, func() error {
				if !slices.Contains(c.api.history(t, carol.AccessToken, id), m.ID) {
					return fmt.Errorf("carol lacks %s", m.ID)
				}
				return nil
			})
			var reply struct{ ID string }
			c.api.mustDo(t, "POST", "/api/v1/rooms/"+id+"/messages", carol.AccessToken, map[string]string{"body": "ack " + body}, 201, &reply)
			poll.Until(t, 20*time.Second, func() error {
				if !slices.Contains(a.api.history(t, alice.AccessToken, id), reply.ID) {
					return fmt.Errorf("alice lacks %s", reply.ID)
				}
				return nil
			})
			if code, _ := b.api.try("GET", "/api/v1/rooms/"+id+"/messages", bob.AccessToken, nil, nil); code < 400 {
				t.Fatalf("B serves private room %s to bob: %d", id, code)
			}
		}
		// Stop A and B cleanly so everything is on disk, then look for the
		// plaintext in their files: A (a member) must have it, B must not.
		a.stop(t)
		b.stop(t)
		for _, body := range secrets {
			if !dirContains(t, dataA, body) {
				t.Logf("A's files do not show %q verbatim (compressed?); relying on the API check", body)
				continue
			}
			if dirContains(t, dataB, body) {
				t.Fatalf("B's data dir holds private plaintext %q", body)
			}
		}
	})
	_ = aliceID
}

func dirContains(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || found {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = true
		}
		return nil
	})
	return found
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
