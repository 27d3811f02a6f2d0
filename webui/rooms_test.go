package webui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

func TestUsers(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")

	var res struct {
		Users []node.User `json:"users"`
	}
	alice.must(t, "GET", "/api/v1/users?q=BO", nil, http.StatusOK, &res)
	if len(res.Users) != 1 || res.Users[0].ID != bob.User.ID {
		t.Errorf("search bo = %+v", res.Users)
	}
	// A node ID's letters match no one; a user ID (or its start) does.
	nodeID := string(tn.Node.ID())
	alice.must(t, "GET", "/api/v1/users?q="+url.QueryEscape(nodeID[len(nodeID)-6:]), nil, http.StatusOK, &res)
	if len(res.Users) != 0 {
		t.Errorf("search by node ID letters = %+v, want none", res.Users)
	}
	alice.must(t, "GET", "/api/v1/users?q="+url.QueryEscape("BOB@"+nodeID[:8]), nil, http.StatusOK, &res)
	if len(res.Users) != 1 || res.Users[0].ID != bob.User.ID {
		t.Errorf("search BOB@%s = %+v", nodeID[:8], res.Users)
	}
	alice.must(t, "GET", "/api/v1/users?q=zzz", nil, http.StatusOK, &res)
	if res.Users == nil || len(res.Users) != 0 {
		t.Errorf("search zzz = %+v, want []", res.Users)
	}
	var u node.User
	alice.must(t, "GET", "/api/v1/users/"+url.PathEscape(string(bob.User.ID)), nil, http.StatusOK, &u)
	if u.ID != bob.User.ID || u.Username != "bob" || u.Node != tn.Node.ID() || u.Presence != "offline" {
		t.Errorf("get bob = %+v", u)
	}
	r := alice.call(t, "GET", "/api/v1/users/nobody@"+string(tn.Node.ID()), nil)
	if r.Status != http.StatusNotFound || r.errorCode(t) != "not_found" {
		t.Errorf("unknown user: %d %s", r.Status, r.Body)
	}
	if r := tn.do(t, request{method: "GET", path: "/api/v1/users?q=a"}); r.Status != http.StatusUnauthorized {
		t.Errorf("search without a token: %d", r.Status)
	}
}

