package webui

import (
	"net/http"
	"strconv"

	"github.com/hearth-chat/hearth/node"
)

// patchRoom changes a room's name, topic, avatar, who may post
// (postingRole) or any of its powers (API.md §8).
func (s *Server) patchRoom(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        *string     `json:"name"`
		Topic       *string     `json:"topic"`
		Avatar      *string     `json:"avatar"`
		PostingRole *string     `json:"postingRole"`
		Powers      node.Powers `json:"powers"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	room, err := s.node.UpdateRoom(r.Context(), userOf(r), roomID(r), node.RoomPatch{
		Name: req.Name, Topic: req.Topic, Avatar: req.Avatar, PostingRole: req.PostingRole, Powers: req.Powers,
	})
	s.respond(w, r, http.StatusOK, room, err)
}

// roomTimeline lists a room's timeline events (creation, membership
// changes, renames and topic changes) for clients that show them between
// messages; docs/api.md describes the query.
func (s *Server) roomTimeline(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var tq node.TimelineQuery
	var err error
	if tq.Since, err = queryInt(q.Get("since"), 0, 1<<53); err != nil {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "since must be a timestamp in milliseconds")
		return
	}
	if tq.Until, err = queryInt(q.Get("until"), 0, 1<<53); err != nil {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "until must be a timestamp in milliseconds")
		return
	}
	limit, err := queryInt(q.Get("limit"), 1, node.MaxTimelineLimit)
	if err != nil {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "limit must be a number from 1 to 500")
		return
	}
	tq.Limit = int(limit)
	switch q.Get("moderation") {
	case "", "0", "false":
	case "1", "true":
		tq.Moderation = true
	default:
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "moderation must be true or false")
		return
	}
	evs, more, err := s.node.Timeline(r.Context(), userOf(r), roomID(r), tq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if evs == nil {
		evs = []*node.TimelineEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs, "more": more})
}

// queryInt parses an optional integer query parameter in [lo, hi]; an
// absent one is 0.
func queryInt(v string, lo, hi int64) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, strconv.ErrRange
	}
	return n, nil
}
