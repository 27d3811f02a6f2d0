package webui_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

func TestPatchRoom(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice, bob := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob")
	room := alice.mustCreateRoom(t, "lobby", "public")
	bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)
	ws := bob.mustWS(t)
	path := "/api/v1/rooms/" + string(room.ID)

	var got node.Room
	alice.must(t, "PATCH", path, map[string]any{"name": "hall", "topic": "where we meet"}, http.StatusOK, &got)
	if got.Name != "hall" || got.Topic != "where we meet" {
		t.Fatalf("PATCH answered %+v", got)
	}
	f := ws.expect(t, "room", func(f wsFrame) bool {
		var r node.Room
		return json.Unmarshal(f.Room, &r) == nil && r.Name == "hall"
	})
	var seen node.Room
	_ = json.Unmarshal(f.Room, &seen)
	if seen.Topic != "where we meet" {
		t.Fatalf("bob's room frame has topic %q", seen.Topic)
	}
	alice.must(t, "GET", path, nil, http.StatusOK, &got)
	if got.Name != "hall" {
		t.Fatalf("GET after PATCH: name %q", got.Name)
	}

	for _, c := range []struct {
		name string
		as   *client
		path string
		body any
		code string
	}{
		{"a member below admin", bob, path, map[string]any{"name": "bob's"}, "forbidden"},
		{"malformed JSON", alice, path, `{"name":`, "invalid_argument"},
		{"a name of the wrong type", alice, path, `{"name": 5}`, "invalid_argument"},
		{"an empty name", alice, path, map[string]any{"name": ""}, "invalid_argument"},
		{"nothing to change", alice, path, map[string]any{}, "invalid_argument"},
		{"an unknown room", alice, "/api/v1/rooms/nosuchroom", map[string]any{"name": "x"}, "not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code := c.as.call(t, "PATCH", c.path, c.body).errorCode(t); code != c.code {
				t.Fatalf("code %q, want %q", code, c.code)
			}
		})
	}
	if r := tn.do(t, request{method: "PATCH", path: path, body: map[string]any{"name": "x"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("PATCH without a token: %d", r.Status)
	}
}

func TestRoomTimeline(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice, bob, eve := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob"), tn.mustRegister(t, "eve")
	room := alice.mustCreateRoom(t, "secret", "private")
	path := "/api/v1/rooms/" + string(room.ID)
	alice.must(t, "POST", path+"/invite", map[string]string{"userId": string(bob.User.ID)}, http.StatusNoContent, nil)
	bob.must(t, "POST", path+"/join", nil, http.StatusOK, nil)
	alice.must(t, "PATCH", path, map[string]any{"topic": "plans"}, http.StatusOK, nil)

	type event struct {
		ID         string  `json:"id"`
		Type       string  `json:"type"`
		Sender     string  `json:"sender"`
		TS         int64   `json:"ts"`
		User       string  `json:"user"`
		Membership string  `json:"membership"`
		Name       *string `json:"name"`
		Topic      *string `json:"topic"`
	}
	var page struct {
		Events []event `json:"events"`
		More   bool    `json:"more"`
	}
	bob.must(t, "GET", path+"/timeline", nil, http.StatusOK, &page)
	var kinds []string
	for _, e := range page.Events {
		kinds = append(kinds, e.Type+":"+e.Membership)
	}
	want := []string{"room.update:", "member:join", "member:invite", "room.create:"}
	if len(kinds) != len(want) || page.More {
		t.Fatalf("timeline = %v (more %v), want %v", kinds, page.More, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("timeline = %v, want %v", kinds, want)
		}
	}
	if e := page.Events[0]; e.Topic == nil || *e.Topic != "plans" || e.Sender != string(alice.User.ID) {
		t.Fatalf("update event = %+v", e)
	}
	if e := page.Events[2]; e.User != string(bob.User.ID) || e.Sender != string(alice.User.ID) {
		t.Fatalf("invite event = %+v", e)
	}

	bob.must(t, "GET", path+"/timeline?limit=1", nil, http.StatusOK, &page)
	if len(page.Events) != 1 || !page.More {
		t.Fatalf("limit=1: %d events, more %v", len(page.Events), page.More)
	}

	for _, c := range []struct {
		name  string
		as    *client
		query string
		code  string
	}{
		{"a stranger to a private room", eve, "", "forbidden"},
		{"a limit of 0", bob, "?limit=0", "invalid_argument"},
		{"a limit over 500", bob, "?limit=501", "invalid_argument"},
		{"a since that is not a number", bob, "?since=yesterday", "invalid_argument"},
		{"a negative until", bob, "?until=-1", "invalid_argument"},
		{"until before since", bob, "?since=10&until=5", "invalid_argument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code := c.as.call(t, "GET", path+"/timeline"+c.query, nil).errorCode(t); code != c.code {
				t.Fatalf("code %q, want %q", code, c.code)
			}
		})
	}
	if code := bob.call(t, "GET", "/api/v1/rooms/nosuchroom/timeline", nil).errorCode(t); code != "not_found" {
		t.Fatalf("unknown room: %q", code)
	}
}