func TestRooms(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")
	bobWS := bob.mustWS(t)

	aliceWS := alice.mustWS(t)
	pub := alice.mustCreateRoom(t, "general", "public")
	priv := alice.mustCreateRoom(t, "secret", "private")
	// The creator's sockets hear of the new rooms.
	for _, id := range []node.RoomID{pub.ID, priv.ID} {
		aliceWS.expect(t, "room", func(f wsFrame) bool { return f.roomID() == string(id) })
	}

	t.Run("create", func(t *testing.T) {
		if pub.Kind != "group" || pub.Visibility != "public" || pub.Name != "general" || pub.CreatedBy != alice.User.ID ||
			pub.CreatedAt <= 0 || !slices.Equal(pub.Members, []node.UserID{alice.User.ID}) || pub.ID == "" || len(pub.ID) > 128 {
			t.Errorf("room = %+v", pub)
		}
		if pub.ID == priv.ID {
			t.Error("two rooms share an id")
		}
		for _, tc := range []struct {
			name string
			body map[string]any
		}{
			{"no name", map[string]any{"visibility": "public"}},
			{"bad visibility", map[string]any{"name": "x", "visibility": "secret"}},
			{"name too long", map[string]any{"name": strings.Repeat("n", 101), "visibility": "public"}},
			{"name wrong type", map[string]any{"name": 1, "visibility": "public"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := alice.call(t, "POST", "/api/v1/rooms", tc.body)
				if r.Status != http.StatusBadRequest || r.errorCode(t) != "invalid_argument" {
					t.Errorf("status %d %s", r.Status, r.Body)
				}
			})
		}
	})

	t.Run("get", func(t *testing.T) {
		var got node.Room
		bob.must(t, "GET", "/api/v1/rooms/"+string(pub.ID), nil, http.StatusOK, &got)
		if got.ID != pub.ID {
			t.Errorf("got %+v", got)
		}
		for _, id := range []string{"nosuchroom", strings.Repeat("r", 200)} {
			r := bob.call(t, "GET", "/api/v1/rooms/"+id, nil)
			if r.Status != http.StatusNotFound || r.errorCode(t) != "not_found" {
				t.Errorf("room %.20s: %d %s", id, r.Status, r.Body)
			}
		}
		// A private room is members only: 403 for a non-member.
		if r := bob.call(t, "GET", "/api/v1/rooms/"+string(priv.ID), nil); r.Status != http.StatusForbidden || r.errorCode(t) != "forbidden" {
			t.Errorf("private room for a non-member: %d %s", r.Status, r.Body)
		}
	})

	t.Run("public list", func(t *testing.T) {
		var res struct{ Rooms []node.Room }
		bob.must(t, "GET", "/api/v1/rooms/public", nil, http.StatusOK, &res)
		ids := roomIDs(res.Rooms)
		if !slices.Contains(ids, pub.ID) || slices.Contains(ids, priv.ID) {
			t.Errorf("public rooms = %v", ids)
		}
	})

	t.Run("private join needs an invite", func(t *testing.T) {
		r := bob.call(t, "POST", "/api/v1/rooms/"+string(priv.ID)+"/join", nil)
		if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Fatalf("join without invite: %d %s", r.Status, r.Body)
		}
		r.errorCode(t)
		if r := bob.call(t, "POST", "/api/v1/rooms/"+string(priv.ID)+"/messages", map[string]string{"body": "hi"}); r.Status != http.StatusForbidden || r.errorCode(t) != "forbidden" {
			t.Errorf("send to a private room without membership: %d, want 403", r.Status)
		}
		alice.must(t, "POST", "/api/v1/rooms/"+string(priv.ID)+"/invite", map[string]string{"userId": string(bob.User.ID)}, http.StatusNoContent, nil)
		f := bobWS.expect(t, "room", func(f wsFrame) bool { return f.roomID() == string(priv.ID) })
		_ = f
		// An invitee sees the room before joining.
		bob.must(t, "GET", "/api/v1/rooms/"+string(priv.ID), nil, http.StatusOK, nil)
		var joined node.Room
		bob.must(t, "POST", "/api/v1/rooms/"+string(priv.ID)+"/join", nil, http.StatusOK, &joined)
		if !slices.Contains(joined.Members, bob.User.ID) {
			t.Errorf("members after join = %v", joined.Members)
		}
		bob.mustPost(t, priv.ID, "thanks for the invite")
	})

	t.Run("invite errors", func(t *testing.T) {
		carol := tn.mustRegister(t, "carol")
		tests := []struct {
			name string
			who  *client
			room node.RoomID
			user string
			want []int
		}{
			{"unknown local user", alice, priv.ID, "nobody@" + string(tn.Node.ID()), []int{http.StatusNotFound}},
			{"bad user id", alice, priv.ID, "not a user id", []int{http.StatusBadRequest}},
			{"non-member inviter", carol, priv.ID, string(carol.User.ID), []int{http.StatusForbidden, http.StatusNotFound}},
			{"no such room", alice, "nosuchroom", string(carol.User.ID), []int{http.StatusNotFound}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.who.call(t, "POST", "/api/v1/rooms/"+string(tc.room)+"/invite", map[string]string{"userId": tc.user})
				if !slices.Contains(tc.want, r.Status) {
					t.Errorf("status %d, want %v: %s", r.Status, tc.want, r.Body)
				}
				r.errorCode(t)
			})
		}
	})

	t.Run("join public, leave", func(t *testing.T) {
		var joined node.Room
		bob.must(t, "POST", "/api/v1/rooms/"+string(pub.ID)+"/join", nil, http.StatusOK, &joined)
		if !slices.Contains(joined.Members, bob.User.ID) || joined.Unread == nil {
			t.Errorf("joined = %+v", joined)
		}
		bobWS.expect(t, "room", func(f wsFrame) bool { return f.roomID() == string(pub.ID) })
		bob.must(t, "POST", "/api/v1/rooms/"+string(pub.ID)+"/join", nil, http.StatusOK, nil) // idempotent
		var members struct{ Members []node.User }
		alice.must(t, "GET", "/api/v1/rooms/"+string(pub.ID)+"/members", nil, http.StatusOK, &members)
		if len(members.Members) != 2 {
			t.Errorf("members = %+v", members.Members)
		}
		for _, m := range members.Members {
			if m.ID == bob.User.ID && m.Presence != "online" {
				t.Errorf("bob has a socket open but is %q", m.Presence)
			}
		}
		bob.must(t, "POST", "/api/v1/rooms/"+string(pub.ID)+"/leave", nil, http.StatusNoContent, nil)
		r := bob.call(t, "POST", "/api/v1/rooms/"+string(pub.ID)+"/messages", map[string]string{"body": "still here?"})
		if r.Status != http.StatusForbidden || r.errorCode(t) != "forbidden" {
			t.Errorf("send after leave: %d %s", r.Status, r.Body)
		}
		if r := bob.call(t, "POST", "/api/v1/rooms/"+string(pub.ID)+"/leave", nil); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Errorf("leave twice: %d", r.Status)
		}
	})

	t.Run("list order and unread", func(t *testing.T) {
		dave := tn.mustRegister(t, "dave")
		r1 := dave.mustCreateRoom(t, "one", "public")
		r2 := dave.mustCreateRoom(t, "two", "public")
		r3 := dave.mustCreateRoom(t, "three", "public")
		alice.must(t, "POST", "/api/v1/rooms/"+string(r1.ID)+"/join", nil, http.StatusOK, nil)
		alice.must(t, "POST", "/api/v1/rooms/"+string(r2.ID)+"/join", nil, http.StatusOK, nil)
		var ms []node.Message
		for i := range 3 {
			ms = append(ms, dave.mustPost(t, r1.ID, fmt.Sprintf("m%d", i)))
		}
		var res struct{ Rooms []node.Room }
		dave.must(t, "GET", "/api/v1/rooms", nil, http.StatusOK, &res)
		if ids := roomIDs(res.Rooms); !slices.Equal(ids, []node.RoomID{r1.ID, r3.ID, r2.ID}) {
			t.Errorf("dave's rooms = %v, want %v (most recent activity first)", ids, []node.RoomID{r1.ID, r3.ID, r2.ID})
		}
		alice.must(t, "GET", "/api/v1/rooms", nil, http.StatusOK, &res)
		unread := map[node.RoomID]int{}
		for _, r := range res.Rooms {
			if r.Unread != nil {
				unread[r.ID] = *r.Unread
			}
		}
		if unread[r1.ID] != 3 || unread[r2.ID] != 0 {
			t.Errorf("alice's unread = %v, want 3 in one and 0 in two", unread)
		}
		if res.Rooms[0].ID != r1.ID || res.Rooms[0].LastMessage == nil || res.Rooms[0].LastMessage.ID != ms[2].ID {
			t.Errorf("first room = %+v, want one with the last message", res.Rooms[0])
		}
		alice.must(t, "POST", "/api/v1/rooms/"+string(r1.ID)+"/read", map[string]string{"upTo": string(ms[1].ID)}, http.StatusNoContent, nil)
		var got node.Room
		alice.must(t, "GET", "/api/v1/rooms/"+string(r1.ID), nil, http.StatusOK, &got)
		if got.Unread == nil || *got.Unread != 1 {
			t.Errorf("unread after read marker = %v, want 1", got.Unread)
		}
		// Dave's own messages are never unread for him.
		dave.must(t, "GET", "/api/v1/rooms/"+string(r1.ID), nil, http.StatusOK, &got)
		if got.Unread == nil || *got.Unread != 0 {
			t.Errorf("sender's unread = %v, want 0", got.Unread)
		}
	})
}

