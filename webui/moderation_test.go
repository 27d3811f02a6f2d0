package webui_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// TestModerationEndpoints is the contract of API.md §8's room half: every
// endpoint, its refusals (403 forbidden), its bad input, and what the
// other members' sockets see.
func TestModerationEndpoints(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	owner, mona, bob, eve := tn.mustRegister(t, "owner"), tn.mustRegister(t, "mona"), tn.mustRegister(t, "bob"), tn.mustRegister(t, "eve")
	room := owner.mustCreateRoom(t, "town", "public")
	path := "/api/v1/rooms/" + string(room.ID)
	for _, c := range []*client{mona, bob, eve} {
		c.must(t, "POST", path+"/join", nil, http.StatusOK, nil)
	}
	eveWS := eve.mustWS(t)
	bobWS := bob.mustWS(t)
	uid := func(c *client) string { return string(c.User.ID) }

	// Roles.
	owner.must(t, "PUT", path+"/roles/"+uid(mona), map[string]string{"role": "moderator"}, http.StatusNoContent, nil)
	eveWS.expect(t, "room", func(f wsFrame) bool {
		var r node.Room
		return json.Unmarshal(f.Room, &r) == nil && r.Roles[mona.User.ID] == node.RoleModerator
	})
	var got node.Room
	eve.must(t, "GET", path, nil, http.StatusOK, &got)
	if got.Roles[owner.User.ID] != "owner" || got.Roles[mona.User.ID] != "moderator" || got.PostingRole != "member" || got.Pinned == nil {
		t.Fatalf("room = roles %v, postingRole %q, pinned %v", got.Roles, got.PostingRole, got.Pinned)
	}
	raw := eve.must(t, "GET", path, nil, http.StatusOK, nil)
	for _, field := range []string{`"roles":`, `"postingRole":`, `"pinned":[]`} {
		if !strings.Contains(string(raw.Body), field) {
			t.Fatalf("room JSON lacks %s: %s", field, raw.Body)
		}
	}

	// Kick and ban with reasons; others see member frames.
	bob.must(t, "POST", path+"/messages", map[string]string{"body": "rude"}, http.StatusCreated, nil)
	mona.must(t, "POST", path+"/kick", map[string]string{"userId": uid(bob), "reason": "calm down"}, http.StatusNoContent, nil)
	eveWS.expect(t, "member", func(f wsFrame) bool { return f.Membership == "kick" && strings.Contains(string(f.User), uid(bob)) })
	bobWS.expect(t, "room", nil)
	if code := bob.call(t, "POST", path+"/messages", map[string]string{"body": "hey"}).errorCode(t); code != "forbidden" {
		t.Fatalf("kicked user posts: %q", code)
	}
	bob.must(t, "POST", path+"/join", nil, http.StatusOK, nil)
	mona.must(t, "POST", path+"/ban", map[string]string{"userId": uid(bob), "reason": "spam"}, http.StatusNoContent, nil)
	eveWS.expect(t, "member", func(f wsFrame) bool { return f.Membership == "ban" })
	if code := bob.call(t, "POST", path+"/join", nil).errorCode(t); code != "forbidden" {
		t.Fatalf("banned user joins: %q", code)
	}
	if code := owner.call(t, "POST", path+"/invite", map[string]string{"userId": uid(bob)}).errorCode(t); code != "forbidden" {
		t.Fatalf("banned user invited: %q", code)
	}
	mona.must(t, "POST", path+"/unban", map[string]string{"userId": uid(bob)}, http.StatusNoContent, nil)
	// A lifted ban leaves the user out (membership leave), free to come back.
	eveWS.expect(t, "member", func(f wsFrame) bool { return f.Membership == "leave" && strings.Contains(string(f.User), uid(bob)) })
	bob.must(t, "POST", path+"/join", nil, http.StatusOK, nil)

	// A moderator's DELETE of another's message works as the sender's own.
	var m node.Message
	bob.must(t, "POST", path+"/messages", map[string]string{"body": "again"}, http.StatusCreated, &m)
	if code := eve.call(t, "DELETE", path+"/messages/"+string(m.ID), nil).errorCode(t); code != "forbidden" {
		t.Fatalf("member deletes another's message: %q", code)
	}
	mona.must(t, "DELETE", path+"/messages/"+string(m.ID), nil, http.StatusNoContent, nil)
	eveWS.expect(t, "update", func(f wsFrame) bool { return strings.Contains(string(f.Message), `"deleted":true`) })

	// Pins.
	var keep node.Message
	owner.must(t, "POST", path+"/messages", map[string]string{"body": "rules"}, http.StatusCreated, &keep)
	mona.must(t, "PUT", path+"/pins/"+string(keep.ID), nil, http.StatusNoContent, nil)
	eveWS.expect(t, "room", func(f wsFrame) bool {
		var r node.Room
		return json.Unmarshal(f.Room, &r) == nil && slices.Contains(r.Pinned, keep.ID)
	})
	eve.must(t, "GET", path, nil, http.StatusOK, &got)
	if !slices.Equal(got.Pinned, []node.EventID{keep.ID}) {
		t.Fatalf("pinned = %v", got.Pinned)
	}
	if code := eve.call(t, "PUT", path+"/pins/"+string(keep.ID), nil).errorCode(t); code != "forbidden" {
		t.Fatalf("member pins: %q", code)
	}
	mona.must(t, "DELETE", path+"/pins/"+string(keep.ID), nil, http.StatusNoContent, nil)

	// An announcement room.
	owner.must(t, "PATCH", path, map[string]any{"postingRole": "moderator"}, http.StatusOK, &got)
	if got.PostingRole != "moderator" || got.Powers[node.PowerPost] != "moderator" {
		t.Fatalf("PATCH postingRole answered %q %v", got.PostingRole, got.Powers)
	}
	if code := eve.call(t, "POST", path+"/messages", map[string]string{"body": "me"}).errorCode(t); code != "forbidden" {
		t.Fatalf("member posts in an announcement room: %q", code)
	}
	mona.must(t, "POST", path+"/messages", map[string]string{"body": "news"}, http.StatusCreated, nil)
	pic := owner.upload(t, "logo.png", "image/png", testPNG(t, 8, 8))
	owner.must(t, "PATCH", path, map[string]any{"powers": map[string]string{"pin": "member"}, "avatar": string(pic.ID)}, http.StatusOK, &got)
	if got.Powers[node.PowerPin] != "member" || got.Avatar != string(pic.ID) {
		t.Fatalf("PATCH powers and avatar answered %v %q", got.Powers, got.Avatar)
	}
	// A member who did not upload the room's avatar may load it.
	if r := tn.raw(t, "GET", "/api/v1/media/"+string(pic.ID), eve.Access, nil, nil); r.status != http.StatusOK {
		t.Fatalf("member loads the room avatar: %d %s", r.status, r.body)
	}
	text := owner.upload(t, "notes.txt", "text/plain", []byte("not an image"))

	// The moderation log.
	var log struct {
		Events []node.TimelineEvent `json:"events"`
	}
	eve.must(t, "GET", path+"/timeline?moderation=true", nil, http.StatusOK, &log)
	kinds := map[string]bool{}
	for _, e := range log.Events {
		kinds[string(e.Type)+":"+e.Membership] = true
		if e.Membership == "ban" && e.Reason != "spam" {
			t.Fatalf("ban line without its reason: %+v", e)
		}
	}
	for _, want := range []string{"member:kick", "member:ban", "member:unban", "member:role", "room.pin:", "room.powers:", "message.delete:", "room.update:"} {
		if !kinds[want] {
			t.Errorf("moderation log lacks %s: %v", want, kinds)
		}
	}
	if kinds["member:join"] {
		t.Error("moderation log lists joins")
	}

	// Refusals, bad input and unknown things.
	long := strings.Repeat("x", node.MaxReasonLen+1)
	for _, c := range []struct {
		name         string
		as           *client
		method, path string
		body         any
		code         string
	}{
		{"member kicks", eve, "POST", path + "/kick", map[string]string{"userId": uid(bob)}, "forbidden"},
		{"member bans", eve, "POST", path + "/ban", map[string]string{"userId": uid(bob)}, "forbidden"},
		{"member unbans", eve, "POST", path + "/unban", map[string]string{"userId": uid(bob)}, "forbidden"},
		{"moderator bans the owner", mona, "POST", path + "/ban", map[string]string{"userId": uid(owner)}, "forbidden"},
		{"moderator gives roles", mona, "PUT", path + "/roles/" + uid(eve), map[string]string{"role": "moderator"}, "forbidden"},
		{"member changes powers", eve, "PATCH", path, map[string]any{"powers": map[string]string{"kick": "member"}}, "forbidden"},
		{"moderator sets who may post", mona, "PATCH", path, map[string]any{"postingRole": "member"}, "forbidden"},
		{"member renames", eve, "PATCH", path, map[string]any{"name": "mine"}, "forbidden"},
		{"unknown role", owner, "PUT", path + "/roles/" + uid(eve), map[string]string{"role": "king"}, "invalid_argument"},
		{"unknown postingRole", owner, "PATCH", path, map[string]any{"postingRole": "king"}, "invalid_argument"},
		{"avatar that is not an image", owner, "PATCH", path, map[string]any{"avatar": string(text.ID)}, "invalid_argument"},
		{"avatar the caller cannot read", owner, "PATCH", path, map[string]any{"avatar": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "invalid_argument"},
		{"unknown power", owner, "PATCH", path, map[string]any{"powers": map[string]string{"launch": "member"}}, "invalid_argument"},
		{"reason too long", mona, "POST", path + "/ban", map[string]string{"userId": uid(eve), "reason": long}, "invalid_argument"},
		{"no userId", mona, "POST", path + "/kick", map[string]string{}, "invalid_argument"},
		{"bad user id", mona, "POST", path + "/kick", map[string]string{"userId": "nobody"}, "invalid_argument"},
		{"malformed JSON", mona, "POST", path + "/kick", `{"userId":`, "invalid_argument"},
		{"kick someone not in the room", mona, "POST", path + "/kick", map[string]string{"userId": "zed@" + string(owner.User.Node)}, "not_found"},
		{"pin a message of no room", mona, "PUT", path + "/pins/nosuchmessage", nil, "not_found"},
		{"unknown room", mona, "POST", "/api/v1/rooms/nosuchroom/kick", map[string]string{"userId": uid(eve)}, "not_found"},
		{"oversized body", mona, "POST", path + "/ban", `{"userId":"` + strings.Repeat("a", 70<<10) + `"}`, "too_large"},
		{"bad timeline filter", eve, "GET", path + "/timeline?moderation=maybe", nil, "invalid_argument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code := c.as.call(t, c.method, c.path, c.body).errorCode(t); code != c.code {
				t.Fatalf("code %q, want %q", code, c.code)
			}
		})
	}
	// A cross-site form cannot ban for a moderator (the body must be JSON).
	r := tn.do(t, request{method: "POST", path: path + "/ban", body: `{"userId":"` + uid(eve) + `"}`, token: mona.Access,
		header: map[string]string{"Content-Type": "text/plain", "Origin": "https://attacker.example"}})
	if r.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("ban as text/plain: %d %s", r.Status, r.Body)
	}
	eve.must(t, "GET", path, nil, http.StatusOK, &got)
	if !slices.Contains(got.Members, eve.User.ID) {
		t.Fatal("a refused cross-site ban removed the user")
	}
	for _, p := range []string{"/kick", "/ban", "/unban"} {
		if r := tn.do(t, request{method: "POST", path: path + p, body: map[string]string{"userId": uid(eve)}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("%s without a token: %d", p, r.Status)
		}
	}
	if r := mona.call(t, "GET", path+"/kick", nil); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("GET kick: %d", r.Status)
	}
}

