package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/url"

	"github.com/gorilla/websocket"
)

// The Socket.io peer (bench/peers/socketio) is spoken to directly over the
// WebSocket transport, without the JavaScript client: engine.io v4 packets
// are one per text frame, a digit type first ('0' open, '2' ping, '3'
// pong, '4' message); a socket.io packet rides inside a '4' ('40' connect
// to the default namespace, '42[...]' an event, '44' connect error).

var (
	sioPong    = []byte("3")
	sioConnect = []byte("40")
	sioEvent   = []byte(`42["msg","`)
)

// scanSocketIO is the scanFunc of the Socket.io protocol.
func scanSocketIO(frame []byte, s sink) []byte {
	switch {
	case len(frame) == 1 && frame[0] == '2':
		return sioPong
	case bytes.HasPrefix(frame, sioEvent):
		s.deliver(frame[len(sioEvent):])
	case bytes.HasPrefix(frame, []byte("44")), bytes.HasPrefix(frame, []byte("41")), len(frame) == 1 && frame[0] == '1':
		s.refuse(frame)
	}
	return nil
}

// appendSocketIOEmit appends the frame that emits a "msg" event with
// payload (which must need no JSON escaping).
func appendSocketIOEmit(buf, payload []byte) []byte {
	buf = append(buf, sioEvent...)
	buf = append(buf, payload...)
	return append(buf, `"]`...)
}

// socketIODriver drives the Socket.io peer: no accounts, one room that
// every connection joins on connect.
type socketIODriver struct {
	cfg  *Config
	urls []string // WebSocket URLs, one per --url
}

func newSocketIODriver(cfg *Config) (*socketIODriver, error) {
	d := &socketIODriver{cfg: cfg}
	for _, u := range cfg.URLs {
		ws, err := wsURL(u, "/socket.io/", url.Values{"EIO": {"4"}, "transport": {"websocket"}})
		if err != nil {
			return nil, err
		}
		d.urls = append(d.urls, ws)
	}
	return d, nil
}

func (d *socketIODriver) prepare(context.Context, int) error { return nil }

func (d *socketIODriver) node(i int) int {
	if i < 0 {
		return 0
	}
	return i % len(d.urls)
}

func (d *socketIODriver) dial(ctx context.Context, i int) (*websocket.Conn, error) {
	c, err := dialWS(ctx, d.urls[d.node(i)], i)
	if err != nil {
		return nil, err
	}
	if err := socketIOHandshake(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// socketIOHandshake reads the engine.io open packet, connects to the
// default namespace and waits for the server's connect packet.
func socketIOHandshake(ctx context.Context, c *websocket.Conn) error {
	defer handshakeDeadline(ctx, c)()
	open, err := readText(c)
	if err != nil {
		return fmt.Errorf("socket.io open: %w", err)
	}
	if len(open) == 0 || open[0] != '0' {
		return fmt.Errorf("socket.io open: unexpected packet %.100q", open)
	}
	if err := c.WriteMessage(websocket.TextMessage, sioConnect); err != nil {
		return fmt.Errorf("socket.io connect: %w", err)
	}
	for {
		p, err := readText(c)
		if err != nil {
			return fmt.Errorf("socket.io connect: %w", err)
		}
		switch {
		case bytes.HasPrefix(p, sioConnect):
			return nil
		case len(p) == 1 && p[0] == '2':
			if err := c.WriteMessage(websocket.TextMessage, sioPong); err != nil {
				return err
			}
		case bytes.HasPrefix(p, []byte("44")):
			return fmt.Errorf("socket.io connect refused: %.200s", p)
		}
	}
}

func (d *socketIODriver) scan(frame []byte, s sink) []byte { return scanSocketIO(frame, s) }

func (d *socketIODriver) appendPublish(buf []byte, _ int, payload []byte) []byte {
	return appendSocketIOEmit(buf, payload)
}
