package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/node"
)

// WebSocket limits and timings; the first three are defaults of Config.
const (
	authTimeout  = 10 * time.Second
	pongWait     = 60 * time.Second
	pingEvery    = 25 * time.Second
	writeWait    = 10 * time.Second
	maxFrame     = 64 << 10 // larger frames get a too_large error frame
	readLimit    = 16 << 20 // larger still closes the connection (1009); preAuthReadLimit before auth
	outQueueSize = 512
	// maxInflight bounds the sends of one connection that are written but
	// not yet durable (and so not acknowledged). Sends are pipelined: the
	// reader takes the next frame while earlier ones wait for the group
	// commit, so one busy sender is not limited to one message per fsync.
	// When the bound is reached the reader waits, which pushes back on the
	// client through TCP.
	maxInflight = 64
	// shutdownGrace bounds how long a node shutdown waits for a
	// connection's frame in progress before closing it anyway.
	shutdownGrace = 5 * time.Second

	closeUnauthenticated = 4001
)

var writeBufferPool = &sync.Pool{}

var upgrader = websocket.Upgrader{
	HandshakeTimeout: 10 * time.Second,
	WriteBufferPool:  writeBufferPool,
	// A read buffer of its own, smaller than the 4 KiB one net/http
	// hijacks with (which gorilla keeps when this is 0): every idle
	// connection holds it, most client frames are far smaller, and a
	// large one is read past the buffer straight into the message.
	ReadBufferSize: 1024,
	// The origin is checked by serveWS before upgrading (API.md §4):
	// gorilla's default lets an absent Origin through but also rejects
	// configured extra origins, so the server does it itself.
	CheckOrigin: func(*http.Request) bool { return true },
}

// conn is one WebSocket: the protocol (API.md §4) and authentication.
// Its outgoing side is w (writer.go).
type conn struct {
	s    *Server
	ws   *websocket.Conn
	w    *writer
	user node.UserID
	addr string // client address, counted by connLimits until auth

	sid   atomic.Value // string: session of the current token
	away  atomic.Bool  // the node is shutting down: read no more frames
	awayT *time.Timer  // guarded by expMu
	// mergeFirst and mergeLast (index+1 into a lane's merger links, 0
	// when none) list the frames a hub lane is joining for this
	// connection; that lane's alone.
	mergeFirst, mergeLast int32
	expiry                *time.Timer
	expMu                 sync.Mutex
	ctx                   context.Context // ends when the connection closes
	cancel                context.CancelFunc

	inflight chan struct{}  // one token per send awaiting durability
	acks     sync.WaitGroup // sends whose acknowledgement is not yet queued

	dev devicePump // the connection's device: to-device, device lists, key counts (ws_e2ee.go)
}

func (c *conn) sessionID() string { s, _ := c.sid.Load().(string); return s }

// goAway ends the connection for a node shutdown: the frame being
// handled finishes (its ack included), no further frame is read, the
// frames queued by then are flushed, and the close is 1001. A connection
// that does not get there within shutdownGrace is closed anyway.
func (c *conn) goAway() {
	select {
	case <-c.done():
		return // already ending
	default:
	}
	if c.away.Swap(true) {
		return
	}
	c.expMu.Lock()
	c.awayT = time.AfterFunc(shutdownGrace, func() { c.close(websocket.CloseGoingAway, "node shutting down") })
	c.expMu.Unlock()
	_ = c.ws.SetReadDeadline(time.Now()) // wakes a reader waiting for the next frame
}

// endRead closes the connection after its reader stopped, with 1001 when
// that was a shutdown's doing.
func (c *conn) endRead(code int, reason string) {
	if c.away.Load() {
		code, reason = websocket.CloseGoingAway, "node shutting down"
	}
	c.close(code, reason)
}

// unauthenticated ends the connection with 4001, after an error frame
// with code unauthenticated (docs/api.md) that says why.
func (c *conn) unauthenticated(msg, reason string) {
	c.sendFrame(errorFrame{Type: "error", Code: "unauthenticated", Message: msg})
	c.close(closeUnauthenticated, reason)
}

// close ends the connection with a close code; the first call wins. The
// writer's onClose cancels the connection's context (serveWS).
func (c *conn) close(code int, reason string) { c.w.close(code, reason) }

// done is closed once the connection is closing.
func (c *conn) done() <-chan struct{} { return c.w.done }

// sendFrame encodes v as a text frame and pushes it.
func (c *conn) sendFrame(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		c.s.log.Error("encode frame", "err", err)
		return
	}
	c.w.push(textFrame(data))
}

