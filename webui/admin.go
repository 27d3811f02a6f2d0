package webui

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// The node admin API (docs/api.md, "Node administration"): the same
// handlers serve node admins over HTTP (/api/v1/admin/..., with a node
// admin's token) and the node's operator over the data directory's admin
// socket (AdminHandler, for `hearth admin`), where the file permissions
// are the access control. The audit log names the actor: the admin's
// user ID, or node.Operator.

const ctxActor ctxKey = 100

// actorOf is who the audit log names for an admin request.
func actorOf(r *http.Request) string {
	a, _ := r.Context().Value(ctxActor).(string)
	return a
}

// adminRoutes registers the node admin API on the public listener.
func (s *Server) adminRoutes() {
	s.handle("/api/v1/reports", methods{"POST": s.authed(s.fileReport)})
	s.handle("/api/v1/admin", methods{"GET": s.authed(s.adminInfo)})
	for pattern, m := range s.adminMethods() {
		wrapped := methods{}
		for method, h := range m {
			wrapped[method] = s.authed(s.nodeAdmin(h))
		}
		s.handle("/api/v1/admin"+pattern, wrapped)
	}
}

// AdminHandler serves the node admin API to the node's operator, for the
// admin socket: the same paths under /api/v1/admin, acting as
// node.Operator, without a token.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	for pattern, m := range s.adminMethods() {
		allow := m
		mux.HandleFunc("/api/v1/admin"+pattern, func(w http.ResponseWriter, r *http.Request) {
			h, ok := allow[r.Method]
			if !ok {
				writeErrorCode(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
				return
			}
			h(w, r.WithContext(context.WithValue(r.Context(), ctxActor, node.Operator)))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrorCode(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	return mux
}

// nodeAdmin lets only node admins through (after authed).
func (s *Server) nodeAdmin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.node.RequireNodeAdmin(r.Context(), userOf(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxActor, string(userOf(r)))))
	}
}

func (s *Server) adminMethods() map[string]methods {
	return map[string]methods{
		"/users":                 {"GET": s.adminUsers},
		"/users/{user}":          {"DELETE": s.adminDeleteUser},
		"/users/{user}/lock":     {"POST": s.adminLock(true)},
		"/users/{user}/unlock":   {"POST": s.adminLock(false)},
		"/users/{user}/password": {"POST": s.adminPassword},
		"/users/{user}/admin":    {"PUT": s.adminSetAdmin(true), "DELETE": s.adminSetAdmin(false)},
		"/invites":               {"GET": s.adminInvites, "POST": s.adminCreateInvite},
		"/invites/{id}":          {"DELETE": s.adminRevokeInvite},
		"/rooms":                 {"GET": s.adminRooms},
		"/rooms/{roomID}/close":  {"POST": s.adminCloseRoom},
		"/rooms/{roomID}/reopen": {"POST": s.adminReopenRoom},
		"/federation":            {"GET": s.adminPolicy, "PUT": s.adminSetMode},
		"/federation/nodes/{id}": {"PUT": s.adminSetRule, "DELETE": s.adminClearRule},
		"/audit":                 {"GET": s.adminAudit},
		"/reports":               {"GET": s.adminReports},
		"/reports/{id}/resolve":  {"POST": s.adminResolveReport},
	}
}

// adminInfo tells any signed-in user whether they are a node admin (the
// UI shows the admin page to admins), and admins the node's modes.
func (s *Server) adminInfo(w http.ResponseWriter, r *http.Request) {
	ok, err := s.node.IsNodeAdmin(r.Context(), userOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := map[string]any{"nodeAdmin": ok}
	if ok {
		body["registration"] = s.node.RegistrationMode()
		body["federation"] = s.node.FederationMode()
	}
	writeJSON(w, http.StatusOK, body)
}

// queryCount reads an optional non-negative integer query parameter
// (queryInt, roomedit.go) as an invalid-argument error the API maps.
func queryCount(r *http.Request, name string) (int64, error) {
	n, err := queryInt(r.URL.Query().Get(name), 0, math.MaxInt64)
	if err != nil {
		return 0, &node.Error{Kind: node.ErrInvalid, Message: name + " must be a non-negative integer"}
	}
	return n, nil
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	limit, err := queryCount(r, "limit")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	users, more, err := s.node.AdminUsers(r.Context(), q.Get("q"), q.Get("after"), int(min(limit, node.MaxAdminUsersPage)))
	s.respond(w, r, http.StatusOK, map[string]any{"users": users, "more": more}, err)
}

func (s *Server) adminLock(locked bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Reason string `json:"reason"`
		}
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		u, err := s.node.LockUser(r.Context(), actorOf(r), r.PathValue("user"), locked, req.Reason)
		if err == nil && locked {
			s.hub.CloseUser(string(u))
		}
		s.respond(w, r, http.StatusNoContent, nil, err)
	}
}

