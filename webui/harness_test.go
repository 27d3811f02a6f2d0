package webui_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/hearth-chat/hearth/media"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
	"github.com/hearth-chat/hearth/token"
	"github.com/hearth-chat/hearth/webui"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Badger's and glog-style background workers are owned by the
		// process, not by a test.
		goleak.IgnoreTopFunction("github.com/golang/glog.(*fileSink).flushDaemon"),
		goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/badger/v4/y.(*WaterMark).process"),
		// bleve's analysis workers, one pool for the process.
		goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"),
	)
}

const testPassword = "correct horse battery"

// testNode is a real node (Badger on a temp dir, fresh key) behind an
// httptest server.
type testNode struct {
	URL    string
	Node   *node.Node
	Hub    *webui.Hub
	Web    *webui.Server
	Tokens *token.Issuer
	srv    *httptest.Server
	remote *node.Signer // signs events of a made-up remote node (remoteJoins)
}

type nodeOptions struct {
	config func(*webui.Config)
	node   func(*node.Config)
	admin  node.AdminConfig // the node's registration mode and the like
	// domain, when set, is what the server is given instead of the real
	// node: a wrapper around it (the server sees only webui.Domain).
	domain   func(*node.Node) webui.Domain
	tokenTTL time.Duration
	typing   time.Duration
	// sndBuf, when set, shrinks the server side's socket send buffer so
	// that a client that does not read backs up into the server's queue
	// quickly.
	sndBuf int
	// listener, when set, wraps the server's listener.
	listener func(net.Listener) net.Listener
}

