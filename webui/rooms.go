package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hearth-chat/hearth/node"
)

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	addrs := s.cfg.Addrs()
	if addrs == nil {
		addrs = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.node.ID(), "name": s.node.Name(), "addrs": addrs,
		"version": s.node.Version(), "peers": s.cfg.Peers(),
		"registration": s.node.RegistrationMode(),
	})
}

func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.node.SearchUsers(r.Context(), r.URL.Query().Get("q"), 50)
	s.respond(w, r, http.StatusOK, map[string]any{"users": users}, err)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.node.User(r.Context(), node.UserID(r.PathValue("userID")))
	s.respond(w, r, http.StatusOK, u, err)
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := s.node.Rooms(r.Context(), userOf(r))
	s.respond(w, r, http.StatusOK, map[string]any{"rooms": rooms}, err)
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name       string `json:"name"`
		Topic      string `json:"topic"`
		Visibility string `json:"visibility"`
		Encrypted  *bool  `json:"encrypted"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if ok, after := s.limits.createRoom.allow(string(userOf(r))); !ok {
		s.writeError(w, r, &rateLimitError{after})
		return
	}
	// API.md §7: private rooms are end-to-end encrypted unless asked not to be.
	enc := req.Visibility == node.Private
	if req.Encrypted != nil {
		enc = *req.Encrypted
	}
	room, err := s.node.CreateRoomWith(r.Context(), userOf(r), req.Name, req.Topic, req.Visibility, node.RoomOptions{Encrypted: enc})
	s.respond(w, r, http.StatusCreated, room, err)
}

// publicRooms pages the directory: ?q=TEXT&after=NEXT&limit=N, answering
// {"rooms": [...], "next"?: cursor} (docs/api.md).
func (s *Server) publicRooms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dq := node.DirectoryQuery{Q: q.Get("q"), After: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > node.MaxDirectoryLimit {
			writeErrorCode(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("limit must be a number from 1 to %d", node.MaxDirectoryLimit))
			return
		}
		dq.Limit = n
	}
	page, err := s.node.PublicRoomsPage(r.Context(), dq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := map[string]any{"rooms": page.Rooms}
	if page.Next != "" {
		body["next"] = page.Next
	}
	writeJSON(w, http.StatusOK, body)
}

func roomID(r *http.Request) node.RoomID { return node.RoomID(r.PathValue("roomID")) }

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) {
	room, err := s.node.Room(r.Context(), userOf(r), roomID(r))
	s.respond(w, r, http.StatusOK, room, err)
}

func (s *Server) joinRoom(w http.ResponseWriter, r *http.Request) {
	room, err := s.node.Join(r.Context(), userOf(r), roomID(r))
	s.respond(w, r, http.StatusOK, room, err)
}

func (s *Server) leaveRoom(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, http.StatusNoContent, nil, s.node.Leave(r.Context(), userOf(r), roomID(r)))
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID string `json:"userId"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusNoContent, nil, s.node.Invite(r.Context(), userOf(r), roomID(r), node.UserID(req.UserID)))
}

func (s *Server) dm(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID    string `json:"userId"`
		Encrypted *bool  `json:"encrypted"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	enc := req.Encrypted == nil || *req.Encrypted // DMs are encrypted by default
	room, err := s.node.DMWith(r.Context(), userOf(r), node.UserID(req.UserID), node.RoomOptions{Encrypted: enc})
	s.respond(w, r, http.StatusOK, room, err)
}

// members pages through a room's members in user ID order:
// ?after=USERID&limit=N (1 to 1000, default 100). "more" says whether
// another page follows.
func (s *Server) members(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > node.MaxMembersLimit {
			writeErrorCode(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("limit must be a number from 1 to %d", node.MaxMembersLimit))
			return
		}
		limit = n
	}
	users, more, err := s.node.Members(r.Context(), userOf(r), roomID(r), node.UserID(q.Get("after")), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": users, "more": more})
}

func (s *Server) receipts(w http.ResponseWriter, r *http.Request) {
	rs, err := s.node.Receipts(r.Context(), userOf(r), roomID(r))
	s.respond(w, r, http.StatusOK, map[string]any{"receipts": rs}, err)
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UpTo string `json:"upTo"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusNoContent, nil, s.node.MarkRead(r.Context(), userOf(r), roomID(r), node.EventID(req.UpTo)))
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := node.DefaultPageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > node.MaxPageLimit {
			writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "limit must be a number from 1 to 200")
			return
		}
		limit = n
	}
	msgs, more, err := s.node.History(r.Context(), userOf(r), roomID(r), node.EventID(q.Get("before")), node.EventID(q.Get("thread")), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs, "more": more})
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Body        *string           `json:"body"`
		ReplyTo     string            `json:"replyTo"`
		Thread      string            `json:"thread"`
		ClientID    string            `json:"clientId"`
		Attachments []json.RawMessage `json:"attachments"`
		Encrypted   json.RawMessage   `json:"encrypted"`
		// Mentions of the message (API.md §9).
		Mentions     []node.UserID `json:"mentions"`
		MentionsRoom bool          `json:"mentionsRoom"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Body == nil && req.Encrypted == nil && len(req.Attachments) == 0 {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "body (or encrypted, in an encrypted room) is required")
		return
	}
	m, err := s.node.Send(r.Context(), userOf(r), node.SendParams{
		Room: roomID(r), Body: deref(req.Body), ReplyTo: node.EventID(req.ReplyTo), Thread: node.EventID(req.Thread),
		ClientID: req.ClientID, Encrypted: req.Encrypted, Attachments: req.Attachments,
		Mentions: req.Mentions, MentionsRoom: req.MentionsRoom,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.hub.observer().MessageIn()
	writeJSON(w, http.StatusCreated, m)
}

func msgID(r *http.Request) node.EventID { return node.EventID(r.PathValue("msgID")) }

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	m, err := s.node.Message(r.Context(), userOf(r), roomID(r), msgID(r))
	s.respond(w, r, http.StatusOK, m, err)
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Body      *string         `json:"body"`
		Encrypted json.RawMessage `json:"encrypted"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Encrypted != nil {
		m, err := s.node.EditEncrypted(r.Context(), userOf(r), roomID(r), msgID(r), req.Encrypted)
		s.respond(w, r, http.StatusOK, m, err)
		return
	}
	if req.Body == nil {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "body (or encrypted, in an encrypted room) is required")
		return
	}
	m, err := s.node.Edit(r.Context(), userOf(r), roomID(r), msgID(r), *req.Body)
	s.respond(w, r, http.StatusOK, m, err)
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, http.StatusNoContent, nil, s.node.Delete(r.Context(), userOf(r), roomID(r), msgID(r)))
}

func (s *Server) addReaction(w http.ResponseWriter, r *http.Request) {
	s.react(w, r, true)
}

func (s *Server) removeReaction(w http.ResponseWriter, r *http.Request) {
	s.react(w, r, false)
}

func (s *Server) react(w http.ResponseWriter, r *http.Request, on bool) {
	_, err := s.node.React(r.Context(), userOf(r), roomID(r), msgID(r), r.PathValue("emoji"), on)
	s.respond(w, r, http.StatusNoContent, nil, err)
}

// deref is the string p points at, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
