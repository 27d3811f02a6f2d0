package webui_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/push"
)

// pushNode is a test node with Web Push on (a real sender; loopback
// endpoints allowed, as --push-allow-loopback does).
func pushNode(t *testing.T) *testNode {
	t.Helper()
	sender, err := push.Open(push.Config{KeyFile: filepath.Join(t.TempDir(), "vapid.key"), Subject: "mailto:ops@example.org", AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	return newTestNode(t, nodeOptions{node: func(c *node.Config) {
		c.Push = node.PushConfig{Sender: sender, AllowLoopbackHTTP: true, SubscriptionsPerUser: 3}
	}})
}

// browserKeys are a subscription's keys as a browser hands them over.
func browserKeys(t *testing.T) map[string]string {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	enc := base64.RawURLEncoding
	return map[string]string{"p256dh": enc.EncodeToString(k.PublicKey().Bytes()), "auth": enc.EncodeToString(auth)}
}

// TestNotificationSettingsAPI: reading and changing the global settings
// and a room's level, and every kind of bad input.
func TestNotificationSettingsAPI(t *testing.T) {
	tn := pushNode(t)
	alice, bob := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob")
	room := alice.mustCreateRoom(t, "garden", "public")
	path := "/api/v1/rooms/" + string(room.ID) + "/notifications"

	var ns node.NotifySettings
	alice.must(t, "GET", "/api/v1/notifications", nil, 200, &ns)
	if ns.DND || len(ns.Rooms) != 0 || ns.Defaults["dm"] != "all" || ns.Defaults["group"] != "mentions" {
		t.Fatalf("fresh settings %+v", ns)
	}
	var rn node.RoomNotify
	alice.must(t, "GET", path, nil, 200, &rn)
	if rn.Level != "mentions" || !rn.Default {
		t.Fatalf("fresh room level %+v", rn)
	}
	alice.must(t, "PUT", path, map[string]string{"level": "mute"}, 200, &rn)
	if rn.Level != "mute" || rn.Default {
		t.Fatalf("after mute: %+v", rn)
	}
	until := time.Now().Add(time.Hour).UnixMilli()
	alice.must(t, "PUT", "/api/v1/notifications", map[string]any{"dnd": true, "dndUntil": until}, 200, &ns)
	if !ns.DND || ns.DNDUntil != until || ns.Rooms[room.ID] != "mute" {
		t.Fatalf("after dnd: %+v", ns)
	}
	alice.must(t, "PUT", path, map[string]string{"level": "default"}, 200, &rn)
	if rn.Level != "mentions" || !rn.Default {
		t.Fatalf("after default: %+v", rn)
	}
	var reset node.NotifySettings // a fresh value: decoding merges maps
	alice.must(t, "GET", "/api/v1/notifications", nil, 200, &reset)
	if len(reset.Rooms) != 0 {
		t.Fatalf("after default: %+v", reset)
	}

	for _, c := range []struct {
		name, method, path string
		body               any
		token              string
		status             int
		code               string
	}{
		{"unknown level", "PUT", path, map[string]string{"level": "loud"}, alice.Access, 400, "invalid_argument"},
		{"no level", "PUT", path, map[string]string{}, alice.Access, 400, "invalid_argument"},
		{"malformed JSON", "PUT", path, `{"level":`, alice.Access, 400, "invalid_argument"},
		{"level of a room one is not in", "PUT", path, map[string]string{"level": "all"}, bob.Access, 404, "not_found"},
		{"level of no room", "GET", "/api/v1/rooms/nosuchroom/notifications", nil, alice.Access, 404, "not_found"},
		{"dnd missing", "PUT", "/api/v1/notifications", map[string]any{"dndUntil": until}, alice.Access, 400, "invalid_argument"},
		{"dnd until in the past", "PUT", "/api/v1/notifications", map[string]any{"dnd": true, "dndUntil": 1000}, alice.Access, 400, "invalid_argument"},
		{"until without dnd", "PUT", "/api/v1/notifications", map[string]any{"dnd": false, "dndUntil": until}, alice.Access, 400, "invalid_argument"},
		{"dnd not a bool", "PUT", "/api/v1/notifications", `{"dnd":"yes"}`, alice.Access, 400, "invalid_argument"},
		{"no token", "GET", "/api/v1/notifications", nil, "", 401, "unauthenticated"},
		{"wrong method", "DELETE", "/api/v1/notifications", nil, alice.Access, 405, "method_not_allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := tn.do(t, request{method: c.method, path: c.path, body: c.body, token: c.token})
			if r.Status != c.status || r.errorCode(t) != c.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, c.status, c.code)
			}
		})
	}
	var after node.NotifySettings
	alice.must(t, "GET", "/api/v1/notifications", nil, 200, &after)
	if !after.DND || after.DNDUntil != until || len(after.Rooms) != 0 {
		t.Fatalf("bad input changed the settings: %+v", after)
	}
}

