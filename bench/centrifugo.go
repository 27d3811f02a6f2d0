package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gorilla/websocket"
)

// Centrifugo v6 is spoken to with its JSON protocol (client protocol v2)
// over /connection/websocket. Commands and replies are JSON objects; a
// frame may carry several of them separated by newlines (the server
// batches). {"id":N,"connect":{}} and {"id":N,"subscribe":{"channel":C}}
// get replies with the same id; publications arrive as
// {"push":{"channel":C,"pub":{"data":...}}}; the server's ping is an empty
// object {} that the client must answer with {}.

var cfPong = []byte("{}")

// scanCentrifugo is the scanFunc of the Centrifugo protocol.
func scanCentrifugo(frame []byte, s sink) []byte {
	var reply []byte
	for len(frame) > 0 {
		line := frame
		if i := bytes.IndexByte(frame, '\n'); i >= 0 {
			line, frame = frame[:i], frame[i+1:]
		} else {
			frame = nil
		}
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0:
		case string(line) == "{}":
			reply = cfPong
		case jsonValue(line, "push") >= 0:
			if data := jsonString(line, "data"); data != nil {
				s.deliver(data)
			}
		case jsonValue(line, "error") >= 0:
			s.refuse(line)
		case jsonValue(line, "publish") >= 0:
			s.ack(nil)
		}
	}
	return reply
}

// appendCentrifugoPublish appends a publish command with id and payload
// (which must need no JSON escaping) as the data, a JSON string.
func appendCentrifugoPublish(buf []byte, id int, channel string, payload []byte) []byte {
	buf = append(buf, `{"id":`...)
	buf = strconv.AppendInt(buf, int64(id), 10)
	buf = append(buf, `,"publish":{"channel":`...)
	buf = strconv.AppendQuote(buf, channel)
	buf = append(buf, `,"data":"`...)
	buf = append(buf, payload...)
	return append(buf, `"}}`...)
}

// centrifugoDriver drives a Centrifugo node configured for anonymous
// connect, subscribe and publish on one channel (bench/peers/centrifugo).
type centrifugoDriver struct {
	cfg  *Config
	urls []string
}

func newCentrifugoDriver(cfg *Config) (*centrifugoDriver, error) {
	d := &centrifugoDriver{cfg: cfg}
	for _, u := range cfg.URLs {
		ws, err := wsURL(u, "/connection/websocket", nil)
		if err != nil {
			return nil, err
		}
		d.urls = append(d.urls, ws)
	}
	return d, nil
}

func (d *centrifugoDriver) prepare(context.Context, int) error { return nil }

func (d *centrifugoDriver) node(i int) int {
	if i < 0 {
		return 0
	}
	return i % len(d.urls)
}

func (d *centrifugoDriver) dial(ctx context.Context, i int) (*websocket.Conn, error) {
	c, err := dialWS(ctx, d.urls[d.node(i)], i)
	if err != nil {
		return nil, err
	}
	if err := centrifugoHandshake(ctx, c, d.cfg.Channel, i >= 0); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// centrifugoHandshake connects anonymously and, if subscribe, subscribes
// to channel; it answers pings that arrive meanwhile.
func centrifugoHandshake(ctx context.Context, c *websocket.Conn, channel string, subscribe bool) error {
	defer handshakeDeadline(ctx, c)()
	if err := centrifugoCommand(c, 1, []byte(`{"id":1,"connect":{}}`)); err != nil {
		return fmt.Errorf("centrifugo connect: %w", err)
	}
	if !subscribe {
		return nil
	}
	ch, _ := json.Marshal(channel)
	cmd := fmt.Appendf(nil, `{"id":2,"subscribe":{"channel":%s}}`, ch)
	if err := centrifugoCommand(c, 2, cmd); err != nil {
		return fmt.Errorf("centrifugo subscribe %s: %w", channel, err)
	}
	return nil
}

// centrifugoCommand sends cmd and waits for the reply with that id.
func centrifugoCommand(c *websocket.Conn, id int, cmd []byte) error {
	if err := c.WriteMessage(websocket.TextMessage, cmd); err != nil {
		return err
	}
	for {
		frame, err := readText(c)
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(frame, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if string(line) == "{}" {
				if err := c.WriteMessage(websocket.TextMessage, cfPong); err != nil {
					return err
				}
				continue
			}
			var r struct {
				ID    int `json:"id"`
				Error *struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if len(line) == 0 || json.Unmarshal(line, &r) != nil || r.ID != id {
				continue
			}
			if r.Error != nil {
				return fmt.Errorf("error %d: %s", r.Error.Code, r.Error.Message)
			}
			return nil
		}
	}
}

func (d *centrifugoDriver) scan(frame []byte, s sink) []byte { return scanCentrifugo(frame, s) }

func (d *centrifugoDriver) appendPublish(buf []byte, seq int, payload []byte) []byte {
	return appendCentrifugoPublish(buf, seq+10, d.cfg.Channel, payload)
}
