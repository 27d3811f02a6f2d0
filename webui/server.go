// Package webui serves Hearth's HTTP and WebSocket API (API.md §3, §4) and
// the embedded browser UI.
//
// It talks to the domain only through the Domain interface it declares
// (domain.go) and translates errors in one place (errorCode). Live delivery goes through the Hub, which the node
// uses as its Notifier.
package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/token"
)

// MaxBodyBytes bounds JSON request bodies.
const MaxBodyBytes = 64 << 10

// Config configures a Server. Zero fields take defaults.
type Config struct {
	// Node is the domain service (required); cmd/hearth passes a
	// *node.Node.
	Node   Domain
	Hub    *Hub
	Tokens *token.Issuer
	// MediaTokens signs the media cookie (webui/media.go); with a key of
	// its own, so that the cookie is no bearer token. Nil turns the
	// cookie off.
	MediaTokens *token.Issuer
	Logger      *slog.Logger
	// PublicURLs are the URLs (scheme://host[:port]) the node is served
	// under. Requests for other host names are refused (421), except
	// loopback names and IP literals, which are always served; their
	// origins may use the API from a browser.
	PublicURLs []string
	// AllowedOrigins are extra browser origins (scheme://host[:port])
	// allowed to open WebSockets and spend the refresh cookie.
	AllowedOrigins []string
	// UserSockets bounds the authenticated WebSockets of one user; 0
	// means 32, negative means no bound.
	UserSockets int
	// UnauthPerAddr and UnauthTotal bound the WebSockets not yet
	// authenticated, per client address and in all; 0 means 64 and 1024.
	UnauthPerAddr int
	UnauthTotal   int
	// UserRate is the sustained rate of API requests and WebSocket frames
	// per user, per second; 0 means 200 (burst: 2 s worth). Negative
	// disables the limit (for load tests on a private node).
	UserRate float64
	// Peers reports the number of connected federation peers.
	Peers func() int
	// Addrs reports the node's libp2p addresses (full, with /p2p/<id>).
	Addrs func() []string
	// Ready reports whether the database is open.
	Ready func() bool
	// AuthTimeout is how long a WebSocket may wait before its auth
	// frame; 0 means 10s (API.md §4).
	AuthTimeout time.Duration
	// Observer is told what happens, for metrics; nil for none.
	Observer Observer
	// PingInterval is how often the server pings a WebSocket; 0 means
	// 25s. PongWait is how long it waits for any frame or pong before
	// dropping the connection; 0 means 60s.
	PingInterval time.Duration
	PongWait     time.Duration
}

// Server is the HTTP handler of a node.
type Server struct {
	cfg    Config
	node   Domain
	hub    *Hub
	tokens *token.Issuer
	log    *slog.Logger
	limits *limits
	conns  *connLimits
	mux    *http.ServeMux
	hosts  *hosts

	stopPings chan struct{}
	pingsDone chan struct{}
	// noDirect says once that the listener's connections hide their
	// descriptor, so that no frame takes the direct path (batchconn.go).
	noDirect sync.Once
}

