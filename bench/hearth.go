package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// scanHearth is the scanFunc of the Hearth v1 WebSocket protocol. It looks
// only at the frame's "type" and, for message and ack frames, at the
// message body; everything else (presence, receipts, room updates) is
// ignored. Hearth answers pings at the WebSocket level, which gorilla
// handles inside the read loop.
func scanHearth(frame []byte, s sink) []byte {
	switch t := jsonString(frame, "type"); string(t) {
	case "message":
		if b := jsonString(frame, "body"); b != nil {
			s.deliver(b)
		}
	case "ack":
		s.ack(jsonString(frame, "body"))
	case "error":
		s.refuse(frame)
	}
	return nil
}

// hearthSend builds send frames for one room and run: client IDs are
// "<run>-<seq>" so that runs never reuse one.
type hearthSend struct {
	prefix []byte // {"type":"send","room":"…","id":"<run>-
}

func newHearthSend(room, run string) hearthSend {
	r, _ := json.Marshal(room)
	return hearthSend{prefix: fmt.Appendf(nil, `{"type":"send","room":%s,"id":"%s-`, r, run)}
}

// append appends the send frame of message seq with payload (which must
// need no JSON escaping).
func (h hearthSend) append(buf []byte, seq int, payload []byte) []byte {
	buf = append(buf, h.prefix...)
	buf = strconv.AppendInt(buf, int64(seq), 10)
	buf = append(buf, `","body":"`...)
	buf = append(buf, payload...)
	return append(buf, `"}`...)
}

// hearthDriver drives one or more Hearth nodes through the v1 contract.
// Receivers are spread round-robin over the nodes (receiver i on node
// i mod K); on each node they share users, ConnsPerUser connections per
// user. The sender is a user of its own on the first node, which creates
// the room; every receiving user joins it by ID on its own node.
type hearthDriver struct {
	cfg     *Config
	log     *slog.Logger
	bases   []string // http base URLs
	ws      []string // WebSocket URLs
	clients sync.Map // address group → *http.Client (clientFor)

	room        string
	send        hearthSend
	senderToken string
	tokens      [][]string // per node, per user
}

func newHearthDriver(cfg *Config) (*hearthDriver, error) {
	d := &hearthDriver{cfg: cfg, log: cfg.Logger}
	for _, u := range cfg.URLs {
		ws, err := wsURL(u, "/api/v1/ws", nil)
		if err != nil {
			return nil, err
		}
		d.bases = append(d.bases, strings.TrimSuffix(u, "/"))
		d.ws = append(d.ws, ws)
	}
	return d, nil
}

func (d *hearthDriver) node(i int) int {
	if i < 0 {
		return 0
	}
	return i % len(d.bases)
}

// user returns the index of receiver i's user on its node.
func (d *hearthDriver) user(i int) int {
	return (i / len(d.bases)) / d.cfg.ConnsPerUser
}

func (d *hearthDriver) username(u int) string {
	return fmt.Sprintf("%s%d", d.cfg.UsersPrefix, u)
}

// clientFor is the HTTP client of user u (-1: the sender's), whose
// requests come from u's client address (clientAddr).
func (d *hearthDriver) clientFor(node, u int) *http.Client {
	local := clientAddr(d.bases[node], u)
	key := ""
	if local != nil {
		key = local.IP.String()
	}
	if c, ok := d.clients.Load(key); ok {
		return c.(*http.Client)
	}
	c := &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         dialerFrom(local).DialContext,
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	actual, _ := d.clients.LoadOrStore(key, c)
	return actual.(*http.Client)
}

