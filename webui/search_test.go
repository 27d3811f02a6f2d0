package webui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/search"
)

// newSearchNode is a test node with a real search index in a temp dir.
func newSearchNode(t *testing.T) *testNode {
	t.Helper()
	idx, err := search.Open(filepath.Join(t.TempDir(), "search"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() }) // after the node, which the harness closes first
	return newTestNode(t, nodeOptions{node: func(c *node.Config) {
		c.Search, c.SearchDelay = idx, 5*time.Millisecond
	}})
}

type searchPage struct {
	Results []node.Message `json:"results"`
	More    bool           `json:"more"`
}

func (c *client) mustSearch(t *testing.T, query string) searchPage {
	t.Helper()
	var p searchPage
	r := c.must(t, "GET", "/api/v1/search?"+query, nil, http.StatusOK, &p)
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	if len(raw) != 2 || raw["results"] == nil || raw["more"] == nil {
		t.Fatalf("search answered %s, want exactly results and more", r.Body)
	}
	return p
}

// waitSearch polls until the search's results have exactly these bodies.
func (c *client) waitSearch(t *testing.T, query string, want ...string) searchPage {
	t.Helper()
	var p searchPage
	poll.Until(t, 10*time.Second, func() error {
		p = c.mustSearch(t, query)
		var got []string
		for _, m := range p.Results {
			got = append(got, m.Body)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("search %s found %q, want %q", query, got, want)
		}
		return nil
	})
	return p
}

func TestSearchAPI(t *testing.T) {
	tn := newSearchNode(t)
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bobby")
	lobby := alice.mustCreateRoom(t, "lobby", "public")
	secret := alice.mustCreateRoom(t, "secret", "private")
	m1 := alice.mustPost(t, lobby.ID, "quarterly numbers look good")
	alice.mustPost(t, secret.ID, "quarterly bonus is secret")
	gone := alice.mustPost(t, lobby.ID, "quarterly party cancelled")

	p := alice.waitSearch(t, "q=quarterly", "quarterly party cancelled", "quarterly bonus is secret", "quarterly numbers look good")
	if p.More {
		t.Fatal("more with every result on the page")
	}
	// Results are the messages as history shows them.
	h := alice.mustHistory(t, lobby.ID, "")
	if !reflect.DeepEqual(p.Results[2], h.Messages[len(h.Messages)-1]) {
		t.Fatalf("result %+v differs from history's %+v", p.Results[2], h.Messages[len(h.Messages)-1])
	}
	// Bob is not in the private room.
	bob.waitSearch(t, "q=quarterly", "quarterly party cancelled", "quarterly numbers look good")
	r := bob.call(t, "GET", "/api/v1/search?q=quarterly&room="+string(secret.ID), nil)
	if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
		t.Fatalf("bob searching the private room: %d %s", r.Status, r.Body)
	}

	// Edited: found by the new text only; deleted: not found.
	alice.must(t, "PATCH", "/api/v1/rooms/"+string(lobby.ID)+"/messages/"+string(m1.ID), map[string]string{"body": "annual numbers look good"}, http.StatusOK, nil)
	alice.must(t, "DELETE", "/api/v1/rooms/"+string(lobby.ID)+"/messages/"+string(gone.ID), nil, http.StatusNoContent, nil)
	p = alice.waitSearch(t, "q=annual", "annual numbers look good")
	if p.Results[0].EditedAt == 0 {
		t.Fatalf("edited result without editedAt: %+v", p.Results[0])
	}
	alice.waitSearch(t, "q=quarterly", "quarterly bonus is secret")

	// Filters and paging.
	alice.waitSearch(t, "q=quarterly&room="+string(secret.ID), "quarterly bonus is secret")
	alice.waitSearch(t, "q=numbers&sender="+url.QueryEscape(string(bob.User.ID)))
	alice.waitSearch(t, "q=quarterly&has=file")
	for i := range 3 {
		alice.mustPost(t, lobby.ID, fmt.Sprintf("paged item %d", i))
	}
	p = alice.waitSearch(t, "q=paged&limit=2", "paged item 2", "paged item 1")
	if !p.More {
		t.Fatal("no more after a full first page")
	}
	p = alice.waitSearch(t, "q=paged&limit=2&before="+string(p.Results[1].ID), "paged item 0")
	if p.More {
		t.Fatal("more after the last page")
	}
	alice.waitSearch(t, `q=`+url.QueryEscape(`"item 1"`), "paged item 1")
	// Relevance pages with skip; the three are equally relevant.
	seen := map[string]bool{}
	for skip := range 3 {
		p := alice.mustSearch(t, fmt.Sprintf("q=pag*&order=relevance&limit=1&skip=%d", skip))
		if len(p.Results) != 1 || p.More != (skip < 2) {
			t.Fatalf("relevance page %d: %+v", skip, p)
		}
		seen[p.Results[0].Body] = true
	}
	if len(seen) != 3 {
		t.Fatalf("relevance pages found %v, want the three items once each", seen)
	}
}

func TestSearchAPIRefusesBadInput(t *testing.T) {
	tn := newSearchNode(t)
	alice := tn.mustRegister(t, "alice")
	room := alice.mustCreateRoom(t, "lobby", "public")
	cases := map[string]string{
		"no query":           "",
		"long query":         "q=" + strings.Repeat("a", node.MaxSearchQuery+1),
		"invalid UTF-8":      "q=%ff%fe",
		"limit zero":         "q=x&limit=0",
		"limit too big":      "q=x&limit=1000",
		"limit not number":   "q=x&limit=ten",
		"skip negative":      "q=x&order=relevance&skip=-1",
		"unknown has":        "q=x&has=image",
		"unknown order":      "q=x&order=oldest",
		"since not number":   "q=x&since=yesterday",
		"since negative":     "q=x&since=-5",
		"until before since": "q=x&since=2000&until=1000",
		"short prefix":       "q=ab*",
		"unknown before":     "q=x&before=nosuchmessage",
		"bad sender":         "q=x&sender=nobody",
	}
	for name, query := range cases {
		t.Run(name, func(t *testing.T) {
			r := alice.call(t, "GET", "/api/v1/search?"+query, nil)
			if r.Status != http.StatusBadRequest || r.errorCode(t) != "invalid_argument" {
				t.Fatalf("%s: %d %s, want 400 invalid_argument", query, r.Status, r.Body)
			}
		})
	}
	if r := alice.call(t, "GET", "/api/v1/search?q=x&room=nosuchroom", nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown room: %d %s", r.Status, r.Body)
	}
	if r := tn.do(t, request{method: "GET", path: "/api/v1/search?q=x"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("without a token: %d %s", r.Status, r.Body)
	}
	if r := alice.call(t, "POST", "/api/v1/search?q=x", nil); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	_ = room
}

func TestSearchAPIOffWithoutIndex(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	r := alice.call(t, "GET", "/api/v1/search?q=x", nil)
	if r.Status != http.StatusServiceUnavailable || r.errorCode(t) != "unavailable" {
		t.Fatalf("search without an index: %d %s, want 503 unavailable", r.Status, r.Body)
	}
}
