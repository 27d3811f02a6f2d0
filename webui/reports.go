package webui

import (
	"net/http"
	"strconv"

	"github.com/hearth-chat/hearth/node"
)

// POST /api/v1/reports (API.md §8): a user reports a room, a message or a
// user to their node's admins, who list and resolve reports through the
// admin API (admin.go).
func (s *Server) fileReport(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Room    string `json:"room"`
		Message string `json:"message"`
		User    string `json:"user"`
		Reason  string `json:"reason"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := s.node.FileReport(r.Context(), userOf(r), node.ReportParams{
		Room: node.RoomID(req.Room), Message: node.EventID(req.Message), User: node.UserID(req.User), Reason: req.Reason,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": strconv.FormatInt(rep.ID, 10)})
}

func (s *Server) adminReports(w http.ResponseWriter, r *http.Request) {
	before, err := queryCount(r, "before")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := queryCount(r, "limit")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	all := r.URL.Query().Get("state") == "all"
	list, more, err := s.node.Reports(r.Context(), all, before, int(min(limit, node.MaxReportPage)))
	s.respond(w, r, http.StatusOK, map[string]any{"reports": list, "more": more}, err)
}

func (s *Server) adminResolveReport(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Note string `json:"note"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.writeError(w, r, &node.Error{Kind: node.ErrNotFound, Message: "no such report"})
		return
	}
	err = s.node.ResolveReport(r.Context(), actorOf(r), id, req.Note)
	s.respond(w, r, http.StatusNoContent, nil, err)
}
