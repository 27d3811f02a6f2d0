package webui

import (
	"encoding/json"
	"hash/maphash"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/hearth-chat/hearth/node"
)

const (
	hubShards = 32
	// laneQueue bounds the fan-outs waiting in one lane; past it Notify
	// waits, which slows the node's writers rather than growing memory.
	laneQueue = 4096
)

// Hub fans notifications out to the WebSocket connections of local users.
// It implements node.Notifier. Each frame is encoded once and shared by
// every receiver (outbox.go); each connection has a bounded queue, and a
// connection whose queue is full is cut off rather than allowed to stall
// the hub or grow memory.
//
// The hub is sharded by user so that fan-out to many users and connects
// and disconnects do not contend on one lock. Fan-out runs on one lane
// goroutine per CPU, off the caller's goroutine (the store's sync loop,
// which acknowledges writes): a user always maps to the same lane, so each
// connection receives its frames in the order Notify was called.
type Hub struct {
	log       *slog.Logger
	seed      maphash.Seed
	shards    [hubShards]hubShard
	delivered func(node.UserID, *node.Message)
	obs       Observer // nil: none (observe.go)

	memo msgMemo

	lanes    []chan fanout
	stop     chan struct{}
	stopOnce sync.Once
	lanesWG  sync.WaitGroup

	// live is every connection from upgrade to end, authenticated or
	// not, so that Shutdown also reaches those still authenticating or
	// not yet in a shard; once closing is set no connection is added.
	liveMu  sync.Mutex
	live    map[*conn]struct{}
	closing bool
	wg      sync.WaitGroup // the connections in live
}

// msgMemo is the JSON of the message encoded last. A message's
// acknowledgement and its fan-out run one after the other in its
// durability callback; with the memo they encode it once. Messages are
// not changed once handed to the hub (node.Notifier's contract).
type msgMemo struct {
	mu sync.Mutex
	m  *node.Message
	b  []byte
}