func roomIDs(rs []node.Room) []node.RoomID {
	var out []node.RoomID
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestDM(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")

	var ab, ba node.Room
	alice.must(t, "POST", "/api/v1/dm", map[string]any{"userId": string(bob.User.ID), "encrypted": false}, http.StatusOK, &ab)
	bob.must(t, "POST", "/api/v1/dm", map[string]any{"userId": string(alice.User.ID), "encrypted": false}, http.StatusOK, &ba)
	if ab.ID != ba.ID || ab.Kind != "dm" || ba.Kind != "dm" {
		t.Fatalf("dm rooms %s (%s) and %s (%s), want one dm room", ab.ID, ab.Kind, ba.ID, ba.Kind)
	}
	if !slices.Contains(ab.Members, alice.User.ID) || !slices.Contains(ab.Members, bob.User.ID) {
		t.Errorf("members = %v", ab.Members)
	}
	m := bob.mustPost(t, ab.ID, "hi alice")
	if p := alice.mustHistory(t, ab.ID, ""); len(p.Messages) != 1 || p.Messages[0].ID != m.ID {
		t.Errorf("history = %+v", p)
	}
	var again node.Room
	alice.must(t, "POST", "/api/v1/dm", map[string]any{"userId": string(bob.User.ID), "encrypted": false}, http.StatusOK, &again)
	if again.ID != ab.ID {
		t.Errorf("second dm call gave %s", again.ID)
	}

	for _, tc := range []struct {
		name, user string
		want       int
	}{
		{"self", string(alice.User.ID), http.StatusBadRequest},
		{"unknown", "nobody@" + string(tn.Node.ID()), http.StatusNotFound},
		{"garbage", "garbage", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := alice.call(t, "POST", "/api/v1/dm", map[string]string{"userId": tc.user})
			if r.Status != tc.want {
				t.Errorf("status %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			r.errorCode(t)
		})
	}
	t.Run("outsider", func(t *testing.T) {
		carol := tn.mustRegister(t, "carol")
		if r := carol.call(t, "GET", "/api/v1/rooms/"+string(ab.ID)+"/messages", nil); r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
			t.Errorf("outsider reads a dm: %d", r.Status)
		}
		if r := carol.call(t, "POST", "/api/v1/rooms/"+string(ab.ID)+"/messages", map[string]string{"body": "hi"}); r.Status != http.StatusForbidden {
			t.Errorf("outsider posts to a dm: %d, want 403", r.Status)
		}
		if r := carol.call(t, "POST", "/api/v1/rooms/"+string(ab.ID)+"/join", nil); r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
			t.Errorf("outsider joins a dm: %d", r.Status)
		}
	})
}