func newTestNode(t *testing.T, o nodeOptions) *testNode {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(t.TempDir(), store.Options{Logger: log})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hub := webui.NewHub(log)
	files, err := media.Open(t.TempDir(), media.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ncfg := node.Config{Store: db, Key: key, Name: "test", Version: "test", Logger: log, Notifier: hub, TypingTimeout: o.typing, Media: files, Admin: o.admin}
	if o.node != nil {
		o.node(&ncfg)
	}
	n, err := node.New(ctx, ncfg)
	if err != nil {
		db.Close()
		t.Fatalf("new node: %v", err)
	}
	hub.OnDelivered(n.Delivered)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	tokens, err := token.NewIssuer(secret, string(n.ID()), o.tokenTTL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = rand.Read(secret)
	mediaTokens, err := token.NewIssuer(secret, string(n.ID())+"/media", o.tokenTTL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var d webui.Domain = n
	if o.domain != nil {
		d = o.domain(n)
	}
	cfg := webui.Config{Node: d, Hub: hub, Tokens: tokens, MediaTokens: mediaTokens, Logger: log}
	if o.config != nil {
		o.config(&cfg)
	}
	web, err := webui.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(web)
	if o.sndBuf > 0 {
		srv.Listener = &smallBufListener{Listener: srv.Listener, size: o.sndBuf}
	}
	if o.listener != nil {
		srv.Listener = o.listener(srv.Listener)
	}
	srv.Start()
	tn := &testNode{URL: srv.URL, Node: n, Hub: hub, Web: web, Tokens: tokens, srv: srv}
	t.Cleanup(func() {
		srv.Close()
		hub.Shutdown()
		web.Close()
		n.Close()
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return tn
}

type smallBufListener struct {
	net.Listener
	size int
}

func (l *smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok && err == nil {
		_ = tc.SetWriteBuffer(l.size)
	}
	return c, err
}

// --- REST ---------------------------------------------------------------

// client is one session of one user (or an anonymous caller).
type client struct {
	tn      *testNode
	User    node.User
	Access  string
	Refresh string
}

type session struct {
	User         node.User `json:"user"`
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken"`
	ExpiresIn    int       `json:"expiresIn"`
	DeviceID     string    `json:"deviceId"`
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorCode checks the API error body shape and returns its code.
func (r *response) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: body %q is not an API error", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type = %q", ct)
	}
	return e.Error.Code
}

// request is one HTTP request; body is JSON-encoded unless it is a
// string or []byte, which are sent as they are.
type request struct {
	method, path string
	body         any
	token        string
	header       map[string]string
	host         string // the Host header, when not the server's address
	noType       bool   // send the body without a Content-Type
}

func (tn *testNode) do(t *testing.T, rq request) *response {
	t.Helper()
	var rd io.Reader
	switch b := rq.body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(rq.method, tn.URL+rq.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil && !rq.noType {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, rq, resp, body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// checkResponse holds for every response: security headers, and no
// stack trace or password hash in the body.
func checkResponse(t *testing.T, rq request, resp *http.Response, body []byte) {
	t.Helper()
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s %s: CSP = %q", rq.method, rq.path, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
		t.Errorf("%s %s: missing nosniff or Referrer-Policy", rq.method, rq.path)
	}
	for _, bad := range []string{"goroutine ", "runtime/", ".go:", "$argon2", "passwordHash"} {
		if bytes.Contains(body, []byte(bad)) {
			t.Errorf("%s %s: body leaks %q: %s", rq.method, rq.path, bad, body)
		}
	}
	if resp.StatusCode >= 400 && rq.method != http.MethodHead && !bytes.Contains(body, []byte(`"error"`)) {
		t.Errorf("%s %s: %d without an error body: %s", rq.method, rq.path, resp.StatusCode, body)
	}
}

// must does a request and fails the test unless the status is want; it
// decodes the body into out when out is not nil.
func (tn *testNode) must(t *testing.T, rq request, want int, out any) *response {
	t.Helper()
	r := tn.do(t, rq)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", rq.method, rq.path, r.Status, want, r.Body)
	}
	if out != nil {
		r.decode(t, out)
	}
	return r
}

func (tn *testNode) mustRegister(t *testing.T, username string) *client {
	t.Helper()
	var s session
	tn.must(t, request{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"username": username, "password": testPassword}}, http.StatusCreated, &s)
	return &client{tn: tn, User: s.User, Access: s.AccessToken, Refresh: s.RefreshToken}
}

func (tn *testNode) mustLogin(t *testing.T, username string) *client {
	t.Helper()
	var s session
	tn.must(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": username, "password": testPassword}}, http.StatusOK, &s)
	return &client{tn: tn, User: s.User, Access: s.AccessToken, Refresh: s.RefreshToken}
}

// call does an authenticated request as c.
func (c *client) call(t *testing.T, method, path string, body any) *response {
	t.Helper()
	return c.tn.do(t, request{method: method, path: path, body: body, token: c.Access})
}

func (c *client) must(t *testing.T, method, path string, body any, want int, out any) *response {
	t.Helper()
	return c.tn.must(t, request{method: method, path: path, body: body, token: c.Access}, want, out)
}

func (c *client) mustCreateRoom(t *testing.T, name, visibility string) node.Room {
	t.Helper()
	var r node.Room
	// The plaintext tests ask for rooms without end-to-end encryption,
	// which private rooms have by default (API.md §7).
	c.must(t, "POST", "/api/v1/rooms", map[string]any{"name": name, "visibility": visibility, "encrypted": false}, http.StatusCreated, &r)
	return r
}

func (c *client) mustPost(t *testing.T, room node.RoomID, body string) node.Message {
	t.Helper()
	var m node.Message
	c.must(t, "POST", "/api/v1/rooms/"+string(room)+"/messages", map[string]string{"body": body}, http.StatusCreated, &m)
	return m
}

type page struct {
	Messages []node.Message `json:"messages"`
	More     bool           `json:"more"`
}

func (c *client) mustHistory(t *testing.T, room node.RoomID, query string) page {
	t.Helper()
	var p page
	c.must(t, "GET", "/api/v1/rooms/"+string(room)+"/messages"+query, nil, http.StatusOK, &p)
	return p
}

// --- WebSocket ------------------------------------------------------------

// wsFrame is any server frame; fields that change type between frames
// stay raw.
type wsFrame struct {
	Type     string          `json:"type"`
	ID       string          `json:"id"`
	Message  json.RawMessage `json:"message"`
	Room     json.RawMessage `json:"room"`
	User     json.RawMessage `json:"user"`
	Presence string          `json:"presence"`
	LastSeen int64           `json:"lastSeen"`
	Typing   *bool           `json:"typing"`
	UpTo     string          `json:"upTo"`
	Kind     string          `json:"kind"`
	Code     string          `json:"code"`
	// Membership is a member frame's new state (API.md §4).
	Membership string `json:"membership"`
	// End-to-end encryption frames (API.md §7).
	Events           []json.RawMessage `json:"events"`
	Next             string            `json:"next"`
	Changed          []string          `json:"changed"`
	Left             []string          `json:"left"`
	OneTimeKeyCounts map[string]int    `json:"oneTimeKeyCounts"`
	UnusedFallback   []string          `json:"unusedFallbackKeyTypes"`
	// A notifications frame's settings (docs/api.md).
	Settings json.RawMessage `json:"settings"`
	// Reaction deltas (docs/api.md).
	Emoji string `json:"emoji"`
	On    *bool  `json:"on"`
	Count int    `json:"count"`
}

func (f wsFrame) message(t *testing.T) node.Message {
	t.Helper()
	var m node.Message
	if err := json.Unmarshal(f.Message, &m); err != nil {
		t.Fatalf("%s frame message: %v", f.Type, err)
	}
	return m
}

func (f wsFrame) userID() string {
	var s string
	if json.Unmarshal(f.User, &s) == nil {
		return s
	}
	var u node.User
	_ = json.Unmarshal(f.User, &u)
	return string(u.ID)
}

func (f wsFrame) roomID() string {
	var s string
	if json.Unmarshal(f.Room, &s) == nil {
		return s
	}
	var r node.Room
	_ = json.Unmarshal(f.Room, &r)
	return string(r.ID)
}

// wsClient is a WebSocket with a reader goroutine that queues frames.
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan wsFrame
	done   chan struct{}
	err    error // the read error that ended the reader; set before done closes
	// closedAt is when the reader saw the connection end; set before done
	// closes.
	closedAt time.Time

	backlog []wsFrame // frames expect passed over; used by the test goroutine only

	wmu sync.Mutex
}

func (tn *testNode) dialWS(t *testing.T, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	url := "ws" + strings.TrimPrefix(tn.URL, "http") + "/api/v1/ws"
	return d.Dial(url, header)
}

// mustDial opens a WebSocket without authenticating.
func (tn *testNode) mustDial(t *testing.T) *wsClient {
	t.Helper()
	conn, _, err := tn.dialWS(t, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return newWSClient(t, conn, true)
}

func newWSClient(t *testing.T, conn *websocket.Conn, read bool) *wsClient {
	w := &wsClient{t: t, conn: conn, frames: make(chan wsFrame, 4096), done: make(chan struct{})}
	if read {
		go w.read()
	}
	t.Cleanup(func() {
		w.conn.Close()
		if read {
			<-w.done
		}
	})
	return w
}

func (w *wsClient) read() {
	defer close(w.done)
	for {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			w.err, w.closedAt = err, time.Now()
			return
		}
		var f wsFrame
		if err := json.Unmarshal(data, &f); err != nil {
			w.err = fmt.Errorf("server sent a frame that is not JSON: %q", data)
			return
		}
		select {
		case w.frames <- f:
		default:
			w.err = errors.New("test client's frame queue overflowed")
			return
		}
	}
}

// mustWS dials and authenticates as c, and waits for ready.
func (c *client) mustWS(t *testing.T) *wsClient {
	t.Helper()
	w := c.tn.mustDial(t)
	w.send(t, map[string]any{"type": "auth", "token": c.Access})
	f := w.expect(t, "ready", nil)
	if f.userID() != string(c.User.ID) {
		t.Fatalf("ready for %s, want %s", f.userID(), c.User.ID)
	}
	return w
}

func (w *wsClient) send(t *testing.T, v any) {
	t.Helper()
	w.wmu.Lock()
	defer w.wmu.Unlock()
	var err error
	switch b := v.(type) {
	case string:
		err = w.conn.WriteMessage(websocket.TextMessage, []byte(b))
	case []byte:
		err = w.conn.WriteMessage(websocket.TextMessage, b)
	default:
		err = w.conn.WriteJSON(v)
	}
	if err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// frameWait bounds expect's wait for a frame: long enough for a machine
// busy with other work, and reached only when the frame never comes.
const frameWait = 15 * time.Second

// expect returns the next frame of the given type for which match
// (when set) holds; it fails after frameWait. Frames it passes over are
// kept, in order, for later calls: frames of different kinds may arrive
// in either order (a sender's own message frame and its ack, say).
func (w *wsClient) expect(t *testing.T, typ string, match func(wsFrame) bool) wsFrame {
	t.Helper()
	ok := func(f wsFrame) bool { return f.Type == typ && (match == nil || match(f)) }
	for i, f := range w.backlog {
		if ok(f) {
			w.backlog = append(w.backlog[:i:i], w.backlog[i+1:]...)
			return f
		}
	}
	timeout := time.After(frameWait)
	for {
		select {
		case f := <-w.frames:
			if ok(f) {
				return f
			}
			w.backlog = append(w.backlog, f)
		case <-w.done:
			// Drain what arrived before the close.
			for len(w.frames) > 0 {
				if f := <-w.frames; ok(f) {
					return f
				} else {
					w.backlog = append(w.backlog, f)
				}
			}
			t.Fatalf("connection ended waiting for a %s frame: %v", typ, w.err)
		case <-timeout:
			t.Fatalf("no %s frame within %v", typ, frameWait)
		}
	}
}

// expectNone checks that no frame of the type (matching) arrives within d.
// Only for negative checks, where there is nothing to poll for.
func (w *wsClient) expectNone(t *testing.T, typ string, match func(wsFrame) bool, d time.Duration) {
	t.Helper()
	for _, f := range w.backlog {
		if f.Type == typ && (match == nil || match(f)) {
			t.Fatalf("unexpected %s frame: %+v", typ, f)
		}
	}
	timeout := time.After(d)
	for {
		select {
		case f := <-w.frames:
			if f.Type == typ && (match == nil || match(f)) {
				t.Fatalf("unexpected %s frame: %+v", typ, f)
			}
		case <-timeout:
			return
		}
	}
}

// expectClose waits for the server to close the connection and returns
// the close code.
func (w *wsClient) expectClose(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(timeout):
		t.Fatalf("connection still open after %v", timeout)
	}
	var ce *websocket.CloseError
	if errors.As(w.err, &ce) {
		return ce.Code
	}
	t.Fatalf("connection ended without a close frame: %v", w.err)
	return 0
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