// messageJSON encodes m, or returns the encoding it made of m last.
func (h *Hub) messageJSON(m *node.Message) ([]byte, error) {
	h.memo.mu.Lock()
	defer h.memo.mu.Unlock()
	if h.memo.m == m && m != nil {
		return h.memo.b, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	h.memo.m, h.memo.b = m, b
	return b, nil
}

// messageFrame is the frame {"type":typ[,"id":id],"message":m}, as
// json.Marshal of frame writes it.
func (h *Hub) messageFrame(typ, id string, m *node.Message) ([]byte, error) {
	mj, err := h.messageJSON(m)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(mj)+len(id)+40)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if id != "" {
		q, err := json.Marshal(id)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"id":`...), q...)
	}
	b = append(b, `,"message":`...)
	b = append(b, mj...)
	return append(b, '}'), nil
}

type hubShard struct {
	mu sync.RWMutex
	// users maps a user to their connections: a slice, because fan-out
	// walks it for every delivery and most users have one or two.
	users map[node.UserID][]*conn
}

// NewHub returns an empty hub. delivered, when set, is told when a
// message reached at least one connection of a user (node.Delivered).
func NewHub(log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	h := &Hub{log: log, seed: maphash.MakeSeed(), live: map[*conn]struct{}{}, stop: make(chan struct{})}
	for i := range h.shards {
		h.shards[i].users = map[node.UserID][]*conn{}
	}
	h.lanes = make([]chan fanout, min(runtime.GOMAXPROCS(0), hubShards))
	for i := range h.lanes {
		h.lanes[i] = make(chan fanout, laneQueue)
		h.lanesWG.Add(1)
		go h.runLane(h.lanes[i])
	}
	return h
}

// fanout is one notification for the users of one lane.
type fanout struct {
	frame []byte
	to    []node.UserID
	n     *node.Notification
}

// OnDelivered sets the delivered-receipt callback; call before serving.
func (h *Hub) OnDelivered(fn func(node.UserID, *node.Message)) { h.delivered = fn }

func (h *Hub) shardIndex(u node.UserID) int {
	return int(maphash.String(h.seed, string(u)) % hubShards)
}

func (h *Hub) shard(u node.UserID) *hubShard { return &h.shards[h.shardIndex(u)] }

func (h *Hub) add(c *conn) {
	sh := h.shard(c.user)
	sh.mu.Lock()
	sh.users[c.user] = append(sh.users[c.user], c)
	sh.mu.Unlock()
}

func (h *Hub) remove(c *conn) {
	sh := h.shard(c.user)
	sh.mu.Lock()
	// Readers hold the shard's read lock while they walk the slice, so
	// it may change in place here.
	cs := slices.DeleteFunc(sh.users[c.user], func(x *conn) bool { return x == c })
	if len(cs) == 0 {
		delete(sh.users, c.user)
	} else {
		sh.users[c.user] = cs
	}
	sh.mu.Unlock()
}

// Notify implements node.Notifier. It encodes the frame once and hands
// the users to their lanes.
func (h *Hub) Notify(to []node.UserID, n *node.Notification) {
	if len(to) == 0 {
		return
	}
	if n.Kind == node.NoteDevice {
		h.pokeDevices(to, n) // ws_e2ee.go
		return
	}
	var data []byte
	var err error
	if (n.Kind == node.NoteMessage || n.Kind == node.NoteUpdate) && n.Message != nil {
		data, err = h.messageFrame(n.Kind, "", n.Message)
	} else {
		data, err = json.Marshal(frameOf(n))
	}
	if err != nil {
		h.log.Error("encode notification", "kind", n.Kind, "err", err)
		return
	}
	f := textFrame(data)
	if len(h.lanes) == 1 {
		h.toLane(0, fanout{frame: f, to: to, n: n})
		return
	}
	per := make([][]node.UserID, len(h.lanes))
	for _, u := range to {
		l := h.shardIndex(u) % len(h.lanes)
		per[l] = append(per[l], u)
	}
	for l, us := range per {
		if len(us) > 0 {
			h.toLane(l, fanout{frame: f, to: us, n: n})
		}
	}
}

func (h *Hub) toLane(l int, fo fanout) {
	select {
	case h.lanes[l] <- fo:
	case <-h.stop: // shut down: no connections are left to reach
	}
}

// laneBatch bounds how many waiting fan-outs a lane merges into one
// write per connection.
const laneBatch = 64

// runLane delivers fan-outs until the hub shuts down. When fan-outs have
// piled up (the lane fell behind), it takes them all at once and gives
// each connection everything it gets from them in one write, so a busy
// node spends fewer system calls per delivery, not more.
func (h *Hub) runLane(lane chan fanout) {
	defer h.lanesWG.Done()
	var batch []fanout
	var m merger
	for {
		select {
		case fo := <-lane:
			batch = append(batch[:0], fo)
		case <-h.stop:
			return
		}
	more:
		for len(batch) < laneBatch {
			select {
			case fo := <-lane:
				batch = append(batch, fo)
			default:
				break more
			}
		}
		if len(batch) == 1 {
			h.deliver(batch[0])
		} else {
			h.deliverMerged(batch, &m)
		}
		clear(batch) // drop the frames for the collector
	}
}

// deliver pushes one fan-out's frame to each connection of its users.
func (h *Hub) deliver(fo fanout) {
	pushed := 0
	for _, u := range fo.to {
		sh := h.shard(u)
		sh.mu.RLock()
		reached := false
		for _, c := range sh.users[u] {
			if c.w.push(fo.frame) {
				reached = true
				pushed++
			}
		}
		sh.mu.RUnlock()
		if reached {
			h.deliveredTo(u, fo.n)
		}
	}
	if fo.n.Kind == node.NoteMessage && pushed > 0 {
		h.observer().MessagesOut(pushed)
	}
}

// merger is a lane's scratch space for joining a batch's frames per
// connection. Each connection's frames are a linked list through links
// (conn.mergeFirst, conn.mergeLast), joined into buf one connection at a
// time: the memory is the lane's, whatever the number of connections,
// where a buffer per connection cost up to 64 KiB each (640 MiB for
// 10,000 connections behind a burst).
type merger struct {
	links    []mergeLink
	touched  []*conn
	buf      []byte
	messages int // message frames joined, for the observer
}

// mergeLink is one frame (batch index fo) for one connection; next is
// the index+1 of the connection's next link, 0 at the end.
type mergeLink struct{ fo, next int32 }

// deliverMerged pushes several fan-outs, in order, with one push per
// connection of their frames joined. Only this lane touches the merge
// fields of its users' connections (a user always maps to one lane).
func (h *Hub) deliverMerged(batch []fanout, m *merger) {
	for i, fo := range batch {
		for _, u := range fo.to {
			sh := h.shard(u)
			sh.mu.RLock()
			reached := false
			for _, c := range sh.users[u] {
				if fo.n.Kind == node.NoteMessage {
					m.messages++
				}
				m.links = append(m.links, mergeLink{fo: int32(i)})
				l := int32(len(m.links)) // index+1
				if c.mergeLast == 0 {
					c.mergeFirst = l
					m.touched = append(m.touched, c)
				} else {
					m.links[c.mergeLast-1].next = l
				}
				c.mergeLast = l
				reached = true
			}
			sh.mu.RUnlock()
			if reached {
				h.deliveredTo(u, fo.n)
			}
		}
	}
	for i, c := range m.touched {
		m.buf = m.buf[:0]
		for l := c.mergeFirst; l != 0; l = m.links[l-1].next {
			m.buf = append(m.buf, batch[m.links[l-1].fo].frame...)
		}
		c.mergeFirst, c.mergeLast = 0, 0
		c.w.pushCopy(m.buf)
		m.touched[i] = nil
	}
	m.touched = m.touched[:0]
	m.links = m.links[:0]
	if m.messages > 0 {
		h.observer().MessagesOut(m.messages)
		m.messages = 0
	}
	if cap(m.buf) > 1<<20 {
		m.buf = nil // one connection's burst: do not keep it
	}
	if cap(m.links) > 1<<20 {
		m.links = nil
	}
}

func (h *Hub) deliveredTo(u node.UserID, n *node.Notification) {
	if n.Delivered && h.delivered != nil && n.Message.Sender != u {
		h.delivered(u, n.Message)
	}
}

// each calls fn for every connection; fn must not block.
func (h *Hub) each(fn func(*conn)) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, cs := range sh.users {
			for _, c := range cs {
				fn(c)
			}
		}
		sh.mu.RUnlock()
	}
}

// CloseSession closes the connections authenticated by a session (after
// logout), with code 4001.
func (h *Hub) CloseSession(sid string) {
	h.each(func(c *conn) {
		if c.sessionID() == sid {
			c.unauthenticated("the session has ended", "session ended")
		}
	})
}

// CloseOtherSessions closes a user's connections of every session but
// keep (after a password change).
func (h *Hub) CloseOtherSessions(u node.UserID, keep string) {
	h.each(func(c *conn) {
		if c.user == u && c.sessionID() != keep {
			c.unauthenticated("the session has ended", "session ended")
		}
	})
}

// Conns counts live connections.
func (h *Hub) Conns() int {
	n := 0
	h.each(func(*conn) { n++ })
	return n
}

// track registers a new connection; it reports false once Shutdown has
// begun, and the caller must then refuse the connection.
func (h *Hub) track(c *conn) bool {
	h.liveMu.Lock()
	defer h.liveMu.Unlock()
	if h.closing {
		return false
	}
	h.live[c] = struct{}{}
	h.wg.Add(1)
	return true
}

// untrack is called when a tracked connection's handler ends.
func (h *Hub) untrack(c *conn) {
	h.liveMu.Lock()
	delete(h.live, c)
	h.liveMu.Unlock()
	h.wg.Done()
}

// keepAlive has every connection ping its client each interval, until
// stop is closed: a client that stops answering is then cut off by its
// read deadline. One ticker for all connections keeps an idle connection
// down to its goroutines and buffers.
func (h *Hub) keepAlive(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			h.liveMu.Lock()
			for c := range h.live {
				c.w.ping()
			}
			h.liveMu.Unlock()
		}
	}
}

// Shutdown closes every connection with 1001 (going away), including
// those still authenticating, refuses new ones, and waits until their
// handlers have finished. A frame being handled completes first, and its
// ack goes out before the close.
func (h *Hub) Shutdown() {
	h.liveMu.Lock()
	h.closing = true
	for c := range h.live {
		c.goAway()
	}
	h.liveMu.Unlock()
	h.wg.Wait()
	h.stopOnce.Do(func() { close(h.stop) })
	h.lanesWG.Wait()
}

// Frames the server sends (API.md §4 and docs/api.md).
type frame struct {
	Type     string        `json:"type"`
	ID       string        `json:"id,omitempty"`
	Message  *node.Message `json:"message,omitempty"`
	Room     any           `json:"room,omitempty"`
	User     any           `json:"user,omitempty"`
	Presence string        `json:"presence,omitempty"`
	LastSeen int64         `json:"lastSeen,omitempty"`
	Typing   *bool         `json:"typing,omitempty"`
	UpTo     node.EventID  `json:"upTo,omitempty"`
	Kind     string        `json:"kind,omitempty"`
	// Membership and MemberCount are the member frame's (API.md §4).
	Membership  string `json:"membership,omitempty"`
	MemberCount *int   `json:"memberCount,omitempty"`
	Code        string `json:"code,omitempty"`
	Text        string `json:"-"`
}

// errorFrame is {"type":"error","id"?,"code","message"}: its "message"
// is a sentence, not a Message, so it has its own shape.
type errorFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// settingsFrame is {"type":"notifications","settings"}: the user's
// notification settings, as GET /api/v1/notifications answers them,
// after any change (docs/api.md).
type settingsFrame struct {
	Type     string               `json:"type"`
	Settings *node.NotifySettings `json:"settings"`
}

func frameOf(n *node.Notification) any {
	switch n.Kind {
	case node.NoteReaction:
		return reactionFrameOf(n)
	case node.NoteMessage, node.NoteUpdate:
		return &frame{Type: n.Kind, Message: n.Message}
	case node.NoteRoom:
		return &frame{Type: "room", Room: n.Room}
	case node.NotePresence:
		return &frame{Type: "presence", User: n.User, Presence: n.Presence, LastSeen: n.LastSeen}
	case node.NoteTyping:
		t := n.Typing
		return &frame{Type: "typing", Room: n.RoomID, User: n.User, Typing: &t}
	case node.NoteReceipt:
		return &frame{Type: "receipt", Room: n.RoomID, User: n.User, UpTo: n.UpTo, Kind: n.Receipt}
	case node.NoteMember:
		c := n.MemberCount
		return &frame{Type: "member", Room: n.RoomID, User: n.User, Membership: n.Membership, MemberCount: &c}
	case node.NoteSettings:
		return &settingsFrame{Type: n.Kind, Settings: n.Settings}
	}
	return &frame{Type: n.Kind}
}