func (d *hearthDriver) prepare(ctx context.Context, receivers int) error {
	k := len(d.bases)
	users := make([]int, k)
	for i := 0; i < receivers; i++ {
		users[d.node(i)] = max(users[d.node(i)], d.user(i)+1)
	}
	tok, _, err := d.session(ctx, 0, -1, d.cfg.UsersPrefix+"-sender", false)
	if err != nil {
		return err
	}
	d.senderToken = tok

	var room struct {
		ID string `json:"id"`
	}
	name := fmt.Sprintf("bench %s", time.Now().UTC().Format("2006-01-02 15:04:05.000"))
	if err := d.do(ctx, 0, -1, "POST", "/api/v1/rooms", tok, map[string]string{"name": name, "visibility": "public"}, &room); err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	if room.ID == "" {
		return fmt.Errorf("create room: response has no id")
	}
	d.room = room.ID
	d.send = newHearthSend(room.ID, strconv.FormatInt(time.Now().UnixNano(), 36))

	total := 0
	for _, n := range users {
		total += n
	}
	d.log.Info("hearth: signing in users", "users", total, "nodes", k, "conns_per_user", d.cfg.ConnsPerUser, "room", room.ID)
	d.tokens = make([][]string, k)
	type job struct{ node, user int }
	var jobs []job
	for n := range k {
		d.tokens[n] = make([]string, users[n])
		for u := range users[n] {
			jobs = append(jobs, job{n, u})
		}
	}
	// The first user of each node goes alone: if it had to be registered,
	// the node is new to this prefix and the others are registered first
	// too, rather than spending the node's failed-login budget (per
	// address) on logins bound to fail.
	fresh := make([]bool, k)
	for n := range k {
		if users[n] == 0 {
			continue
		}
		tok, registered, err := d.session(ctx, n, 0, d.username(0), false)
		if err != nil {
			return err
		}
		d.tokens[n][0], fresh[n] = tok, registered
	}
	// Password hashing is deliberately slow, so sign-ins with a password
	// run a few at a time; refreshing a stored session needs no hash.
	conc := 4
	if len(d.cfg.Accounts.Refresh) > 0 {
		conc = 16
	}
	err = forEach(ctx, len(jobs), conc, func(ctx context.Context, j int) error {
		n, u := jobs[j].node, jobs[j].user
		if u == 0 {
			return nil
		}
		tok, _, err := d.session(ctx, n, u, d.username(u), fresh[n])
		if err != nil {
			return err
		}
		d.tokens[n][u] = tok
		return nil
	})
	if err != nil {
		return err
	}
	return forEach(ctx, len(jobs), 16, func(ctx context.Context, j int) error {
		return d.join(ctx, jobs[j].node, jobs[j].user, d.room, d.tokens[jobs[j].node][jobs[j].user])
	})
}

// join joins room as user u (whose token is tok). A node other than the
// room's may not know the room yet, so not_found is retried for a while.
func (d *hearthDriver) join(ctx context.Context, node, u int, room, tok string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := d.do(ctx, node, u, "POST", "/api/v1/rooms/"+url.PathEscape(room)+"/join", tok, nil, nil)
		var he *httpError
		if err == nil || !errors.As(err, &he) || he.status != http.StatusNotFound || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("join room %s on %s: %w", room, d.bases[node], err)
			}
			return nil
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// session signs username (user u, -1 for the sender) in on node and
// returns an access token and whether the user was registered just now.
// A user with a stored refresh token (Config.Accounts) is signed in by
// refreshing it, as a returning browser does, with no password hash.
// Otherwise users are reused across runs, which matters because
// registration is rate limited per address: it logs in and registers on
// 401, or with registerFirst registers and logs in on 409.
func (d *hearthDriver) session(ctx context.Context, node, u int, username string, registerFirst bool) (token string, registered bool, err error) {
	var s struct {
		AccessToken string `json:"accessToken"`
	}
	if rt := d.cfg.Accounts.Refresh[username]; rt != "" && node == 0 {
		err := d.do(ctx, node, u, "POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": rt}, &s)
		if err == nil && s.AccessToken != "" {
			return s.AccessToken, false, nil
		}
		d.log.Warn("hearth: stored session refused; signing in with the password", "user", username, "err", err)
	}
	creds := map[string]string{"username": username, "password": d.cfg.Password}
	reg := map[string]string{"username": username, "password": d.cfg.Password, "displayName": username}
	login := func() error { return d.do(ctx, node, u, "POST", "/api/v1/auth/login", "", creds, &s) }
	register := func() error {
		err := d.do(ctx, node, u, "POST", "/api/v1/auth/register", "", reg, &s)
		registered = err == nil
		return err
	}
	var he *httpError
	if registerFirst {
		err = register()
		if errors.As(err, &he) && he.status == http.StatusConflict {
			err = login()
		}
	} else {
		err = login()
		if errors.As(err, &he) && he.status == http.StatusUnauthorized {
			err = register()
			if errors.As(err, &he) && he.status == http.StatusConflict {
				err = fmt.Errorf("user exists with another password (use --password or --users-prefix): %w", err)
			}
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("sign in %s on %s: %w", username, d.bases[node], err)
	}
	if s.AccessToken == "" {
		return "", false, fmt.Errorf("sign in %s on %s: no accessToken in response", username, d.bases[node])
	}
	return s.AccessToken, registered, nil
}

