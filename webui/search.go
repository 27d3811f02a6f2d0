package webui

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/hearth-chat/hearth/node"
)

// search answers GET /api/v1/search (API.md §9, docs/api.md): q, room,
// sender, before and limit as the contract names them, and has=file,
// since, until, order=relevance and skip as this node adds them. The
// domain checks the values and decides which rooms are searched.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := node.SearchParams{
		Text: q.Get("q"), Room: node.RoomID(q.Get("room")), Sender: node.UserID(q.Get("sender")),
		Before: node.EventID(q.Get("before")),
	}
	bad := func(msg string) { writeErrorCode(w, http.StatusBadRequest, "invalid_argument", msg) }
	ints := []struct {
		name string
		to   *int64
	}{{"since", &p.Since}, {"until", &p.Until}}
	for _, f := range ints {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				bad(f.name + " must be a time in ms since the epoch")
				return
			}
			*f.to = n
		}
	}
	for _, f := range []struct {
		name     string
		to       *int
		min, max int
	}{{"limit", &p.Limit, 1, node.MaxSearchLimit}, {"skip", &p.Skip, 0, node.MaxSearchSkip}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < f.min || n > f.max {
				bad(fmt.Sprintf("%s must be a number from %d to %d", f.name, f.min, f.max))
				return
			}
			*f.to = n
		}
	}
	switch q.Get("has") {
	case "":
	case "file":
		p.HasFile = true
	default:
		bad(`has must be "file"`)
		return
	}
	switch q.Get("order") {
	case "", "newest":
	case "relevance":
		p.Relevance = true
	default:
		bad(`order must be "newest" or "relevance"`)
		return
	}
	msgs, more, err := s.node.Search(r.Context(), userOf(r), p)
	if err != nil {
		s.writeRetry(w, r, err) // a search refused for the others running: 429
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": msgs, "more": more})
}