func (c *conn) sendError(id string, err error) {
	status, code := errorCode(err)
	if status == http.StatusTooManyRequests {
		c.s.hub.observer().RateLimited("ws")
	}
	if status >= 500 {
		c.s.log.Error("websocket frame failed", "user", c.user, "err", err)
	}
	c.sendFrame(errorFrame{Type: "error", ID: id, Code: code, Message: publicMessage(err, status)})
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		writeErrorCode(w, http.StatusForbidden, "forbidden", "origin not allowed")
		return
	}
	addr := clientAddr(r)
	if !s.conns.acquireUnauth(addr) {
		w.Header().Set("Retry-After", "1")
		writeErrorCode(w, http.StatusTooManyRequests, "rate_limited", "too many connections waiting to authenticate; authenticate the open ones or try again")
		return
	}
	bw := &batchWriter{ResponseWriter: w}
	ws, err := upgrader.Upgrade(bw, r, nil)
	if err != nil {
		s.conns.releaseUnauth(addr)
		return // the upgrader has answered with an HTTP error
	}
	if !bw.conn.direct() {
		// Every delivery then wakes the connection's writer goroutine: a
		// quarter more CPU per delivery at N=100 in workload F. A
		// listener wrapper that hides the socket does it (x/net's
		// LimitListener did, unnoticed).
		s.noDirect.Do(func() {
			s.log.Warn("WebSocket frames cannot be written directly: the listener's connections hide their socket descriptor (syscall.Conn)", "conn", fmt.Sprintf("%T", bw.conn.Conn))
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		s: s, ws: ws, w: newWriter(ws, bw.conn, outQueueSize, cancel), addr: addr,
		ctx: ctx, cancel: cancel, inflight: make(chan struct{}, maxInflight),
	}
	c.w.onSlow = s.hub.observer().SlowClient
	if !s.hub.track(c) {
		s.conns.releaseUnauth(addr)
		cancel()
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "node shutting down")
		_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	go c.run()
}

// run authenticates the connection, then reads frames until it ends.
func (c *conn) run() {
	s := c.s
	defer s.hub.untrack(c)
	defer c.cancel()
	defer func() {
		c.expMu.Lock()
		if c.awayT != nil {
			c.awayT.Stop()
		}
		c.expMu.Unlock()
	}()
	ws := c.ws
	ws.SetReadLimit(preAuthReadLimit)
	go c.w.run()

	user, ok := c.authenticate()
	s.conns.releaseUnauth(c.addr)
	if !ok {
		c.w.wait()
		_ = ws.Close()
		return
	}
	if !s.conns.acquireUser(user) {
		c.sendFrame(errorFrame{Type: "error", Code: "limit_exceeded",
			Message: fmt.Sprintf("this user has %d connections open, the most a user may have; close one", s.cfg.UserSockets)})
		c.close(websocket.CloseTryAgainLater, "too many connections")
		c.w.wait()
		return
	}
	defer s.conns.releaseUser(user)
	ws.SetReadLimit(readLimit)
	c.user = user
	if !c.bindDevice() {
		c.w.wait()
		return
	}
	defer c.dev.stop()
	if !c.goOnline() {
		c.w.wait()
		return
	}
	c.startDevicePump()
	defer func() {
		s.hub.remove(c)
		s.node.Disconnect(user)
		c.expMu.Lock()
		if c.expiry != nil {
			c.expiry.Stop()
		}
		c.expMu.Unlock()
	}()

	c.readFrames()
	c.w.wait()
}

// goOnline sends ready and joins the hub, and counts the user online. A
// failure closes the connection.
//
// ready is the first frame after auth, and the client must not see it
// before the connection receives fan-out and the user is online: a client
// acting on ready (or a peer it tells) would otherwise miss what happens
// next. So ready is queued, not written, while the connection joins the
// hub with its socket held; fan-out meanwhile queues behind ready, and the
// writer sends them all once released.
func (c *conn) goOnline() bool {
	me, err := c.s.node.User(c.ctx, c.user)
	if err != nil {
		c.close(websocket.CloseInternalServerErr, "internal error")
		return false
	}
	me.Presence, me.LastSeen = node.Online, 0
	ready, err := json.Marshal(map[string]any{"type": "ready", "user": me})
	if err != nil {
		c.close(websocket.CloseInternalServerErr, "internal error")
		return false
	}
	c.w.queueFirst(textFrame(ready), func() {
		c.s.hub.add(c)
		c.s.node.Connect(c.user)
	})
	return true
}

// readFrames reads and handles frames until the connection ends: the
// client goes, a frame is too large, the node shuts down, or a handler
// closes it. Sends read so far are acknowledged before the close frame.
func (c *conn) readFrames() {
	ws := c.ws
	ws.SetPongHandler(func(string) error {
		if c.away.Load() {
			return nil // keep the shutdown's deadline
		}
		return ws.SetReadDeadline(time.Now().Add(c.s.cfg.PongWait))
	})
	for {
		_ = ws.SetReadDeadline(time.Now().Add(c.s.cfg.PongWait))
		if c.away.Load() { // checked after setting the deadline: see goAway
			c.acks.Wait()
			c.endRead(websocket.CloseGoingAway, "")
			return
		}
		mt, data, err := readFrame(ws)
		if err != nil {
			// Sends read so far are acknowledged before the close frame.
			c.acks.Wait()
			if errors.Is(err, websocket.ErrReadLimit) {
				c.endRead(websocket.CloseMessageTooBig, "frame too large")
			} else {
				c.endRead(websocket.CloseNormalClosure, "")
			}
			return
		}
		c.handle(mt, data)
		select {
		case <-c.done():
			return
		default:
		}
	}
}

// readFrame reads one message but keeps at most maxFrame+1 bytes of it:
// the rest of a larger frame is read and dropped, so that the client gets
// a too_large error frame and keeps its connection (API.md §4) without
// the server buffering the frame. Past readLimit gorilla ends the
// connection with 1009.
func readFrame(ws *websocket.Conn) (int, []byte, error) {
	mt, r, err := ws.NextReader()
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, maxFrame+1))
	if err == nil && len(data) > maxFrame {
		_, err = io.Copy(io.Discard, r)
	}
	if err != nil {
		return 0, nil, err
	}
	return mt, data, nil
}