func (s *Server) adminPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, pw, err := s.node.ResetPassword(r.Context(), actorOf(r), r.PathValue("user"), req.Password)
	if err == nil {
		s.hub.CloseUser(string(u))
	}
	// The new password goes back only when the node chose it.
	body := map[string]any{"user": u}
	if req.Password == "" {
		body["password"] = pw
	}
	s.respond(w, r, http.StatusOK, body, err)
}

func (s *Server) adminSetAdmin(admin bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, err := s.node.SetNodeAdmin(r.Context(), actorOf(r), r.PathValue("user"), admin)
		s.respond(w, r, http.StatusNoContent, nil, err)
	}
}

func (s *Server) adminDeleteUser(w http.ResponseWriter, r *http.Request) {
	er, err := s.node.DeleteUser(r.Context(), actorOf(r), r.PathValue("user"))
	if er != nil {
		s.hub.CloseUser(string(er.User))
	}
	s.respond(w, r, http.StatusOK, er, err)
}

// inviteView is an invite token as the API shows it (never its hash).
type inviteView struct {
	ID          string `json:"id"`
	CreatedAt   int64  `json:"createdAt"`
	CreatedBy   string `json:"createdBy"`
	ExpiresAt   int64  `json:"expiresAt,omitempty"`
	UsesAllowed int    `json:"usesAllowed"`
	Uses        int    `json:"uses"`
	Usable      bool   `json:"usable"`
	Note        string `json:"note,omitempty"`
}

func viewInvite(t *node.InviteToken, now time.Time) inviteView {
	v := inviteView{ID: t.ID, CreatedAt: t.CreatedAt.UnixMilli(), CreatedBy: t.CreatedBy,
		UsesAllowed: t.UsesAllowed, Uses: t.Uses, Usable: t.Usable(now), Note: t.Note}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = t.ExpiresAt.UnixMilli()
	}
	return v
}

func (s *Server) adminInvites(w http.ResponseWriter, r *http.Request) {
	list, err := s.node.Invites(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.node.Now()
	out := make([]inviteView, len(list))
	for i, t := range list {
		out[i] = viewInvite(t, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"invites": out})
}

func (s *Server) adminCreateInvite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Uses      int    `json:"uses"`
		ExpiresIn int64  `json:"expiresIn"` // seconds; 0 for never
		Note      string `json:"note"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.ExpiresIn < 0 || req.ExpiresIn > int64(node.MaxInviteTTL/time.Second) {
		s.writeError(w, r, &node.Error{Kind: node.ErrInvalid, Message: "expiresIn must be 0 (never) to a year, in seconds"})
		return
	}
	tok, t, err := s.node.CreateInvite(r.Context(), actorOf(r), req.Uses, time.Duration(req.ExpiresIn)*time.Second, req.Note)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "invite": viewInvite(t, s.node.Now())})
}

func (s *Server) adminRevokeInvite(w http.ResponseWriter, r *http.Request) {
	err := s.node.RevokeInvite(r.Context(), actorOf(r), r.PathValue("id"))
	s.respond(w, r, http.StatusNoContent, nil, err)
}

func (s *Server) adminRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := s.node.AdminRooms(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	closed, err := s.node.ClosedRooms(r.Context())
	s.respond(w, r, http.StatusOK, map[string]any{"rooms": rooms, "closed": closed}, err)
}

func (s *Server) adminCloseRoom(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.node.CloseRoom(r.Context(), actorOf(r), roomID(r), req.Reason)
	s.respond(w, r, http.StatusOK, map[string]any{"removed": n}, err)
}

func (s *Server) adminReopenRoom(w http.ResponseWriter, r *http.Request) {
	err := s.node.ReopenRoom(r.Context(), actorOf(r), roomID(r))
	s.respond(w, r, http.StatusNoContent, nil, err)
}

func (s *Server) adminPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.node.FederationPolicy(r.Context())
	s.respond(w, r, http.StatusOK, p, err)
}

func (s *Server) adminSetMode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode string `json:"mode"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.node.SetFederationMode(r.Context(), actorOf(r), req.Mode); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.adminPolicy(w, r)
}

func (s *Server) adminSetRule(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
		Note   string `json:"note"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Action == "" {
		s.writeError(w, r, &node.Error{Kind: node.ErrInvalid, Message: "action must be block or allow"})
		return
	}
	err := s.node.SetNodeRule(r.Context(), actorOf(r), node.NodeID(r.PathValue("id")), req.Action, req.Note)
	s.respond(w, r, http.StatusNoContent, nil, err)
}

func (s *Server) adminClearRule(w http.ResponseWriter, r *http.Request) {
	err := s.node.SetNodeRule(r.Context(), actorOf(r), node.NodeID(r.PathValue("id")), "", "")
	s.respond(w, r, http.StatusNoContent, nil, err)
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
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
	entries, more, err := s.node.Audit(r.Context(), before, int(min(limit, node.MaxAuditPage)))
	s.respond(w, r, http.StatusOK, map[string]any{"entries": entries, "more": more}, err)
}
