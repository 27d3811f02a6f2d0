package webui

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-chat/hearth/node"
)

const refreshCookie = "hearth_refresh"

// session is the Session body of API.md §3.
type session struct {
	User         *node.User    `json:"user"`
	AccessToken  string        `json:"accessToken"`
	RefreshToken string        `json:"refreshToken"`
	ExpiresIn    int           `json:"expiresIn"`
	DeviceID     node.DeviceID `json:"deviceId"`
}

type ctxKey int

const (
	ctxUser ctxKey = iota
	ctxSession
)

func userOf(r *http.Request) node.UserID { return r.Context().Value(ctxUser).(node.UserID) }
func sessionOf(r *http.Request) string   { return r.Context().Value(ctxSession).(string) }

// authed wraps a handler that needs a valid access token of a live session.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			writeErrorCode(w, http.StatusUnauthorized, "unauthenticated", "missing bearer token")
			return
		}
		u, sid, err := s.verifyToken(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if ok, after := s.limits.userAllow(string(u)); !ok {
			s.writeError(w, r, &rateLimitError{after})
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), ctxUser, u), ctxSession, sid)
		h(w, r.WithContext(ctx))
	}
}

// verifyToken checks a token's signature and claims and that its session
// is still live.
func (s *Server) verifyToken(ctx context.Context, tok string) (node.UserID, string, error) {
	c, err := s.tokens.Verify(tok)
	if err != nil {
		return "", "", &node.Error{Kind: node.ErrUnauthenticated, Message: "access token is invalid or expired"}
	}
	u := node.UserID(c.User)
	if err := s.node.CheckSession(ctx, c.Session, u); err != nil {
		return "", "", err
	}
	return u, c.Session, nil
}

// issue mints an access token for a session and writes the Session body
// and the refresh cookie.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, status int, u *node.User, sess *node.Session, refresh string) {
	tok, _, err := s.tokens.Issue(string(u.ID), sess.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookie, Value: refresh, Path: "/api/v1/auth",
		Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	writeJSON(w, status, session{User: u, AccessToken: tok, RefreshToken: refresh, ExpiresIn: int(s.tokens.TTL().Seconds()), DeviceID: sess.DeviceID})
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		DisplayName string `json:"displayName"`
		DeviceID    string `json:"deviceId"`
		Token       string `json:"token"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if ok, after := s.limits.register.allow(clientAddr(r)); !ok {
		s.writeError(w, r, &rateLimitError{after})
		return
	}
	if req.DeviceID != "" && !node.ValidDeviceID(req.DeviceID) {
		s.writeError(w, r, &node.Error{Kind: node.ErrInvalid, Message: "deviceId must be 1 to 64 characters of A-Z a-z 0-9 . _ ~ -"})
		return
	}
	u, err := s.node.RegisterWith(r.Context(), node.Registration{
		Username: req.Username, Password: req.Password, DisplayName: req.DisplayName, Token: req.Token,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.hub.observer().Registered()
	s.startSession(w, r, http.StatusCreated, u, node.DeviceID(req.DeviceID))
}

// startSession opens a session for a user who just registered or logged
// in, on the device it names (or a new one), and answers with its tokens.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, status int, u *node.User, device node.DeviceID) {
	sess, refresh, err := s.node.NewSession(r.Context(), u.ID, device)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, sid := range sess.Ended {
		s.hub.CloseSession(sid)
	}
	s.issue(w, r, status, u, sess, refresh)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
		DeviceID string `json:"deviceId"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	name, addr := node.NormalizeUsername(req.Username), clientAddr(r)
	if len(name) > node.MaxUsernameLen {
		name = name[:node.MaxUsernameLen]
	}
	// Tokens are taken before the password is hashed: checked before and
	// charged after, 200 concurrent guesses all passed the check.
	resUser, ok, after := s.limits.loginUser.reserve(name)
	if !ok {
		s.writeError(w, r, &rateLimitError{after})
		return
	}
	resAddr, ok, after := s.limits.loginAddr.reserve(addr)
	if !ok {
		refund(resUser)
		s.writeError(w, r, &rateLimitError{after})
		return
	}
	u, err := s.node.Login(r.Context(), req.Username, req.Password)
	if err != nil {
		if !errors.Is(err, node.ErrUnauthenticated) {
			refund(resUser, resAddr) // not a guess: the node was busy or the client left
		}
		s.hub.observer().Login(false)
		s.writeError(w, r, err)
		return
	}
	// Only failures count, so a user who logs in often is never locked
	// out by their own successes.
	refund(resUser, resAddr)
	s.hub.observer().Login(true)
	s.startSession(w, r, http.StatusOK, u, node.DeviceID(req.DeviceID))
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refreshToken"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if ok, after := s.limits.refresh.allow(clientAddr(r)); !ok {
		s.writeError(w, r, &rateLimitError{after})
		return
	}
	tok := req.RefreshToken
	if tok == "" {
		// The cookie path is the browser's: refuse it from other origins
		// (CSRF), on top of SameSite=Strict.
		if !s.sameOrigin(r) || !sameSiteFetch(r) || !jsonOrNoType(r) {
			writeErrorCode(w, http.StatusForbidden, "forbidden", "cross-origin refresh refused")
			return
		}
		if c, err := r.Cookie(refreshCookie); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		writeErrorCode(w, http.StatusUnauthorized, "unauthenticated", "refresh token is missing")
		return
	}
	sess, next, err := s.node.Refresh(r.Context(), tok)
	if err != nil {
		var rv *node.RevokedError
		if errors.As(err, &rv) {
			s.hub.CloseSession(rv.Session) // a stolen token may hold sockets open
		}
		s.clearCookie(w, r)
		s.writeError(w, r, err)
		return
	}
	u, err := s.node.User(r.Context(), sess.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.issue(w, r, http.StatusOK, u, sess, next)
}

// jsonOrNoType refuses the content types an HTML form can send, so a
// form cannot spend the refresh cookie even with an empty body.
func jsonOrNoType(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// sameSiteFetch rejects requests a browser marks as cross-site.
func sameSiteFetch(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookie, Value: "", Path: "/api/v1/auth", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.node.Logout(r.Context(), sessionOf(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.hub.CloseSession(sessionOf(r))
	s.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	u, err := s.node.User(r.Context(), userOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DisplayName *string `json:"displayName"`
		Avatar      *string `json:"avatar"`
		Password    *struct {
			Old string `json:"old"`
			New string `json:"new"`
		} `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c := node.ProfileChange{DisplayName: req.DisplayName, Avatar: req.Avatar, KeepSession: sessionOf(r)}
	var res *spent
	if req.Password != nil {
		c.OldPassword, c.NewPassword = req.Password.Old, &req.Password.New
		// The old password is a guess like a login's: with a stolen
		// access token it would otherwise be an unthrottled oracle. It
		// shares the username's failed-login bucket.
		name, _, _ := userOf(r).Split()
		var ok bool
		var after time.Duration
		if res, ok, after = s.limits.loginUser.reserve(name); !ok {
			s.writeError(w, r, &rateLimitError{after})
			return
		}
	}
	u, err := s.node.UpdateMe(r.Context(), userOf(r), c)
	if !errors.Is(err, node.ErrWrongPassword) {
		refund(res)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Password != nil {
		s.hub.CloseOtherSessions(u.ID, sessionOf(r))
	}
	writeJSON(w, http.StatusOK, u)
}
