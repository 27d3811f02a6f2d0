package push_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/push"
	"github.com/hearth-chat/hearth/push/pushtest"
	"github.com/hearth-chat/hearth/store"
)

// world is a node on a real Badger store whose pushes go through a real
// Sender to a local push service.
type world struct {
	t    *testing.T
	dir  string
	key  ed25519.PrivateKey
	svc  *pushtest.Service
	db   *store.DB
	n    *node.Node
	send *push.Sender
}

func newWorld(t *testing.T) *world {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: t.TempDir(), key: key, svc: pushtest.NewService()}
	t.Cleanup(w.svc.Close)
	w.open()
	t.Cleanup(w.close)
	return w
}

// open starts the node on w's data; close stops it (a restart is both).
func (w *world) open() {
	t := w.t
	t.Helper()
	var err error
	if w.db, err = store.Open(filepath.Join(w.dir, "db"), store.Options{}); err != nil {
		t.Fatal(err)
	}
	w.send = mustSender(t, w.dir, true)
	w.svc.ExpectVAPID(w.send.PublicKey())
	w.n, err = node.New(context.Background(), node.Config{Store: w.db, Key: w.key, Name: "t", Push: node.PushConfig{
		Sender: w.send, AllowLoopbackHTTP: true, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) close() {
	if w.n == nil {
		return
	}
	w.n.Close()
	w.db.Close()
	w.n = nil
}

func (w *world) user(name string) node.UserID {
	w.t.Helper()
	u, err := w.n.RegisterWith(context.Background(), node.Registration{Username: name, Password: "correct horse battery", DisplayName: strings.ToUpper(name)})
	if err != nil {
		w.t.Fatal(err)
	}
	return u.ID
}

func (w *world) room(owner node.UserID, name string, encrypted bool, members ...node.UserID) node.RoomID {
	w.t.Helper()
	ctx := context.Background()
	r, err := w.n.CreateRoomWith(ctx, owner, name, "", node.Public, node.RoomOptions{Encrypted: encrypted})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range members {
		if _, err := w.n.Join(ctx, m, r.ID); err != nil {
			w.t.Fatal(err)
		}
	}
	return r.ID
}

func (w *world) subscribe(u node.UserID) *pushtest.Subscription {
	w.t.Helper()
	s := w.svc.Subscribe()
	if _, _, err := w.n.Subscribe(context.Background(), u, node.PushSubscribe{Endpoint: s.Endpoint, P256dh: s.P256dh, Auth: s.Auth}); err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *world) say(u node.UserID, room node.RoomID, body string, mentions ...node.UserID) *node.Message {
	w.t.Helper()
	m, err := w.n.Send(context.Background(), u, node.SendParams{Room: room, Body: body, Mentions: mentions})
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// accepted waits until the service has accepted (201) a push of message
// id and returns its payload.
func (w *world) accepted(id node.EventID) map[string]any {
	w.t.Helper()
	return w.acceptedT(w.t, id)
}

func (w *world) acceptedT(t testing.TB, id node.EventID) map[string]any {
	t.Helper()
	var hit *pushtest.Push
	got, ok := w.svc.Wait(10*time.Second, func(ps []pushtest.Push) bool {
		for i := range ps {
			if ps[i].Status == http.StatusCreated && strings.Contains(string(ps[i].Payload), string(id)) {
				hit = &ps[i]
				return true
			}
		}
		return false
	})
	if !ok {
		var seen []string
		for _, p := range got {
			seen = append(seen, fmt.Sprintf("%d %s %v", p.Status, p.Payload, p.Err))
		}
		t.Fatalf("no accepted push of %s; received %q", id, seen)
	}
	return payloadOf(t, *hit)
}

// pushedIDs lists the message IDs of every push the service received.
func (w *world) pushedIDs() []string {
	var ids []string
	for _, p := range w.svc.Received() {
		var m struct{ Message string }
		_ = json.Unmarshal(p.Payload, &m)
		ids = append(ids, m.Message)
	}
	return ids
}

// idle waits until the outbox is empty.
func (w *world) idle() {
	w.t.Helper()
	poll.Until(w.t, 10*time.Second, func() error {
		if q, _ := w.n.PushStats(); q != 0 {
			return fmt.Errorf("%d pushes still queued", q)
		}
		return nil
	})
}

// TestPushMentionDecrypted: a mention of a user with no tab open reaches
// their subscription as a payload that decrypts (RFC 8291) to the room,
// its name, the sender's name, the text and the message ID.
func TestPushMentionDecrypted(t *testing.T) {
	w := newWorld(t)
	alice, bob := w.user("alice"), w.user("bob")
	room := w.room(bob, "garden", false, alice)
	w.subscribe(alice)
	m := w.say(bob, room, "hello @alice, look at this", alice)
	p := w.accepted(m.ID)
	want := map[string]any{"room": string(room), "roomName": "garden", "sender": string(bob), "senderName": "BOB",
		"body": "hello @alice, look at this", "message": string(m.ID)}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("payload %s = %v, want %v (payload %v)", k, p[k], v, p)
		}
	}
	if got := w.svc.Received(); got[len(got)-1].Urgency != "high" || got[len(got)-1].TTL == "" {
		t.Errorf("urgency %q TTL %q", got[len(got)-1].Urgency, got[len(got)-1].TTL)
	}
	t.Run("own messages and non-mentions in a group room push nothing", func(t *testing.T) {
		own := w.say(alice, room, "my own words", alice)
		plain := w.say(bob, room, "nothing for alice")
		sentinel := w.say(bob, room, "@room everyone", alice)
		w.accepted(sentinel.ID)
		w.idle()
		if ids := w.pushedIDs(); slices.Contains(ids, string(own.ID)) || slices.Contains(ids, string(plain.ID)) {
			t.Fatalf("pushed %v: includes alice's own message or a non-mention", ids)
		}
	})
	t.Run("a long body is cut", func(t *testing.T) {
		m := w.say(bob, room, strings.Repeat("é", 1000), alice)
		if body := w.accepted(m.ID)["body"].(string); len([]rune(body)) != 140 || !strings.HasSuffix(body, "…") {
			t.Fatalf("body of %d characters", len([]rune(body)))
		}
	})
}

// TestPushSettings: mute and do-not-disturb stop pushes, all pushes every
// message, a DM pushes every message by default, and a user with a
// WebSocket open gets no push.
func TestPushSettings(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	alice, bob := w.user("alice"), w.user("bob")
	room := w.room(bob, "garden", false, alice)
	w.subscribe(alice)
	dm, err := w.n.DMWith(ctx, bob, alice, node.RoomOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// carol's pushes are the sentinel: the worker takes messages in
	// order, so once carol's push of a later message arrives, alice's
	// of the earlier ones were decided.
	carol := w.user("carol")
	if _, err := w.n.Join(ctx, carol, room); err != nil {
		t.Fatal(err)
	}
	w.subscribe(carol)
	// check runs step, which sets alice's settings and sends messages,
	// waits for those that must push and checks that the others did
	// not; then it puts alice's settings back.
	check := func(t *testing.T, step func() (pushed, silent []*node.Message)) {
		t.Helper()
		pushed, silent := step()
		for _, m := range pushed {
			w.acceptedT(t, m.ID)
		}
		w.acceptedT(t, w.say(bob, room, "sentinel", carol).ID)
		w.idle()
		ids := w.pushedIDs()
		for _, m := range silent {
			if slices.Contains(ids, string(m.ID)) {
				t.Errorf("%q was pushed", m.Body)
			}
		}
		for _, r := range []node.RoomID{room, dm.ID} {
			if _, err := w.n.SetRoomNotify(ctx, alice, r, node.NotifyDefault); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.n.SetNotifyPrefs(ctx, alice, node.NotifyPrefs{}); err != nil {
			t.Fatal(err)
		}
	}
	level := func(t *testing.T, r node.RoomID, l string) {
		t.Helper()
		if _, err := w.n.SetRoomNotify(ctx, alice, r, l); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("a DM pushes every message by default", func(t *testing.T) {
		check(t, func() ([]*node.Message, []*node.Message) {
			return []*node.Message{w.say(bob, dm.ID, "plain dm")}, nil
		})
	})
	t.Run("mute", func(t *testing.T) {
		check(t, func() ([]*node.Message, []*node.Message) {
			level(t, room, node.NotifyMute)
			level(t, dm.ID, node.NotifyMute)
			return nil, []*node.Message{w.say(bob, room, "muted mention", alice), w.say(bob, dm.ID, "muted dm")}
		})
	})
	t.Run("all", func(t *testing.T) {
		check(t, func() ([]*node.Message, []*node.Message) {
			level(t, room, node.NotifyAll)
			return []*node.Message{w.say(bob, room, "no mention, level all")}, nil
		})
	})
	t.Run("a DM at mentions", func(t *testing.T) {
		check(t, func() ([]*node.Message, []*node.Message) {
			level(t, dm.ID, node.NotifyMentions)
			return []*node.Message{w.say(bob, dm.ID, "dm with a mention", alice)}, []*node.Message{w.say(bob, dm.ID, "dm without mention")}
		})
	})
	t.Run("do not disturb", func(t *testing.T) {
		check(t, func() ([]*node.Message, []*node.Message) {
			until := time.Now().Add(time.Hour).UnixMilli()
			if _, err := w.n.SetNotifyPrefs(ctx, alice, node.NotifyPrefs{DND: true, DNDUntil: until}); err != nil {
				t.Fatal(err)
			}
			return nil, []*node.Message{w.say(bob, dm.ID, "during dnd"), w.say(bob, room, "dnd mention", alice)}
		})
	})
	t.Run("a tab open", func(t *testing.T) {
		w.n.Connect(alice)
		defer w.n.Disconnect(alice)
		check(t, func() ([]*node.Message, []*node.Message) {
			return nil, []*node.Message{w.say(bob, dm.ID, "while connected")}
		})
	})
}

// TestPushEncryptedRoomCarriesNoText: a push of an end-to-end encrypted
// room's message says only where and which, never text or sender.
func TestPushEncryptedRoomCarriesNoText(t *testing.T) {
	w := newWorld(t)
	alice, bob := w.user("alice"), w.user("bob")
	room := w.room(bob, "vault-room-name", true, alice)
	w.subscribe(alice)
	m, err := w.n.Send(context.Background(), bob, node.SendParams{Room: room, Mentions: []node.UserID{alice},
		Encrypted: json.RawMessage(`{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgAEnB","session_id":"s1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	p := w.accepted(m.ID)
	if len(p) != 3 || p["room"] != string(room) || p["message"] != string(m.ID) || p["encrypted"] != true {
		t.Fatalf("encrypted room payload = %v, want only room, message and encrypted", p)
	}
	raw := string(w.svc.Received()[0].Payload)
	for _, leak := range []string{"vault-room-name", "AwgAEnB", "BOB", string(bob)} {
		if strings.Contains(raw, leak) {
			t.Fatalf("payload %s carries %q", raw, leak)
		}
	}
}

// TestPushRetriesAndDrops: 5xx and 429 are retried with backoff until
// accepted; 410 drops the subscription (and further messages push
// nothing to it); another 4xx drops the push only.
func TestPushRetriesAndDrops(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	alice, bob := w.user("alice"), w.user("bob")
	room := w.room(bob, "garden", false, alice)
	sub := w.subscribe(alice)

	w.svc.Script(http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusServiceUnavailable)
	m := w.say(bob, room, "third time lucky", alice)
	w.accepted(m.ID)
	var statuses []int
	for _, p := range w.svc.Received() {
		statuses = append(statuses, p.Status)
	}
	if !slices.Equal(statuses, []int{500, 429, 503, 201}) {
		t.Fatalf("answers %v, want 500, 429, 503, 201", statuses)
	}

	w.svc.Script(http.StatusBadRequest)
	refused := w.say(bob, room, "refused once", alice)
	if _, ok := w.svc.Wait(10*time.Second, func(ps []pushtest.Push) bool {
		return len(ps) > 0 && ps[len(ps)-1].Status == http.StatusBadRequest
	}); !ok {
		t.Fatal("no 400")
	}
	ok := w.say(bob, room, "after the refusal", alice)
	w.accepted(ok.ID)
	w.idle()
	if n := strings.Count(strings.Join(w.pushedIDs(), ","), string(refused.ID)); n != 1 {
		t.Fatalf("a push refused with 400 was tried %d times, want 1", n)
	}

	w.svc.Script(http.StatusGone)
	gone := w.say(bob, room, "to a gone browser", alice)
	if _, ok := w.svc.Wait(10*time.Second, func(ps []pushtest.Push) bool {
		return len(ps) > 0 && ps[len(ps)-1].Status == http.StatusGone
	}); !ok {
		t.Fatal("no 410")
	}
	poll.Until(t, 10*time.Second, func() error {
		subs, err := w.n.PushSubscriptions(ctx, alice)
		if err != nil || len(subs) != 0 {
			return fmt.Errorf("subscriptions %v %v", subs, err)
		}
		return nil
	})
	before := len(w.svc.Received())
	// A fresh subscription of another user is the sentinel: once its
	// push arrives, alice's (gone) would have too.
	carol := w.user("carol")
	if _, err := w.n.Join(ctx, carol, room); err != nil {
		t.Fatal(err)
	}
	w.subscribe(carol)
	after := w.say(bob, room, "alice is gone", alice, carol)
	w.accepted(after.ID)
	w.idle()
	for _, p := range w.svc.Received()[before:] {
		if p.Sub == sub.ID {
			t.Fatalf("pushed to a gone subscription: %+v", p)
		}
	}
	_ = gone
}

// TestPushSurvivesRestart: a push that could not be delivered before the
// node stopped is delivered after it starts again from the same data.
func TestPushSurvivesRestart(t *testing.T) {
	w := newWorld(t)
	alice, bob := w.user("alice"), w.user("bob")
	room := w.room(bob, "garden", false, alice)
	w.subscribe(alice)
	w.svc.Always(http.StatusServiceUnavailable)
	m := w.say(bob, room, "survive the restart", alice)
	if _, ok := w.svc.Wait(10*time.Second, func(ps []pushtest.Push) bool { return len(ps) >= 2 }); !ok {
		t.Fatal("no attempts")
	}
	w.close()
	tried := len(w.svc.Received())
	// The service still refuses after the restart, so the reloaded job
	// stays queued while the test looks at it: accepting straight away
	// would race the worker's first send against the count.
	w.open()
	if q, _ := w.n.PushStats(); q != 1 {
		t.Fatalf("%d pushes queued after the restart, want 1", q)
	}
	if _, ok := w.svc.Wait(10*time.Second, func(ps []pushtest.Push) bool { return len(ps) > tried }); !ok {
		t.Fatal("the reloaded push was not tried again after the restart")
	}
	w.svc.Always(0)
	if p := w.accepted(m.ID); p["body"] != "survive the restart" {
		t.Fatalf("payload %v", p)
	}
	w.idle()
	if _, sent := w.n.PushStats(); sent != 1 {
		t.Fatalf("%d pushes accepted after the restart, want 1", sent)
	}
}