// authenticate waits for the first frame, which must be a valid auth.
func (c *conn) authenticate() (node.UserID, bool) {
	_ = c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.AuthTimeout))
	mt, data, err := c.ws.ReadMessage()
	if errors.Is(err, websocket.ErrReadLimit) {
		c.endRead(websocket.CloseMessageTooBig, "the first frame must be a small auth frame")
		return "", false
	}
	if err != nil {
		c.endRead(closeUnauthenticated, "authentication timed out")
		return "", false
	}
	var f clientFrame
	if mt != websocket.TextMessage || len(data) > maxFrame || decodeBytes(data, &f) != nil || f.Type != "auth" {
		c.sendFrame(errorFrame{Type: "error", Code: "unauthenticated", Message: "the first frame must be {\"type\":\"auth\",\"token\":...}"})
		c.close(closeUnauthenticated, "authentication required")
		return "", false
	}
	user, ok := c.auth(f.Token)
	return user, ok
}

// auth verifies a token and arms the expiry timer. A failure closes the
// connection with 4001.
func (c *conn) auth(tok string) (node.UserID, bool) {
	claims, err := c.s.tokens.Verify(tok)
	if err == nil {
		err = c.s.node.CheckSession(c.ctx, claims.Session, node.UserID(claims.User))
	}
	if err != nil || c.user != "" && node.UserID(claims.User) != c.user {
		c.sendFrame(errorFrame{Type: "error", Code: "unauthenticated", Message: "access token is invalid or expired"})
		c.close(closeUnauthenticated, "invalid token")
		return "", false
	}
	c.sid.Store(claims.Session)
	c.expMu.Lock()
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.expiry = time.AfterFunc(time.Until(claims.Expires), func() {
		c.unauthenticated("the access token has expired; send a fresh one in an auth frame", "token expired")
	})
	c.expMu.Unlock()
	return node.UserID(claims.User), true
}

// clientFrame is every frame a client may send (API.md §4, docs/api.md).
type clientFrame struct {
	Type    string  `json:"type"`
	Token   string  `json:"token"`
	ID      string  `json:"id"`
	Room    string  `json:"room"`
	Body    *string `json:"body"`
	ReplyTo string  `json:"replyTo"`
	Thread  string  `json:"thread"`
	Typing  *bool   `json:"typing"`
	UpTo    string  `json:"upTo"`
	Message string  `json:"message"`
	Emoji   string  `json:"emoji"`
	On      *bool   `json:"on"`
	// Encrypted replaces Body in an end-to-end encrypted room (API.md §7).
	Encrypted json.RawMessage `json:"encrypted"`
	// Attachments of a send (API.md §6).
	Attachments []json.RawMessage `json:"attachments"`
	// Mentions of a send (API.md §9).
	Mentions     []node.UserID `json:"mentions"`
	MentionsRoom bool          `json:"mentionsRoom"`
}

func invalid(msg string) error { return &node.Error{Kind: node.ErrInvalid, Message: msg} }