// TestNotificationSettingsReachEveryTab: a change made in one tab is
// sent, as the whole settings, to every connection of the user (the
// other tab follows at once), and to no one else's.
func TestNotificationSettingsReachEveryTab(t *testing.T) {
	tn := pushNode(t)
	alice, bob := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob")
	room := alice.mustCreateRoom(t, "garden", "public")
	tab1, tab2, other := alice.mustWS(t), alice.mustWS(t), bob.mustWS(t)
	settings := func(w *wsClient, match func(node.NotifySettings) bool) {
		t.Helper()
		w.expect(t, "notifications", func(f wsFrame) bool {
			var ns node.NotifySettings
			return json.Unmarshal(f.Settings, &ns) == nil && match(ns)
		})
	}
	alice.must(t, "PUT", "/api/v1/rooms/"+string(room.ID)+"/notifications", map[string]string{"level": "mute"}, 200, nil)
	for _, w := range []*wsClient{tab1, tab2} {
		settings(w, func(ns node.NotifySettings) bool { return ns.Rooms[room.ID] == "mute" && !ns.DND })
	}
	alice.must(t, "PUT", "/api/v1/notifications", map[string]any{"dnd": true}, 200, nil)
	for _, w := range []*wsClient{tab1, tab2} {
		settings(w, func(ns node.NotifySettings) bool { return ns.DND && ns.Rooms[room.ID] == "mute" })
	}
	other.expectNone(t, "notifications", nil, 300*time.Millisecond)
}

// TestPushSubscriptionAPI: the VAPID key, registering (idempotent per
// endpoint), listing without keys, the per-user cap, removing, and bad
// subscriptions refused with a clear 400.
func TestPushSubscriptionAPI(t *testing.T) {
	tn := pushNode(t)
	alice := tn.mustRegister(t, "alice")
	var vapid struct{ PublicKey string }
	tn.must(t, request{method: "GET", path: "/api/v1/push/vapid"}, 200, &vapid)
	if len(vapid.PublicKey) != 87 {
		t.Fatalf("vapid key %q", vapid.PublicKey)
	}
	keys := browserKeys(t)
	sub := map[string]any{"endpoint": "https://push.example.org/send/abc", "keys": keys, "expirationTime": nil}
	var created struct{ ID, Endpoint string }
	alice.must(t, "POST", "/api/v1/push/subscriptions", sub, 201, &created)
	alice.must(t, "POST", "/api/v1/push/subscriptions", sub, 200, nil) // the same browser again
	var list struct {
		Subscriptions []map[string]any
	}
	alice.must(t, "GET", "/api/v1/push/subscriptions", nil, 200, &list)
	if len(list.Subscriptions) != 1 || list.Subscriptions[0]["id"] != created.ID {
		t.Fatalf("list %v", list)
	}
	for _, secret := range []string{"p256dh", "auth", "keys"} {
		if _, ok := list.Subscriptions[0][secret]; ok {
			t.Fatalf("list shows %s: %v", secret, list)
		}
	}

	bad := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{"endpoint": "https://push.example.org/send/x", "keys": browserKeys(t)}
		mut(m)
		return m
	}
	notOnCurve := make([]byte, 65)
	notOnCurve[0] = 4
	for _, c := range []struct {
		name string
		body any
	}{
		{"malformed JSON", `{"endpoint": "https://p/x", "keys": {`},
		{"not an object", `[1,2]`},
		{"no endpoint", bad(func(m map[string]any) { delete(m, "endpoint") })},
		{"no keys", bad(func(m map[string]any) { delete(m, "keys") })},
		{"http endpoint", bad(func(m map[string]any) { m["endpoint"] = "http://push.example.org/send/x" })},
		{"relative endpoint", bad(func(m map[string]any) { m["endpoint"] = "/send/x" })},
		{"endpoint with credentials", bad(func(m map[string]any) { m["endpoint"] = "https://u:p@push.example.org/x" })},
		{"javascript endpoint", bad(func(m map[string]any) { m["endpoint"] = "javascript:alert(1)" })},
		{"p256dh not base64", bad(func(m map[string]any) { m["keys"].(map[string]string)["p256dh"] = "!!!" })},
		{"p256dh not on the curve", bad(func(m map[string]any) {
			m["keys"].(map[string]string)["p256dh"] = base64.RawURLEncoding.EncodeToString(notOnCurve)
		})},
		{"auth too short", bad(func(m map[string]any) { m["keys"].(map[string]string)["auth"] = "AAAA" })},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := alice.call(t, "POST", "/api/v1/push/subscriptions", c.body)
			if r.Status != 400 || r.errorCode(t) != "invalid_argument" {
				t.Fatalf("%d %s, want 400 invalid_argument", r.Status, r.Body)
			}
		})
	}
	t.Run("loopback http is allowed with the option", func(t *testing.T) {
		alice.must(t, "POST", "/api/v1/push/subscriptions", map[string]any{"endpoint": "http://127.0.0.1:9/push/x", "keys": browserKeys(t)}, 201, nil)
	})
	t.Run("too many subscriptions", func(t *testing.T) {
		alice.must(t, "POST", "/api/v1/push/subscriptions", map[string]any{"endpoint": "https://push.example.org/send/3", "keys": browserKeys(t)}, 201, nil)
		r := alice.call(t, "POST", "/api/v1/push/subscriptions", map[string]any{"endpoint": "https://push.example.org/send/4", "keys": browserKeys(t)})
		if r.Status != 403 || r.errorCode(t) != "limit_exceeded" {
			t.Fatalf("4th subscription (cap 3): %d %s", r.Status, r.Body)
		}
		alice.must(t, "POST", "/api/v1/push/subscriptions", sub, 200, nil) // replacing one is fine at the cap
	})
	t.Run("remove", func(t *testing.T) {
		alice.must(t, "DELETE", "/api/v1/push/subscriptions/"+created.ID, nil, 204, nil)
		r := alice.call(t, "DELETE", "/api/v1/push/subscriptions/"+created.ID, nil)
		if r.Status != 404 || r.errorCode(t) != "not_found" {
			t.Fatalf("second delete: %d %s", r.Status, r.Body)
		}
		alice.must(t, "GET", "/api/v1/push/subscriptions", nil, 200, &list)
		if len(list.Subscriptions) != 2 {
			t.Fatalf("after delete: %v", list)
		}
	})
	t.Run("another user cannot remove it", func(t *testing.T) {
		bob := tn.mustRegister(t, "bob")
		id := fmt.Sprint(list.Subscriptions[0]["id"])
		if r := bob.call(t, "DELETE", "/api/v1/push/subscriptions/"+id, nil); r.Status != 404 {
			t.Fatalf("bob deletes alice's subscription: %d", r.Status)
		}
	})
}

