package webui

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hearth-chat/hearth/node"
)

// A connection's device (API.md §7): its to-device messages, the
// device-list changes it must hear of and its one-time key counts. A
// goroutine of the connection's (the pump) reads them from the node and
// queues frames: on connect everything still unacknowledged, afterwards
// whatever a poke (node.NoteDevice) says changed. The pump runs only
// while there is something to read, and exits when it has caught up:
// an idle connection, as most are, keeps no goroutine (and no stack) for
// it. Each stream is sent in
// order and at most once per connection; the client acknowledges with
// {"type":"todevice_ack","upTo":next}, and what it has not acknowledged
// is sent again on its next connection.

const (
	pumpBatch      = 100       // events per todevice frame
	pumpFrameBytes = 256 << 10 // content bytes per todevice frame (at least one event)
	allPokes       = node.PokeToDevice | node.PokeDeviceLists | node.PokeKeyCounts
)

// devicePump is the per-connection state of the device streams.
type devicePump struct {
	id    node.DeviceID
	pokes atomic.Int32 // what to read again, OR-ed by pokes

	mu      sync.Mutex
	ready   bool // startDevicePump ran: a poke starts the pump; guarded by mu
	running bool // the pump goroutine is on; guarded by mu
	stopped bool // stop ran: nothing starts the pump again; guarded by mu
	wg      sync.WaitGroup

	tdSent uint64 // to-device seq sent on this connection; the pump's alone
	dlSent uint64 // device-list seq sent on this connection; the pump's alone
}

// bindDevice finds the device of the connection's session before the
// connection joins the hub, so pokes for it find it.
func (c *conn) bindDevice() bool {
	d, err := c.s.node.SessionDevice(c.ctx, c.sessionID(), c.user)
	if err != nil {
		c.unauthenticated("the session has ended", "session ended")
		return false
	}
	c.dev.id = d
	c.s.node.SeenDevice(c.ctx, c.user, d)
	return true
}

// startDevicePump lets pokes start the pump once ready is queued, and
// starts it to send everything still waiting for the device.
func (c *conn) startDevicePump() {
	c.dev.mu.Lock()
	c.dev.ready = true
	c.dev.mu.Unlock()
	c.pokeDevice(allPokes)
}

// stop waits for the pump (the connection is done by then) and keeps it
// from starting again.
func (p *devicePump) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.wg.Wait()
}

// pokeDevice asks the pump to read kinds again, starting it when it is
// not running; it never blocks. The kinds are recorded before the pump's
// state is looked at, and the pump looks at them again under mu before
// it exits, so a poke is never left unread.
func (c *conn) pokeDevice(kinds int) {
	p := &c.dev
	p.pokes.Or(int32(kinds))
	p.mu.Lock()
	if !p.ready || p.running || p.stopped {
		p.mu.Unlock()
		return
	}
	p.running = true
	p.wg.Add(1)
	p.mu.Unlock()
	go c.runPump()
}

func (c *conn) runPump() {
	p := &c.dev
	defer p.wg.Done()
	for {
		kinds := int(p.pokes.Swap(0))
		done := false
		select {
		case <-c.done():
			done = true
		default:
		}
		if kinds == 0 || done {
			p.mu.Lock()
			if done || p.stopped || p.pokes.Load() == 0 {
				p.running = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			continue
		}
		if kinds&node.PokeToDevice != 0 {
			c.pumpToDevice()
		}
		if kinds&node.PokeDeviceLists != 0 {
			c.pumpDeviceLists()
		}
		if kinds&node.PokeKeyCounts != 0 {
			c.sendKeyCounts()
		}
	}
}

type toDeviceFrame struct {
	Type   string               `json:"type"`
	Events []node.ToDeviceEvent `json:"events"`
	Next   string               `json:"next"`
}

type deviceListsFrame struct {
	Type    string        `json:"type"`
	Changed []node.UserID `json:"changed"`
	Left    []node.UserID `json:"left"`
	Next    string        `json:"next"`
}

type keyCountsFrame struct {
	Type                   string         `json:"type"`
	OneTimeKeyCounts       map[string]int `json:"oneTimeKeyCounts"`
	UnusedFallbackKeyTypes []string       `json:"unusedFallbackKeyTypes"`
}

// Tokens name their stream: "t<seq>" for to-device messages, "d<seq>"
// for device-list entries.
func (c *conn) pumpToDevice() {
	for {
		evs, last, err := c.s.node.ToDeviceInbox(c.ctx, c.user, c.dev.id, c.dev.tdSent, pumpBatch, pumpFrameBytes)
		if err != nil || len(evs) == 0 {
			return
		}
		c.sendFrame(toDeviceFrame{Type: "todevice", Events: evs, Next: "t" + strconv.FormatUint(last, 10)})
		c.dev.tdSent = last
		if c.isDone() {
			return
		}
	}
}

func (c *conn) pumpDeviceLists() {
	for {
		changed, left, last, err := c.s.node.DeviceListInbox(c.ctx, c.user, c.dev.id, c.dev.dlSent, pumpBatch*10)
		if err != nil || last == c.dev.dlSent {
			return
		}
		if changed == nil {
			changed = []node.UserID{}
		}
		if left == nil {
			left = []node.UserID{}
		}
		c.sendFrame(deviceListsFrame{Type: "device_lists", Changed: changed, Left: left, Next: "d" + strconv.FormatUint(last, 10)})
		c.dev.dlSent = last
		if c.isDone() {
			return
		}
	}
}

func (c *conn) sendKeyCounts() {
	counts, unused, err := c.s.node.KeyCounts(c.ctx, c.user, c.dev.id)
	if err != nil {
		return
	}
	c.sendFrame(keyCountsFrame{Type: "key_counts", OneTimeKeyCounts: counts, UnusedFallbackKeyTypes: unused})
}

func (c *conn) isDone() bool {
	select {
	case <-c.done():
		return true
	default:
		return false
	}
}

// ackDevice handles {"type":"todevice_ack","upTo":TOKEN}.
func (c *conn) ackDevice(id, token string) {
	if len(token) < 2 {
		c.sendError(id, invalid(`todevice_ack needs the upTo token of a todevice or device_lists frame`))
		return
	}
	seq, err := strconv.ParseUint(token[1:], 10, 64)
	if err != nil {
		c.sendError(id, invalid("unknown upTo token"))
		return
	}
	switch token[0] {
	case 't':
		err = c.s.node.AckToDevice(c.ctx, c.user, c.dev.id, seq)
	case 'd':
		err = c.s.node.AckDeviceLists(c.ctx, c.user, c.dev.id, seq)
	default:
		c.sendError(id, invalid("unknown upTo token"))
		return
	}
	if err != nil {
		c.sendError(id, err)
	}
}

// pokeDevices hands a device poke to the pumps of the matching
// connections (every device of the user when the poke names none).
func (h *Hub) pokeDevices(to []node.UserID, n *node.Notification) {
	for _, u := range to {
		sh := h.shard(u)
		sh.mu.RLock()
		for _, c := range sh.users[u] {
			if n.Device == "" || c.dev.id == n.Device {
				c.pokeDevice(n.Poke)
			}
		}
		sh.mu.RUnlock()
	}
}