func TestMessages(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")
	room := alice.mustCreateRoom(t, "general", "public")
	bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)
	path := "/api/v1/rooms/" + string(room.ID) + "/messages"

	var root node.Message
	alice.must(t, "POST", path, map[string]string{"body": "<b>hello</b> & welcome"}, http.StatusCreated, &root)
	if root.ID == "" || len(root.ID) > 128 || root.Room != room.ID || root.Sender != alice.User.ID || root.Body != "<b>hello</b> & welcome" || root.TS <= 0 {
		t.Fatalf("message = %+v", root)
	}

	t.Run("post errors", func(t *testing.T) {
		tests := []struct {
			name string
			body any
			want int
			code string
		}{
			{"empty body", map[string]string{"body": "  "}, http.StatusBadRequest, "invalid_argument"},
			{"no body", map[string]string{}, http.StatusBadRequest, "invalid_argument"},
			{"body over 16 KiB", map[string]string{"body": strings.Repeat("x", 16<<10+1)}, http.StatusRequestEntityTooLarge, "too_large"},
			{"NUL in body", map[string]string{"body": "a\x00b"}, http.StatusBadRequest, "invalid_argument"},
			{"body wrong type", map[string]any{"body": 12}, http.StatusBadRequest, "invalid_argument"},
			{"replyTo unknown", map[string]string{"body": "x", "replyTo": "nosuchmessage"}, http.StatusBadRequest, "invalid_argument"},
			{"clientId too long", map[string]string{"body": "x", "clientId": strings.Repeat("c", 129)}, http.StatusBadRequest, "invalid_argument"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := alice.call(t, "POST", path, tc.body)
				if r.Status != tc.want || r.errorCode(t) != tc.code {
					t.Errorf("status %d %s, want %d %s", r.Status, r.Body, tc.want, tc.code)
				}
			})
		}
		alice.must(t, "POST", path, map[string]string{"body": strings.Repeat("é", 8<<10)}, http.StatusCreated, nil) // exactly 16 KiB
		r := alice.call(t, "POST", "/api/v1/rooms/nosuchroom/messages", map[string]string{"body": "x"})
		if r.Status != http.StatusNotFound {
			t.Errorf("no such room: %d", r.Status)
		}
	})

	t.Run("reply and thread", func(t *testing.T) {
		var reply node.Message
		bob.must(t, "POST", path, map[string]string{"body": "a reply", "replyTo": string(root.ID), "thread": string(root.ID)}, http.StatusCreated, &reply)
		if reply.ReplyTo != root.ID || reply.Thread != root.ID {
			t.Errorf("reply = %+v", reply)
		}
		p := alice.mustHistory(t, room.ID, "?thread="+string(root.ID))
		if len(p.Messages) != 1 || p.Messages[0].ID != reply.ID {
			t.Errorf("thread = %+v", p.Messages)
		}
		var got node.Message
		alice.must(t, "GET", path+"/"+string(root.ID), nil, http.StatusOK, &got)
		if got.ThreadCount != 1 {
			t.Errorf("threadCount = %d, want 1", got.ThreadCount)
		}
	})

	t.Run("clientId is idempotent", func(t *testing.T) {
		var a, b node.Message
		alice.must(t, "POST", path, map[string]string{"body": "once", "clientId": "c-1"}, http.StatusCreated, &a)
		alice.must(t, "POST", path, map[string]string{"body": "once", "clientId": "c-1"}, http.StatusCreated, &b)
		if a.ID != b.ID || a.ClientID != "c-1" {
			t.Errorf("retries gave %s and %s (clientId %q)", a.ID, b.ID, a.ClientID)
		}
		n := 0
		for _, m := range alice.mustHistory(t, room.ID, "?limit=200").Messages {
			if m.ClientID == "c-1" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d messages with clientId c-1, want 1", n)
		}
		// Retries racing each other also make one message.
		ids := make([]node.EventID, 5)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var m node.Message
				r := alice.call(t, "POST", path, map[string]string{"body": "race", "clientId": "c-race"})
				if r.Status == http.StatusCreated && json.Unmarshal(r.Body, &m) == nil {
					ids[i] = m.ID
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id == "" || id != ids[0] {
				t.Fatalf("racing retries gave %v, want one id", ids)
			}
		}
		// The same clientId from another user is another message.
		var c node.Message
		bob.must(t, "POST", path, map[string]string{"body": "once", "clientId": "c-1"}, http.StatusCreated, &c)
		if c.ID == a.ID {
			t.Error("clientId is shared across users")
		}
	})

	t.Run("non-member", func(t *testing.T) {
		carol := tn.mustRegister(t, "carol")
		r := carol.call(t, "POST", path, map[string]string{"body": "let me in"})
		if r.Status != http.StatusForbidden || r.errorCode(t) != "forbidden" {
			t.Errorf("status %d %s", r.Status, r.Body)
		}
	})

	t.Run("edit delete react", func(t *testing.T) {
		m := alice.mustPost(t, room.ID, "tpyo")
		mpath := path + "/" + string(m.ID)
		var edited node.Message
		alice.must(t, "PATCH", mpath, map[string]string{"body": "typo"}, http.StatusOK, &edited)
		if edited.Body != "typo" || edited.EditedAt <= 0 || edited.ID != m.ID {
			t.Errorf("edited = %+v", edited)
		}
		if r := bob.call(t, "PATCH", mpath, map[string]string{"body": "mine now"}); r.Status != http.StatusForbidden {
			t.Errorf("edit by another user: %d %s", r.Status, r.Body)
		}
		if r := bob.call(t, "DELETE", mpath, nil); r.Status != http.StatusForbidden {
			t.Errorf("delete by another user: %d %s", r.Status, r.Body)
		}
		emoji := url.PathEscape("👍")
		bob.must(t, "PUT", mpath+"/reactions/"+emoji, nil, http.StatusNoContent, nil)
		alice.must(t, "PUT", mpath+"/reactions/"+emoji, nil, http.StatusNoContent, nil)
		var got node.Message
		alice.must(t, "GET", mpath, nil, http.StatusOK, &got)
		if len(got.Reactions) != 1 || got.Reactions[0].Emoji != "👍" || got.Reactions[0].Count != 2 || !got.Reactions[0].Me {
			t.Errorf("reactions = %+v", got.Reactions)
		}
		bob.must(t, "DELETE", mpath+"/reactions/"+emoji, nil, http.StatusNoContent, nil)
		got = node.Message{}
		bob.must(t, "GET", mpath, nil, http.StatusOK, &got)
		if len(got.Reactions) != 1 || got.Reactions[0].Count != 1 || got.Reactions[0].Me ||
			len(got.Reactions[0].Users) != 1 || got.Reactions[0].Users[0] != alice.User.ID {
			t.Errorf("reactions after removal = %+v", got.Reactions)
		}
		for _, bad := range []string{strings.Repeat("x", 33), "x", url.PathEscape("👍 👍")} {
			if r := bob.call(t, "PUT", mpath+"/reactions/"+bad, nil); r.Status != http.StatusBadRequest {
				t.Errorf("reaction %q: %d", bad, r.Status)
			}
		}
		alice.must(t, "DELETE", mpath, nil, http.StatusNoContent, nil)
		alice.must(t, "GET", mpath, nil, http.StatusOK, &got)
		if !got.Deleted || got.Body != "" {
			t.Errorf("deleted = %+v", got)
		}
		if r := alice.call(t, "PATCH", path+"/nosuchmessage", map[string]string{"body": "x"}); r.Status != http.StatusNotFound && r.Status != http.StatusBadRequest {
			t.Errorf("edit of a missing message: %d", r.Status)
		}
	})

	t.Run("read markers and receipts", func(t *testing.T) {
		m := alice.mustPost(t, room.ID, "read me")
		bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/read", map[string]string{"upTo": string(m.ID)}, http.StatusNoContent, nil)
		var res struct {
			Receipts []struct {
				User, UpTo, Kind string
				TS               int64
			}
		}
		alice.must(t, "GET", "/api/v1/rooms/"+string(room.ID)+"/receipts", nil, http.StatusOK, &res)
		found := false
		for _, rc := range res.Receipts {
			if rc.User == string(bob.User.ID) && rc.UpTo == string(m.ID) && rc.Kind == "read" && rc.TS > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("receipts = %+v", res.Receipts)
		}
		for _, upTo := range []string{"", "nosuchmessage"} {
			if r := bob.call(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/read", map[string]string{"upTo": upTo}); r.Status != http.StatusBadRequest {
				t.Errorf("upTo %q: %d", upTo, r.Status)
			}
		}
	})
}

