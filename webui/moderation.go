package webui

import (
	"net/http"

	"github.com/hearth-chat/hearth/node"
)

// Moderation endpoints (API.md §8). Each is one node call; the node
// decides who may (RoomState.Authorize) and its errors map to statuses in
// errorCode: a refusal is 403 forbidden.
func (s *Server) moderationRoutes() {
	s.handle("/api/v1/rooms/{roomID}/kick", methods{"POST": s.authed(s.kick)})
	s.handle("/api/v1/rooms/{roomID}/ban", methods{"POST": s.authed(s.ban)})
	s.handle("/api/v1/rooms/{roomID}/unban", methods{"POST": s.authed(s.unban)})
	s.handle("/api/v1/rooms/{roomID}/roles/{userID}", methods{"PUT": s.authed(s.setRole)})
	s.handle("/api/v1/rooms/{roomID}/pins/{msgID}", methods{"PUT": s.authed(s.pin), "DELETE": s.authed(s.unpin)})
}

// removal is the body of kick, ban and unban.
type removal struct {
	UserID string `json:"userId"`
	Reason string `json:"reason"`
}

func (s *Server) readRemoval(w http.ResponseWriter, r *http.Request) (*removal, bool) {
	var req removal
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	if req.UserID == "" {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "userId is required")
		return nil, false
	}
	return &req, true
}

func (s *Server) kick(w http.ResponseWriter, r *http.Request) {
	if req, ok := s.readRemoval(w, r); ok {
		err := s.node.Kick(r.Context(), userOf(r), roomID(r), node.UserID(req.UserID), req.Reason)
		s.respond(w, r, http.StatusNoContent, nil, err)
	}
}

func (s *Server) ban(w http.ResponseWriter, r *http.Request) {
	if req, ok := s.readRemoval(w, r); ok {
		err := s.node.Ban(r.Context(), userOf(r), roomID(r), node.UserID(req.UserID), req.Reason)
		s.respond(w, r, http.StatusNoContent, nil, err)
	}
}

func (s *Server) unban(w http.ResponseWriter, r *http.Request) {
	if req, ok := s.readRemoval(w, r); ok {
		err := s.node.Unban(r.Context(), userOf(r), roomID(r), node.UserID(req.UserID))
		s.respond(w, r, http.StatusNoContent, nil, err)
	}
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role string `json:"role"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := s.node.SetRole(r.Context(), userOf(r), roomID(r), node.UserID(r.PathValue("userID")), req.Role)
	s.respond(w, r, http.StatusNoContent, nil, err)
}

func (s *Server) pin(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, http.StatusNoContent, nil, s.node.Pin(r.Context(), userOf(r), roomID(r), msgID(r), true))
}

func (s *Server) unpin(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, http.StatusNoContent, nil, s.node.Pin(r.Context(), userOf(r), roomID(r), msgID(r), false))
}
