package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/push/pushtest"
)

// TestPushAcrossNodes: bob on node B mentions alice, who lives on node A
// and has no tab open; A's push reaches alice's browser's push service
// (a local one) and decrypts (RFC 8291) to bob's words, signed with A's
// VAPID key. Once alice mutes the room, a further mention pushes nothing,
// while a DM still does. Real `hearth serve` processes, libp2p, Badger.
func TestPushAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real binaries")
	}
	bin := filepath.Join(t.TempDir(), "hearth")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	svc := pushtest.NewService()
	defer svc.Close()
	dataA, dataB := filepath.Join(t.TempDir(), "A"), filepath.Join(t.TempDir(), "B")
	a := startPushPeer(t, bin, dataA)
	b := startPushPeer(t, bin, dataB, a.p2p[0])
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("A logs:\n%s\nB logs:\n%s", tail(a.stderr.String(), 4000), tail(b.stderr.String(), 4000))
		}
	})
	alice, bob := a.api.register(t, "alice"), b.api.register(t, "bob")
	aliceID := "alice@" + a.node

	var vapid struct{ PublicKey string }
	mustGetJSON(t, "http://"+a.http+"/api/v1/push/vapid", &vapid)
	svc.ExpectVAPID(vapid.PublicKey)
	sub := svc.Subscribe()
	a.api.mustDo(t, "POST", "/api/v1/push/subscriptions", alice.AccessToken, map[string]any{
		"endpoint": sub.Endpoint, "keys": map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth},
	}, 201, nil)

	var room struct{ ID string }
	b.api.mustDo(t, "POST", "/api/v1/rooms", bob.AccessToken, map[string]any{"name": "garden", "visibility": "public", "encrypted": false}, 201, &room)
	poll.Until(t, 30*time.Second, func() error {
		if code, err := a.api.try("POST", "/api/v1/rooms/"+room.ID+"/join", alice.AccessToken, nil, nil); code != 200 {
			return fmt.Errorf("alice joins bob's room: %d %v", code, err)
		}
		return nil
	})
	// The join must have reached B before bob's mention names a member.
	poll.Until(t, 30*time.Second, func() error {
		var r struct{ Members []string }
		if code, err := b.api.try("GET", "/api/v1/rooms/"+room.ID, bob.AccessToken, nil, &r); code != 200 || !slices.Contains(r.Members, aliceID) {
			return fmt.Errorf("B does not see alice in the room yet: %d %v %v", code, err, r.Members)
		}
		return nil
	})

	// accepted waits for an accepted push of message id and returns its
	// decrypted payload.
	accepted := func(id string) map[string]any {
		t.Helper()
		var hit []byte
		got, ok := svc.Wait(30*time.Second, func(ps []pushtest.Push) bool {
			for _, p := range ps {
				if p.Status == 201 && strings.Contains(string(p.Payload), id) {
					hit = p.Payload
					return true
				}
			}
			return false
		})
		if !ok {
			t.Fatalf("no push of %s; the service received %d pushes", id, len(got))
		}
		var m map[string]any
		if err := json.Unmarshal(hit, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	post := func(p *fedProc, token, roomID, body string, mentions ...string) string {
		t.Helper()
		var m struct{ ID string }
		p.api.mustDo(t, "POST", "/api/v1/rooms/"+roomID+"/messages", token, map[string]any{"body": body, "mentions": mentions}, 201, &m)
		return m.ID
	}

	mention := post(b, bob.AccessToken, room.ID, "@alice the tomatoes are ripe", aliceID)
	p := accepted(mention)
	if p["room"] != room.ID || p["roomName"] != "garden" || p["sender"] != "bob@"+b.node || p["body"] != "@alice the tomatoes are ripe" {
		t.Fatalf("payload %v", p)
	}

	a.api.mustDo(t, "PUT", "/api/v1/rooms/"+room.ID+"/notifications", alice.AccessToken, map[string]string{"level": "mute"}, 200, nil)
	muted := post(b, bob.AccessToken, room.ID, "@alice are you there?", aliceID)
	// Once the muted mention is stored on A, its push was decided before
	// that of any message that arrives later: the DM is the sentinel.
	poll.Until(t, 30*time.Second, func() error {
		if !slices.Contains(a.api.history(t, alice.AccessToken, room.ID), muted) {
			return fmt.Errorf("A lacks %s", muted)
		}
		return nil
	})
	var dm struct{ ID string }
	b.api.mustDo(t, "POST", "/api/v1/dm", bob.AccessToken, map[string]any{"userId": aliceID, "encrypted": false}, 200, &dm)
	sentinel := post(b, bob.AccessToken, dm.ID, "a direct word")
	if got := accepted(sentinel); got["body"] != "a direct word" {
		t.Fatalf("dm payload %v", got)
	}
	for _, p := range svc.Received() {
		if strings.Contains(string(p.Payload), muted) {
			t.Fatalf("a mention in a muted room was pushed: %s", p.Payload)
		}
		if p.Err != nil {
			t.Fatalf("the push service refused a push: %v", p.Err)
		}
	}
}

// startPushPeer is startPeer with http:// push endpoints on loopback
// allowed, so that the local push service can be used.
func startPushPeer(t *testing.T, bin, data string, peers ...string) *fedProc {
	t.Helper()
	extra := []string{"--name", filepath.Base(data), "--push-allow-loopback"}
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