// New builds the server's routes.
func New(cfg Config) (*Server, error) {
	if cfg.Node == nil || cfg.Hub == nil || cfg.Tokens == nil {
		return nil, errors.New("webui: node, hub and tokens are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UserRate == 0 {
		cfg.UserRate = 200
	}
	if cfg.Peers == nil {
		cfg.Peers = func() int { return 0 }
	}
	if cfg.Addrs == nil {
		cfg.Addrs = func() []string { return nil }
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	if cfg.AuthTimeout == 0 {
		cfg.AuthTimeout = authTimeout
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = pingEvery
	}
	if cfg.PongWait == 0 {
		cfg.PongWait = pongWait
	}
	if cfg.UserSockets == 0 {
		cfg.UserSockets = DefaultUserSockets
	}
	if cfg.UnauthPerAddr == 0 {
		cfg.UnauthPerAddr = DefaultUnauthPerAddr
	}
	if cfg.UnauthTotal == 0 {
		cfg.UnauthTotal = DefaultUnauthTotal
	}
	hs, err := newHosts(cfg.PublicURLs, cfg.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	s := &Server{
		cfg: cfg, node: cfg.Node, hub: cfg.Hub, tokens: cfg.Tokens, log: cfg.Logger,
		limits: newLimits(cfg.UserRate), conns: newConnLimits(cfg), mux: http.NewServeMux(), hosts: hs,
		stopPings: make(chan struct{}), pingsDone: make(chan struct{}),
	}
	if cfg.Observer != nil {
		cfg.Hub.SetObserver(cfg.Observer)
	}
	s.routes()
	go func() {
		defer close(s.pingsDone)
		s.hub.keepAlive(s.stopPings, cfg.PingInterval)
	}()
	return s, nil
}

// Close stops the server's background work.
func (s *Server) Close() {
	s.limits.close()
	close(s.stopPings)
	<-s.pingsDone
}

type methods map[string]http.HandlerFunc

// handle registers a path with one handler per method; other methods get
// a 405 with the API's error body.
func (s *Server) handle(pattern string, m methods) {
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h, ok := m[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = m[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeErrorCode(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
			return
		}
		h(w, r)
	})
}

func (s *Server) routes() {
	s.handle("/healthz", methods{"GET": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}})
	s.handle("/readyz", methods{"GET": func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.Ready() {
			writeErrorCode(w, http.StatusServiceUnavailable, "unavailable", "database is not open")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}})
	s.handle("/api/v1/node", methods{"GET": s.getNode})

	s.handle("/api/v1/auth/register", methods{"POST": s.register})
	s.handle("/api/v1/auth/login", methods{"POST": s.login})
	s.handle("/api/v1/auth/refresh", methods{"POST": s.refresh})
	s.handle("/api/v1/auth/logout", methods{"POST": s.authed(s.logout)})
	s.handle("/api/v1/me", methods{"GET": s.authed(s.getMe), "PATCH": s.authed(s.patchMe)})

	s.handle("/api/v1/users", methods{"GET": s.authed(s.searchUsers)})
	s.handle("/api/v1/users/{userID}", methods{"GET": s.authed(s.getUser)})

	s.handle("/api/v1/rooms", methods{"GET": s.authed(s.listRooms), "POST": s.authed(s.createRoom)})
	s.handle("/api/v1/rooms/public", methods{"GET": s.authed(s.publicRooms)})
	s.handle("/api/v1/rooms/{roomID}", methods{"GET": s.authed(s.getRoom), "PATCH": s.authed(s.patchRoom)})
	s.handle("/api/v1/rooms/{roomID}/timeline", methods{"GET": s.authed(s.roomTimeline)})
	s.handle("/api/v1/rooms/{roomID}/join", methods{"POST": s.authed(s.joinRoom)})
	s.handle("/api/v1/rooms/{roomID}/leave", methods{"POST": s.authed(s.leaveRoom)})
	s.handle("/api/v1/rooms/{roomID}/invite", methods{"POST": s.authed(s.invite)})
	s.handle("/api/v1/rooms/{roomID}/members", methods{"GET": s.authed(s.members)})
	s.handle("/api/v1/rooms/{roomID}/receipts", methods{"GET": s.authed(s.receipts)})
	s.handle("/api/v1/rooms/{roomID}/read", methods{"POST": s.authed(s.markRead)})
	s.handle("/api/v1/rooms/{roomID}/messages", methods{"GET": s.authed(s.history), "POST": s.authed(s.postMessage)})
	s.handle("/api/v1/rooms/{roomID}/messages/{msgID}", methods{
		"GET": s.authed(s.getMessage), "PATCH": s.authed(s.editMessage), "DELETE": s.authed(s.deleteMessage),
	})
	s.handle("/api/v1/rooms/{roomID}/messages/{msgID}/reactions/{emoji}", methods{
		"PUT": s.authed(s.addReaction), "DELETE": s.authed(s.removeReaction),
	})
	s.handle("/api/v1/dm", methods{"POST": s.authed(s.dm)})
	s.handle("/api/v1/search", methods{"GET": s.authed(s.search)})
	s.keyRoutes()
	s.adminRoutes()
	s.moderationRoutes()
	s.notificationRoutes()
	s.handle("/api/v1/ws", methods{"GET": s.serveWS})
	s.mediaRoutes()
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeErrorCode(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	s.mux.Handle("/", uiHandler())
}

// ServeHTTP adds security headers and turns panics into 500s, so nothing a
// client sends can crash the process.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// 'wasm-unsafe-eval' lets the UI compile the end-to-end encryption's
	// WebAssembly (served from this origin); eval and inline scripts stay
	// forbidden. blob: media are the decrypted files of encrypted rooms
	// (the UI gives them only image, audio and video types).
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeErrorCode(w, http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	if !s.hosts.hostAllowed(r) {
		writeErrorCode(w, http.StatusMisdirectedRequest, "misdirected",
			"this node is not served under that host name (an operator adds it with --public-url)")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// decode reads a JSON body of at most MaxBodyBytes into v. An empty body
// decodes as {} for endpoints whose fields are all optional. A body must
// be declared application/json: the types an HTML form or a no-cors
// fetch can send (text/plain among them) are refused, so a foreign page
// cannot post to the API from a user's browser (login CSRF).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &node.Error{Kind: node.ErrTooLarge, Message: fmt.Sprintf("request body is over %d bytes", MaxBodyBytes)}
		}
		return &node.Error{Kind: node.ErrInvalid, Message: "could not read request body"}
	}
	if len(bytes.TrimSpace(body)) > 0 && !isJSON(r) {
		return errMediaType
	}
	return decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if !utf8.Valid(body) {
		return &node.Error{Kind: node.ErrInvalid, Message: "request body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &node.Error{Kind: node.ErrInvalid, Message: fmt.Sprintf("field %q has the wrong type", te.Field)}
		}
		return &node.Error{Kind: node.ErrInvalid, Message: "request body is not valid JSON"}
	}
	if dec.More() {
		return &node.Error{Kind: node.ErrInvalid, Message: "request body has data after the JSON value"}
	}
	return nil
}

// clientAddr is the address rate limits count against.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sameOrigin reports whether a browser Origin may use the API with
// credentials (hosts.originAllowed).
func (s *Server) sameOrigin(r *http.Request) bool { return s.hosts.originAllowed(r) }