func TestHistory(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	room := alice.mustCreateRoom(t, "general", "public")
	var sent []node.Message
	for i := range 57 {
		sent = append(sent, alice.mustPost(t, room.ID, fmt.Sprintf("message %d", i)))
	}
	slices.Reverse(sent) // newest first, as history pages are

	t.Run("default page", func(t *testing.T) {
		p := alice.mustHistory(t, room.ID, "")
		if len(p.Messages) != 50 || !p.More {
			t.Fatalf("%d messages, more=%v; want 50, true", len(p.Messages), p.More)
		}
		for i, m := range p.Messages {
			if m.ID != sent[i].ID {
				t.Fatalf("message %d is %q, want %q (newest first)", i, m.Body, sent[i].Body)
			}
		}
	})
	t.Run("pages with before", func(t *testing.T) {
		var got []node.Message
		q := "?limit=20"
		for range 10 {
			p := alice.mustHistory(t, room.ID, q)
			got = append(got, p.Messages...)
			if !p.More {
				break
			}
			q = "?limit=20&before=" + string(p.Messages[len(p.Messages)-1].ID)
		}
		if len(got) != len(sent) {
			t.Fatalf("paged %d messages, want %d", len(got), len(sent))
		}
		for i := range got {
			if got[i].ID != sent[i].ID {
				t.Fatalf("message %d: %q, want %q", i, got[i].Body, sent[i].Body)
			}
		}
	})
	t.Run("limits", func(t *testing.T) {
		if p := alice.mustHistory(t, room.ID, "?limit=1"); len(p.Messages) != 1 || !p.More {
			t.Errorf("limit=1: %d, more=%v", len(p.Messages), p.More)
		}
		if p := alice.mustHistory(t, room.ID, "?limit=200"); len(p.Messages) != 57 || p.More {
			t.Errorf("limit=200: %d, more=%v", len(p.Messages), p.More)
		}
		if p := alice.mustHistory(t, room.ID, "?limit=57"); len(p.Messages) != 57 || p.More {
			t.Errorf("limit=57: %d, more=%v", len(p.Messages), p.More)
		}
		if p := alice.mustHistory(t, room.ID, "?before="+string(sent[len(sent)-1].ID)); len(p.Messages) != 0 || p.More || p.Messages == nil {
			t.Errorf("before the oldest: %+v", p)
		}
		for _, q := range []string{"?limit=0", "?limit=201", "?limit=-1", "?limit=abc", "?before=nosuchmessage"} {
			r := alice.call(t, "GET", "/api/v1/rooms/"+string(room.ID)+"/messages"+q, nil)
			if r.Status != http.StatusBadRequest || r.errorCode(t) != "invalid_argument" {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}
	})
	t.Run("public room readable by a non-member", func(t *testing.T) {
		bob := tn.mustRegister(t, "bob")
		if p := bob.mustHistory(t, room.ID, "?limit=5"); len(p.Messages) != 5 {
			t.Errorf("%d messages", len(p.Messages))
		}
	})
}
