package webui_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/node"
)

// remoteJoins has n users of another (signing-only) node join room by
// ingesting their signed join events, as gossip would deliver them.
func remoteJoins(t *testing.T, tn *testNode, room node.RoomID, from, to int) []node.UserID {
	t.Helper()
	if tn.remote == nil {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tn.remote = node.NewSigner(key)
	}
	var out []node.UserID
	for i := from; i < to; i++ {
		u := node.NewUserID(fmt.Sprintf("remote%04d", i), tn.remote.NodeID())
		c, _ := json.Marshal(node.MemberContent{User: u, Membership: node.MemberJoin})
		e := &node.Event{Type: node.EventMember, Room: room, Sender: u, TS: time.Now().UnixMilli(), Content: c}
		if err := tn.remote.Seal(e); err != nil {
			t.Fatal(err)
		}
		if err := tn.Node.Ingest(context.Background(), e); err != nil {
			t.Fatalf("ingest join %d: %v", i, err)
		}
		out = append(out, u)
	}
	return out
}

// rawFrames reads a WebSocket's text frames as bytes.
func rawFrames(t *testing.T, tn *testNode, c *client) (<-chan []byte, *websocket.Conn) {
	t.Helper()
	conn, _, err := tn.dialWS(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.WriteJSON(map[string]string{"type": "auth", "token": c.Access}); err != nil {
		t.Fatal(err)
	}
	out := make(chan []byte, 4096)
	go func() {
		defer close(out)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			out <- b
		}
	}()
	return out, conn
}

// nextOf returns the next raw frame of type typ.
func nextOf(t *testing.T, frames <-chan []byte, typ string) []byte {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case b, ok := <-frames:
			if !ok {
				t.Fatalf("connection ended waiting for %s", typ)
			}
			var f struct{ Type string }
			if json.Unmarshal(b, &f) == nil && f.Type == typ {
				return b
			}
		case <-timeout:
			t.Fatalf("no %s frame within 5s", typ)
		}
	}
}

func TestMembersInLargeRooms(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")
	room := alice.mustCreateRoom(t, "big", "public")
	frames, _ := rawFrames(t, tn, alice)
	nextOf(t, frames, "ready")

	// Each join reaches alice as one member frame whose size does not
	// depend on how many members the room has.
	var sizes []int
	for i := range 150 {
		remoteJoins(t, tn, room.ID, i, i+1)
		b := nextOf(t, frames, "member")
		var f struct {
			Room, User, Membership string
			MemberCount            int
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Room != string(room.ID) || f.Membership != "join" || f.MemberCount != i+2 {
			t.Fatalf("member frame %d = %s", i, b)
		}
		sizes = append(sizes, len(b))
	}
	if sizes[149]-sizes[1] > 2 { // the count grows by digits only
		t.Fatalf("member frame grew with the room: %d bytes at 3 members, %d at 151", sizes[1], sizes[149])
	}

	var r node.Room
	alice.must(t, "GET", "/api/v1/rooms/"+string(room.ID), nil, http.StatusOK, &r)
	if len(r.Members) != node.MaxListedMembers || r.MemberCount != 151 {
		t.Fatalf("room lists %d members, memberCount %d", len(r.Members), r.MemberCount)
	}

	t.Run("paged members", func(t *testing.T) {
		var seen []string
		after := ""
		for {
			var page struct {
				Members []node.User `json:"members"`
				More    bool        `json:"more"`
			}
			alice.must(t, "GET", "/api/v1/rooms/"+string(room.ID)+"/members?limit=64&after="+url.QueryEscape(after), nil, http.StatusOK, &page)
			for _, u := range page.Members {
				if len(seen) > 0 && string(u.ID) <= seen[len(seen)-1] {
					t.Fatalf("page out of order at %s", u.ID)
				}
				seen = append(seen, string(u.ID))
			}
			if !page.More {
				break
			}
			after = string(page.Members[len(page.Members)-1].ID)
		}
		if len(seen) != 151 {
			t.Fatalf("paged through %d members, want 151", len(seen))
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=x"} {
			if code := alice.call(t, "GET", "/api/v1/rooms/"+string(room.ID)+"/members?"+q, nil).errorCode(t); code != "invalid_argument" {
				t.Errorf("%s: %s", q, code)
			}
		}
	})

	t.Run("a local join", func(t *testing.T) {
		b := bob.mustWS(t)
		bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, &r)
		if r.MemberCount != 152 || len(r.Members) != node.MaxListedMembers || !containsUser(r.Members, bob.User.ID) {
			t.Fatalf("join answered %d listed, count %d, bob listed %v", len(r.Members), r.MemberCount, containsUser(r.Members, bob.User.ID))
		}
		f := b.expect(t, "room", nil)
		var fr node.Room
		if err := json.Unmarshal(f.Room, &fr); err != nil || fr.MemberCount != 152 || !containsUser(fr.Members, bob.User.ID) {
			t.Fatalf("bob's room frame: %s", f.Room)
		}
		m := nextOf(t, frames, "member")
		var mf struct{ User, Membership string }
		_ = json.Unmarshal(m, &mf)
		if mf.User != string(bob.User.ID) || mf.Membership != "join" {
			t.Fatalf("alice's frame for bob's join: %s", m)
		}
	})
}

func containsUser(us []node.UserID, u node.UserID) bool {
	for _, x := range us {
		if x == u {
			return true
		}
	}
	return false
}