// handle answers one frame. Every refusal is an error frame; only auth
// failures end the connection. It is one case per frame type of API.md
// §4, kept together (over 80 lines) so the protocol reads in one place.
func (c *conn) handle(mt int, data []byte) {
	if mt != websocket.TextMessage {
		c.sendError("", invalid("frames must be JSON text"))
		return
	}
	if len(data) > maxFrame {
		c.sendError("", &node.Error{Kind: node.ErrTooLarge, Message: "frame is over 64 KiB"})
		return
	}
	if !utf8.Valid(data) {
		c.sendError("", invalid("frame is not valid UTF-8"))
		return
	}
	var f clientFrame
	if err := decodeBytes(data, &f); err != nil {
		c.sendError(idOf(data), err)
		return
	}
	if f.Type != "auth" && f.Type != "ping" {
		if ok, after := c.s.limits.userAllow(string(c.user)); !ok {
			c.sendError(f.ID, &rateLimitError{after})
			return
		}
	}
	n, u, ctx := c.s.node, c.user, c.ctx
	room := node.RoomID(f.Room)
	switch f.Type {
	case "auth":
		c.auth(f.Token)
	case "ping":
		c.sendFrame(map[string]string{"type": "pong"})
	case "send":
		if f.ID == "" {
			c.sendError("", invalid("send needs an id"))
			return
		}
		if f.Body == nil && f.Encrypted == nil && len(f.Attachments) == 0 {
			c.sendError(f.ID, invalid("send needs a body (or encrypted, in an encrypted room)"))
			return
		}
		c.send(ctx, node.SendParams{
			Room: room, Body: deref(f.Body), ReplyTo: node.EventID(f.ReplyTo), Thread: node.EventID(f.Thread), ClientID: f.ID,
			Encrypted:   f.Encrypted,
			Attachments: f.Attachments,
			Mentions:    f.Mentions, MentionsRoom: f.MentionsRoom,
		})
	case "typing":
		if f.Typing == nil {
			c.sendError(f.ID, invalid("typing needs a boolean typing field"))
			return
		}
		if err := n.SetTyping(u, room, *f.Typing); err != nil {
			c.sendError(f.ID, err)
		}
	case "read":
		if err := n.MarkRead(ctx, u, room, node.EventID(f.UpTo)); err != nil {
			c.sendError(f.ID, err)
		}
	case "edit":
		if f.Encrypted != nil {
			m, err := n.EditEncrypted(ctx, u, room, node.EventID(f.Message), f.Encrypted)
			c.reply(f.ID, m, err)
			return
		}
		if f.Body == nil {
			c.sendError(f.ID, invalid("edit needs a body"))
			return
		}
		m, err := n.Edit(ctx, u, room, node.EventID(f.Message), *f.Body)
		c.reply(f.ID, m, err)
	case "delete":
		err := n.Delete(ctx, u, room, node.EventID(f.Message))
		var m *node.Message
		if err == nil && f.ID != "" {
			m, _ = n.Message(ctx, u, room, node.EventID(f.Message))
		}
		c.reply(f.ID, m, err)
	case "react":
		m, err := n.React(ctx, u, room, node.EventID(f.Message), f.Emoji, f.On == nil || *f.On)
		c.reply(f.ID, m, err)
	case "todevice_ack":
		c.ackDevice(f.ID, f.UpTo)
	case "":
		c.sendError(f.ID, invalid("frame has no type"))
	default:
		c.sendError(f.ID, invalid("unknown frame type "+truncate(f.Type, 32)))
	}
}

// send posts a message without waiting for the disk: the ack (or the
// error that kept the message from the disk) is queued when the group
// commit that covers it is done, in the order the sends were read.
func (c *conn) send(ctx context.Context, p node.SendParams) {
	select {
	case c.inflight <- struct{}{}:
	case <-c.done():
		return
	}
	c.acks.Add(1)
	id := p.ClientID
	err := c.s.node.SendAsync(ctx, c.user, p, func(m *node.Message, err error) {
		defer c.acks.Done()
		<-c.inflight
		if err != nil {
			c.sendError(id, err)
			return
		}
		c.s.hub.observer().MessageIn()
		c.sendAck(id, m)
	})
	if err != nil {
		<-c.inflight
		c.acks.Done()
		c.sendError(id, err)
	}
}

// sendAck queues {"type":"ack","id","message"}; the message's JSON is
// the one its fan-out uses too (Hub.messageJSON).
func (c *conn) sendAck(id string, m *node.Message) {
	data, err := c.s.hub.messageFrame("ack", id, m)
	if err != nil {
		c.s.log.Error("encode ack", "err", err)
		return
	}
	c.w.push(textFrame(data))
}

func (c *conn) reply(id string, m *node.Message, err error) {
	if err != nil {
		c.sendError(id, err)
		return
	}
	if id != "" {
		c.sendFrame(frame{Type: "ack", ID: id, Message: m})
	}
}

// idOf digs the id out of a frame that did not decode, so the error can
// still name the frame it refuses.
func idOf(data []byte) string {
	var f struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &f) != nil {
		return ""
	}
	return truncate(f.ID, 128)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