// TestOwnershipTransfer: an owner who makes another member owner becomes
// an admin, the new owner manages roles (an admin renames, a member who
// was demoted no longer may), and every member's socket sees the roles.
func TestOwnershipTransfer(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	ann, bea, cid := tn.mustRegister(t, "ann"), tn.mustRegister(t, "bea"), tn.mustRegister(t, "cid")
	room := ann.mustCreateRoom(t, "club", "public")
	path := "/api/v1/rooms/" + string(room.ID)
	bea.must(t, "POST", path+"/join", nil, http.StatusOK, nil)
	cid.must(t, "POST", path+"/join", nil, http.StatusOK, nil)
	cidWS := cid.mustWS(t)
	roles := func(want map[node.UserID]string) func(wsFrame) bool {
		return func(f wsFrame) bool {
			var r node.Room
			return json.Unmarshal(f.Room, &r) == nil && maps.Equal(r.Roles, want)
		}
	}

	if code := ann.call(t, "PUT", path+"/roles/"+string(ann.User.ID), map[string]string{"role": "member"}).errorCode(t); code != "forbidden" {
		t.Fatalf("the only owner steps down: %q", code)
	}
	ann.must(t, "PUT", path+"/roles/"+string(bea.User.ID), map[string]string{"role": "owner"}, http.StatusNoContent, nil)
	cidWS.expect(t, "room", roles(map[node.UserID]string{bea.User.ID: "owner", ann.User.ID: "admin"}))
	var got node.Room
	cid.must(t, "GET", path, nil, http.StatusOK, &got)
	if got.Roles[bea.User.ID] != "owner" || got.Roles[ann.User.ID] != "admin" {
		t.Fatalf("roles after the transfer = %v", got.Roles)
	}
	if code := ann.call(t, "PUT", path+"/roles/"+string(bea.User.ID), map[string]string{"role": "member"}).errorCode(t); code != "forbidden" {
		t.Fatalf("an admin demotes the owner: %q", code)
	}
	if code := ann.call(t, "PUT", path+"/roles/"+string(cid.User.ID), map[string]string{"role": "owner"}).errorCode(t); code != "forbidden" {
		t.Fatalf("an admin gives a role above their own: %q", code)
	}

	bea.must(t, "PUT", path+"/roles/"+string(cid.User.ID), map[string]string{"role": "admin"}, http.StatusNoContent, nil)
	cidWS.expect(t, "room", roles(map[node.UserID]string{bea.User.ID: "owner", ann.User.ID: "admin", cid.User.ID: "admin"}))
	cid.must(t, "PATCH", path, map[string]any{"name": "club two"}, http.StatusOK, &got)
	if got.Name != "club two" {
		t.Fatalf("an admin's rename answered %q", got.Name)
	}
	// An admin may step down; then the rename power is gone.
	cid.must(t, "PUT", path+"/roles/"+string(cid.User.ID), map[string]string{"role": "member"}, http.StatusNoContent, nil)
	cidWS.expect(t, "room", roles(map[node.UserID]string{bea.User.ID: "owner", ann.User.ID: "admin"}))
	if code := cid.call(t, "PATCH", path, map[string]any{"name": "mine"}).errorCode(t); code != "forbidden" {
		t.Fatalf("a member renames: %q", code)
	}
	if code := cid.call(t, "PUT", path+"/roles/"+string(cid.User.ID), map[string]string{"role": "admin"}).errorCode(t); code != "forbidden" {
		t.Fatalf("a member raises their own role: %q", code)
	}
}