// TestPushOff: a node without Web Push says so with 404s.
func TestPushOff(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	if r := tn.do(t, request{method: "GET", path: "/api/v1/push/vapid"}); r.Status != http.StatusNotFound || r.errorCode(t) != "not_found" {
		t.Fatalf("vapid without push: %d %s", r.Status, r.Body)
	}
	r := alice.call(t, "POST", "/api/v1/push/subscriptions", map[string]any{"endpoint": "https://p.example.org/x", "keys": browserKeys(t)})
	if r.Status != http.StatusNotFound {
		t.Fatalf("subscribe without push: %d %s", r.Status, r.Body)
	}
	// Settings work without push: the browser's desktop notifications
	// follow them too.
	alice.must(t, "PUT", "/api/v1/notifications", map[string]any{"dnd": true}, 200, nil)
}

// TestPushSubscriptionGoesWithItsDevice: deleting a device removes the
// push subscriptions it registered, and only those.
func TestPushSubscriptionGoesWithItsDevice(t *testing.T) {
	tn := pushNode(t)
	var s session
	tn.must(t, request{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"username": "alice", "password": testPassword}}, http.StatusCreated, &s)
	first := &client{tn: tn, User: s.User, Access: s.AccessToken}
	second := tn.mustLogin(t, "alice")
	first.must(t, "POST", "/api/v1/push/subscriptions", map[string]any{"endpoint": "https://push.example.org/first", "keys": browserKeys(t)}, 201, nil)
	second.must(t, "POST", "/api/v1/push/subscriptions", map[string]any{"endpoint": "https://push.example.org/second", "keys": browserKeys(t)}, 201, nil)
	second.must(t, "DELETE", "/api/v1/devices/"+s.DeviceID, map[string]string{"password": testPassword}, 204, nil)
	var list struct {
		Subscriptions []struct{ Endpoint string }
	}
	second.must(t, "GET", "/api/v1/push/subscriptions", nil, 200, &list)
	if len(list.Subscriptions) != 1 || list.Subscriptions[0].Endpoint != "https://push.example.org/second" {
		t.Fatalf("after deleting the first device: %+v", list)
	}
}
