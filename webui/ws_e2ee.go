package webui

import (
	"strconv"
	"sync/atomic"

	"github.com/hearth-chat/hearth/node"
)

// A connection's device (API.md §7): its to-device messages, the
// device-list changes it must hear of and its one-time key counts. One
// goroutine per connection (the pump) reads them from the node and
// queues frames: on connect everything still unacknowledged, afterwards
// whatever a poke (node.NoteDevice) says changed. Each stream is sent in
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
	id     node.DeviceID
	pokes  atomic.Int32  // what to read again, OR-ed by pokes
	wakeC  chan struct{} // signals the pump
	doneC  chan struct{} // closed when the pump ends; nil if never started
	tdSent uint64        // to-device seq sent on this connection; the pump's alone
	dlSent uint64        // device-list seq sent on this connection; the pump's alone
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
	c.dev.wakeC = make(chan struct{}, 1)
	c.s.node.SeenDevice(c.ctx, c.user, d)
	return true
}

// startDevicePump starts the pump once ready is queued: it first sends
// everything still waiting for the device.
func (c *conn) startDevicePump() {
	c.dev.pokes.Store(allPokes)
	c.dev.doneC = make(chan struct{})
	go c.runPump()
}

// stop waits for the pump (the connection is done by then).
func (p *devicePump) stop() {
	if p.doneC != nil {
		<-p.doneC
	}
}

// poke asks the pump to read kinds again; it never blocks.
func (p *devicePump) poke(kinds int) {
	for {
		old := p.pokes.Load()
		if p.pokes.CompareAndSwap(old, old|int32(kinds)) {
			break
		}
	}
	select {
	case p.wakeC <- struct{}{}:
	default:
	}
}

func (c *conn) runPump() {
	defer close(c.dev.doneC)
	for {
		kinds := int(c.dev.pokes.Swap(0))
		if kinds&node.PokeToDevice != 0 {
			c.pumpToDevice()
		}
		if kinds&node.PokeDeviceLists != 0 {
			c.pumpDeviceLists()
		}
		if kinds&node.PokeKeyCounts != 0 {
			c.sendKeyCounts()
		}
		select {
		case <-c.done():
			return
		case <-c.dev.wakeC:
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
			if (n.Device == "" || c.dev.id == n.Device) && c.dev.wakeC != nil {
				c.dev.poke(n.Poke)
			}
		}
		sh.mu.RUnlock()
	}
}
