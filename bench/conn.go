package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsDialer keeps per-connection memory small: the tool holds thousands of
// connections that mostly read small frames, and writes share a pool.
var wsDialer = &websocket.Dialer{
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   2048,
	WriteBufferSize:  1024,
	WriteBufferPool:  &sync.Pool{},
}

// UsersPerAddr is how many users share one client address. A Hearth
// node limits sign-ups, failed logins and session refreshes per client
// address (bursts of 200 registrations and 60 refreshes a minute), as a
// public server must; real users come from many addresses, so the tool
// spreads its users over the loopback range 127.1.0.1, 127.1.0.2, …
// (every 127.x.y.z reaches the loopback interface on Linux),
// UsersPerAddr to each. At 64 a scenario's sign-ins (one refresh per
// user) overdrew the refresh burst, and back-to-back scenarios of 10,000
// users spent minutes waiting out 429s; 25 keeps two scenarios within a
// minute under the burst.
const UsersPerAddr = 25

// clientAddr is the local address the tool uses for user (or connection)
// i when the server is on loopback; nil elsewhere (the system chooses).
func clientAddr(server string, i int) *net.TCPAddr {
	u, err := url.Parse(server)
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() || ip.To4() == nil || i < 0 {
		return nil
	}
	g := i / UsersPerAddr
	return &net.TCPAddr{IP: net.IPv4(127, 1+byte(g/(250*250)), byte(g/250%250), byte(g%250+1))}
}

// dialerFrom is a net dialer that binds local (when set).
func dialerFrom(local *net.TCPAddr) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		d.LocalAddr = local
	}
	return d
}

// dialWS opens a WebSocket to u without an Origin header (which the
// contract accepts: an absent Origin is not a cross-site browser), from
// the local address of user (or connection) i.
func dialWS(ctx context.Context, u string, i int) (*websocket.Conn, error) {
	wd := *wsDialer
	wd.NetDialContext = dialerFrom(clientAddr(u, i)).DialContext
	c, resp, err := wd.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %s)", u, err, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", u, err)
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

// wsURL turns an http(s) base URL (as given to --url) into the ws(s) URL
// of path with query q.
func wsURL(base, path string, q url.Values) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", base, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("url %q: scheme must be http or https", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// readText reads one whole message (handshakes only: it allocates).
func readText(c *websocket.Conn) ([]byte, error) {
	_, p, err := c.ReadMessage()
	return p, err
}

// handshakeDeadline bounds a handshake by ctx's deadline or 15 s, and
// returns the function that lifts the bound.
func handshakeDeadline(ctx context.Context, c *websocket.Conn) func() {
	d := time.Now().Add(15 * time.Second)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	c.SetReadDeadline(d)
	return func() { c.SetReadDeadline(time.Time{}) }
}

// readInto reads the next message of c into *buf, growing it as needed,
// and returns the message. Unlike ReadMessage it reuses the buffer, so a
// steady stream of frames costs no allocation per frame once the buffer
// has grown to the largest frame.
func readInto(c *websocket.Conn, buf *[]byte) ([]byte, error) {
	_, r, err := c.NextReader()
	if err != nil {
		return nil, err
	}
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			*buf = b
			return b, nil
		}
		if err != nil {
			*buf = b
			return nil, err
		}
	}
}