// httpError is a non-2xx response.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string {
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal([]byte(e.body), &b) == nil && b.Error.Code != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.status, b.Error.Code, b.Error.Message)
	}
	return fmt.Sprintf("HTTP %d: %.200s", e.status, e.body)
}

// do sends one JSON request to node as user u (-1: the sender; it picks
// the client address) and decodes a 2xx response into out. A 429 is
// waited out (Retry-After, capped) and retried, for up to
// --rate-limit-wait in total.
func (d *hearthDriver) do(ctx context.Context, node, u int, method, path, token string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	waited := time.Duration(0)
	for {
		req, err := http.NewRequestWithContext(ctx, method, d.bases[node]+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := d.clientFor(node, u).Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusTooManyRequests && waited < d.cfg.RateLimitWait {
			wait := 5 * time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			wait = min(wait, 60*time.Second)
			d.log.Warn("hearth: rate limited; waiting", "path", path, "wait", wait)
			if err := sleepCtx(ctx, wait); err != nil {
				return err
			}
			waited += wait
			continue
		}
		if resp.StatusCode/100 != 2 {
			return &httpError{status: resp.StatusCode, body: string(b)}
		}
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("%s %s: decode response: %w", method, path, err)
			}
		}
		return nil
	}
}

func (d *hearthDriver) dial(ctx context.Context, i int) (*websocket.Conn, error) {
	n := d.node(i)
	tok, u := d.senderToken, -1
	if i >= 0 {
		u = d.user(i)
		tok = d.tokens[n][u]
	}
	c, err := dialWS(ctx, d.ws[n], u)
	if err != nil {
		return nil, err
	}
	if err := hearthAuth(ctx, c, tok); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", d.ws[n], err)
	}
	return c, nil
}

// hearthAuth sends the auth frame and waits for ready.
func hearthAuth(ctx context.Context, c *websocket.Conn, token string) error {
	defer handshakeDeadline(ctx, c)()
	t, _ := json.Marshal(token)
	if err := c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"auth","token":%s}`, t)); err != nil {
		return fmt.Errorf("ws auth: %w", err)
	}
	for {
		p, err := readText(c)
		if err != nil {
			return fmt.Errorf("ws auth: %w", err)
		}
		switch string(jsonString(p, "type")) {
		case "ready":
			return nil
		case "error":
			return fmt.Errorf("ws auth refused: %.300s", p)
		}
	}
}

func (d *hearthDriver) scan(frame []byte, s sink) []byte { return scanHearth(frame, s) }

func (d *hearthDriver) appendPublish(buf []byte, seq int, payload []byte) []byte {
	return d.send.append(buf, seq, payload)
}

// forEach runs fn(0..n-1) on at most conc goroutines and returns the first
// error; after an error no new calls start.
func forEach(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
