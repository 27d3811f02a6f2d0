// Package bench is Hearth's load tool, `hearth bench`: it drives a chat
// server through its public client protocol and measures fan-out latency,
// throughput, loss and the server's CPU and memory.
//
// Workload F: N receivers in one room, one sender at a fixed rate, each
// message carrying the time it was due. Every receiver checks each
// message's sequence number (lost, duplicated) and records its latency.
// Three servers are supported: Hearth (v1 HTTP + WebSocket contract),
// Socket.io 4 (engine.io v4 over raw WebSocket) and Centrifugo v6 (JSON
// protocol over WebSocket), so that the same numbers can be taken for
// each. With several --url values receivers are spread over several
// federated Hearth nodes. With --idle it opens many idle authenticated
// connections instead and reports the server's memory per connection.
//
// The tool shares the machine with the server, so it is meant to be cheap:
// one reader goroutine per connection, frames read into a reused buffer
// and scanned without decoding, latencies in a fixed per-receiver
// histogram, no allocation per message on the hot paths.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Config describes one run. Zero fields take the defaults noted.
type Config struct {
	// URLs are the servers' HTTP base URLs (default http://127.0.0.1:8080).
	// Receivers are spread over them round-robin; the sender uses the first.
	URLs []string
	// Target is the protocol: "hearth" (default), "socketio" or "centrifugo".
	Target string
	// Receivers is N, the number of receiving connections (default 100).
	Receivers int
	// Rate is R, messages per second from the one sender (default 200).
	Rate float64
	// Messages is how many messages the sender sends (default 2000).
	Messages int
	// Size is the message body size in bytes (default 100).
	Size int
	// PID, if set, is the server's process, sampled in /proc for CPU time
	// and resident memory (local servers only).
	PID int
	// Idle, if set, switches to the idle-connection mode: open Idle
	// authenticated connections, send nothing, report the server's RSS
	// growth per connection.
	Idle int
	// UsersPrefix names the Hearth users: <prefix>0, <prefix>1, … and
	// <prefix>-sender (default "bench").
	UsersPrefix string
	// Password of the Hearth users (default "bench-password").
	Password string
	// ConnsPerUser is how many receiving connections share one Hearth user
	// (default 1: one user per connection, as people use a chat server;
	// more is the "many tabs" shape).
	ConnsPerUser int
	// Accounts, when it has refresh tokens, signs Hearth users in by
	// refreshing their stored sessions instead of hashing passwords
	// (PrepareAccounts). The tokens are single-use: the suite hands each
	// run a fresh copy of the data directory they were issued on.
	Accounts Accounts
	// Channel is the room or channel name for Socket.io and Centrifugo
	// (default "bench"); Hearth rooms get a fresh ID every run.
	Channel string
	// Warmup is the pause between the last connection and the first
	// message, for connect-time traffic (presence) to settle (default 1s).
	Warmup time.Duration
	// Drain is how long after the last message was due receivers may
	// still get messages before the rest count as lost (default 5s).
	Drain time.Duration
	// DialConcurrency is how many connections are opened at once (default 64).
	DialConcurrency int
	// RateLimitWait is how long HTTP calls wait out 429s in total before
	// failing (default 3m).
	RateLimitWait time.Duration
	// Logger gets progress messages (default: discard).
	Logger *slog.Logger
	// Sending, if set, is called once just before the first message with
	// how long sending is planned to take: the suite starts the server's
	// CPU profile there, so that it covers the measured part only.
	Sending func(planned time.Duration)
}

// DefaultConfig is the run a zero Config describes: setDefaults fills
// zero fields from it and Main's flags show it, so each default is
// written once.
func DefaultConfig() Config {
	return Config{
		URLs: []string{"http://127.0.0.1:8080"}, Target: "hearth",
		Receivers: 100, Rate: 200, Messages: 2000, Size: 100,
		UsersPrefix: "bench", Password: "bench-password", ConnsPerUser: 1, Channel: "bench",
		Warmup: time.Second, Drain: 5 * time.Second, DialConcurrency: 64, RateLimitWait: 3 * time.Minute,
	}
}

func (c *Config) setDefaults() error {
	d := DefaultConfig()
	if len(c.URLs) == 0 {
		c.URLs = d.URLs
	}
	c.Target = cmp.Or(c.Target, d.Target)
	c.Receivers = cmp.Or(c.Receivers, d.Receivers)
	c.Rate = cmp.Or(c.Rate, d.Rate)
	c.Messages = cmp.Or(c.Messages, d.Messages)
	c.Size = cmp.Or(c.Size, d.Size)
	c.UsersPrefix = cmp.Or(c.UsersPrefix, d.UsersPrefix)
	c.Password = cmp.Or(c.Password, d.Password)
	c.ConnsPerUser = cmp.Or(c.ConnsPerUser, d.ConnsPerUser)
	c.Channel = cmp.Or(c.Channel, d.Channel)
	c.Warmup = cmp.Or(c.Warmup, d.Warmup)
	c.Drain = cmp.Or(c.Drain, d.Drain)
	c.DialConcurrency = cmp.Or(c.DialConcurrency, d.DialConcurrency)
	c.RateLimitWait = cmp.Or(c.RateLimitWait, d.RateLimitWait)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Receivers < 0 || c.Idle < 0 || c.Messages < 0 || c.Size < 0 || c.ConnsPerUser < 0:
		return errors.New("counts must not be negative")
	case c.Rate < 0:
		return errors.New("rate must be positive")
	case len(c.UsersPrefix) > 24:
		return errors.New("users prefix: at most 24 characters (usernames are at most 32)")
	case len(c.Password) < 8 || len(c.Password) > 72:
		return errors.New("password: 8 to 72 bytes")
	}
	return nil
}

// driver is what a protocol provides to a run.
type driver interface {
	// prepare does the server-side setup (accounts, room) for receivers
	// receiving connections and one sender.
	prepare(ctx context.Context, receivers int) error
	// dial opens receiving connection i, or the sender for i < 0, and
	// returns it once it is ready to receive (authenticated, subscribed).
	dial(ctx context.Context, i int) (*websocket.Conn, error)
	// node returns the index of the URL that connection i uses.
	node(i int) int
	// scan is the protocol's scanFunc.
	scan(frame []byte, s sink) []byte
	// appendPublish appends the frame that publishes message seq with
	// payload.
	appendPublish(buf []byte, seq int, payload []byte) []byte
}

func newDriver(cfg *Config) (driver, error) {
	switch cfg.Target {
	case "hearth":
		return newHearthDriver(cfg)
	case "socketio", "socket.io":
		return newSocketIODriver(cfg)
	case "centrifugo":
		return newCentrifugoDriver(cfg)
	}
	return nil, fmt.Errorf("unknown target %q (hearth, socketio, centrifugo)", cfg.Target)
}

// Latency summarizes a latency distribution, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

func summarize(h *Histogram) Latency {
	ms := func(us uint64) float64 { return float64(us) / 1000 }
	return Latency{
		P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()), Mean: h.Mean() / 1000,
	}
}

// Server is what /proc says about the server process during the
// measured window (from the first message to the end of the drain).
type Server struct {
	PID        int     `json:"pid"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// DeliveriesPerCPUSecond is deliveries divided by CPUSeconds.
	DeliveriesPerCPUSecond float64 `json:"deliveries_per_cpu_second"`
	// PeakRSS is the largest VmRSS sampled during the run (every 100 ms),
	// connections included.
	PeakRSS uint64 `json:"peak_rss_bytes"`
	// HWM is VmHWM at the end: the peak since the process started.
	HWM uint64 `json:"hwm_bytes"`
}

// Node is the share of one URL in a multi-node run.
type Node struct {
	URL       string  `json:"url"`
	Receivers int     `json:"receivers"`
	Received  int64   `json:"received"`
	Lost      int64   `json:"lost"`
	Latency   Latency `json:"latency"`
}

// Idle is the result of the idle-connection mode.
type Idle struct {
	Conns     int    `json:"conns"`
	Users     int    `json:"users"`
	RSSBefore uint64 `json:"rss_before_bytes"`
	// RSSHalf is measured when half the connections are open.
	RSSHalf  uint64 `json:"rss_half_bytes"`
	RSSAfter uint64 `json:"rss_after_bytes"`
	// BytesPerConn is (RSSAfter-RSSBefore)/Conns.
	BytesPerConn float64 `json:"bytes_per_conn"`
	// MarginalBytesPerConn is the growth from half to all connections,
	// per connection: the better estimate (see runIdle).
	MarginalBytesPerConn float64 `json:"marginal_bytes_per_conn"`
	// ToolBytesPerConn is the load tool's own RSS growth per connection.
	ToolBytesPerConn float64 `json:"tool_bytes_per_conn"`
	DialSeconds      float64 `json:"dial_seconds"`
}

// Result is the outcome of one run.
type Result struct {
	Target       string   `json:"target"`
	URLs         []string `json:"urls"`
	Receivers    int      `json:"receivers"`
	ConnsPerUser int      `json:"conns_per_user,omitempty"`
	Rate         float64  `json:"rate"`
	Messages     int      `json:"messages"`
	Size         int      `json:"size"`

	// Sent is how many messages were written (fewer than Messages only
	// when the server stopped reading until the deadline); SendErrors how many the
	// server refused (error replies); Acks how many it acknowledged
	// (Hearth acks, Centrifugo publish replies; Socket.io has none).
	Sent       int   `json:"sent"`
	SendErrors int64 `json:"send_errors"`
	Acks       int64 `json:"acks"`
	// FirstError is the first refusal the sender got, verbatim.
	FirstError string `json:"first_error,omitempty"`

	// Expected is Messages*Receivers; Received counts distinct deliveries;
	// Lost = Expected-Received; Duplicates counts repeated ones.
	Expected   int64 `json:"expected"`
	Received   int64 `json:"received"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	// Malformed counts message frames whose payload did not parse.
	Malformed int64 `json:"malformed,omitempty"`
	// Disconnected counts receivers whose connection ended before the
	// run did.
	Disconnected int `json:"disconnected"`

	// SendSeconds is from the first message due to the last one written;
	// Seconds from the first message due to the last delivery.
	SendSeconds      float64 `json:"send_seconds"`
	Seconds          float64 `json:"seconds"`
	DeliveriesPerSec float64 `json:"deliveries_per_second"`

	// Latency is over every delivery: receive time minus due time.
	Latency Latency `json:"latency"`
	// WorstReceiverP99 is the largest per-receiver p99.
	WorstReceiverP99 float64 `json:"worst_receiver_p99_ms"`
	// AckLatency is due time to acknowledgement at the sender.
	AckLatency *Latency `json:"ack_latency,omitempty"`
	// SenderLagMax is how far behind schedule the sender ever wrote.
	SenderLagMax float64 `json:"sender_lag_max_ms"`

	// Timeline has the latency of the messages due in each second of the
	// run: where a p99 comes from one stall, this shows when it was.
	Timeline []Second `json:"timeline,omitempty"`

	Server         *Server `json:"server,omitempty"`
	ToolCPUSeconds float64 `json:"tool_cpu_seconds"`
	// LoadAvg is the machine's 1-minute load average when sending
	// started, server and tool included (about 1 to 2 on an idle machine
	// once connected): much more means something else competed.
	LoadAvg float64 `json:"load_avg"`
	Nodes   []Node  `json:"nodes,omitempty"`
	Idle    *Idle   `json:"idle,omitempty"`
}

// Second is the latency of the deliveries of the messages due in one
// second of a run (second 0 starts with the first message).
type Second struct {
	Second   int     `json:"second"`
	Received int64   `json:"received"`
	MeanMs   float64 `json:"mean_ms"`
	MaxMs    float64 `json:"max_ms"`
}

// second accumulates one receiver's share of a Second, in microseconds.
type second struct {
	n, sum, max uint64
}

// receiver is one receiving connection's state. Only its reader goroutine
// touches it until that goroutine has ended, except received, which the
// drain loop polls.
type receiver struct {
	conn     *websocket.Conn
	node     int
	messages int

	received atomic.Int64
	done     atomic.Bool // the reader has ended
	_        [48]byte    // keep the polled fields off their neighbours' cache lines

	now       int64 // receive time of the frame being scanned
	last      int64 // receive time of the last new delivery
	seen      []uint64
	perSecond []second // by due second: seq*secondsPerMsg
	secPerMsg float64
	dups, bad int64
	hist      Histogram
	err       error
}

func (r *receiver) deliver(p []byte) {
	seq, ns, ok := parsePayload(p)
	if !ok || seq >= r.messages {
		r.bad++
		return
	}
	w, bit := seq>>6, uint64(1)<<(seq&63)
	if r.seen[w]&bit != 0 {
		r.dups++
		return
	}
	r.seen[w] |= bit
	lat := uint64(max(r.now-ns, 0) / 1000)
	r.hist.Record(lat)
	if sec := int(float64(seq) * r.secPerMsg); sec < len(r.perSecond) {
		ps := &r.perSecond[sec]
		ps.n++
		ps.sum += lat
		ps.max = max(ps.max, lat)
	}
	r.last = r.now
	r.received.Add(1)
}

func (r *receiver) ack([]byte)    {}
func (r *receiver) refuse([]byte) {}

// senderSink counts what comes back on the sender's connection.
type senderSink struct {
	now     int64
	acks    atomic.Int64
	refused atomic.Int64
	first   atomic.Pointer[string]
	ackHist Histogram
}

func (s *senderSink) deliver([]byte) {}

func (s *senderSink) ack(p []byte) {
	s.acks.Add(1)
	if p == nil {
		return
	}
	if _, ns, ok := parsePayload(p); ok {
		s.ackHist.Record(uint64(max(s.now-ns, 0) / 1000))
	}
}

func (s *senderSink) refuse(frame []byte) {
	if s.refused.Add(1) == 1 {
		f := string(frame)
		s.first.Store(&f)
	}
}

// readLoop reads frames from c until it fails, passing each to scan with
// the time it arrived; now points at the sink's receive-time field.
// Replies (pongs) are written under wmu when the connection is shared
// with a writer.
func readLoop(c *websocket.Conn, scan scanFunc, s sink, now *int64, wmu *sync.Mutex) error {
	buf := make([]byte, 0, 512)
	for {
		frame, err := readInto(c, &buf)
		if err != nil {
			return err
		}
		*now = time.Now().UnixNano()
		if reply := scan(frame, s); reply != nil {
			if wmu != nil {
				wmu.Lock()
			}
			err := c.WriteMessage(websocket.TextMessage, reply)
			if wmu != nil {
				wmu.Unlock()
			}
			if err != nil {
				return err
			}
		}
	}
}

// Run performs one run as cfg describes and returns its result.
//
// Kept whole (over 80 lines): the run's phases (accounts, connections,
// sends, drain, figures) share its counters and read best in order.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	d, err := newDriver(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Idle > 0 {
		return runIdle(ctx, &cfg, d)
	}
	log := cfg.Logger
	n := cfg.Receivers
	res := &Result{
		Target: cfg.Target, URLs: cfg.URLs, Receivers: n, Rate: cfg.Rate,
		Messages: cfg.Messages, Size: cfg.Size,
	}
	if cfg.Target == "hearth" {
		res.ConnsPerUser = cfg.ConnsPerUser
	}
	if err := d.prepare(ctx, n); err != nil {
		return nil, err
	}

	// Connect receivers; each gets its reader goroutine as soon as it is
	// up, so that pings are answered while the others connect.
	log.Info("connecting receivers", "target", cfg.Target, "n", n)
	recv := make([]*receiver, n)
	var readers sync.WaitGroup
	var closing atomic.Bool
	defer func() {
		// On an early return, close whatever was opened.
		if !closing.Load() {
			closing.Store(true)
			for _, r := range recv {
				if r != nil {
					r.conn.Close()
				}
			}
			readers.Wait()
		}
	}()
	dialStart := time.Now()
	seconds := int(float64(cfg.Messages-1)/cfg.Rate) + 1
	err = forEach(ctx, n, cfg.DialConcurrency, func(ctx context.Context, i int) error {
		c, err := d.dial(ctx, i)
		if err != nil {
			return fmt.Errorf("receiver %d: %w", i, err)
		}
		r := &receiver{
			conn: c, node: d.node(i), messages: cfg.Messages,
			seen:      make([]uint64, (cfg.Messages+63)/64),
			perSecond: make([]second, seconds),
			secPerMsg: 1 / cfg.Rate,
		}
		recv[i] = r
		readers.Add(1)
		go func() {
			defer readers.Done()
			r.err = readLoop(c, d.scan, r, &r.now, nil)
			r.done.Store(true)
		}()
		return nil
	})
	if err != nil {
		return nil, err
	}
	log.Info("receivers connected", "n", n, "took", time.Since(dialStart).Round(time.Millisecond))

	sc, err := d.dial(ctx, -1)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	snd := &senderSink{}
	var wmu sync.Mutex
	var senderDone sync.WaitGroup
	senderDone.Add(1)
	go func() {
		defer senderDone.Done()
		readLoop(sc, d.scan, snd, &snd.now, &wmu)
	}()
	defer func() {
		sc.Close()
		senderDone.Wait()
	}()

	var sampler *rssSampler
	if cfg.PID > 0 {
		sampler = startRSSSampler(ctx, cfg.PID, 100*time.Millisecond)
		defer sampler.Stop()
	}
	if err := sleepCtx(ctx, cfg.Warmup); err != nil {
		return nil, err
	}

	// Send.
	res.LoadAvg = loadAvg()
	cpu0, _ := serverCPU(cfg.PID)
	tool0 := selfCPU()
	start := time.Now()
	p := newPacer(start, cfg.Rate)
	var payload, frame []byte
	var lag time.Duration
	log.Info("sending", "messages", cfg.Messages, "rate", cfg.Rate)
	dueLast := p.due(cfg.Messages)
	if cfg.Sending != nil {
		cfg.Sending(dueLast.Sub(start))
	}
	// A server that stops reading the sender's socket would block a write
	// for ever: no write may end after the run's deadline.
	deadline := dueLast.Add(cfg.Drain)
	sc.SetWriteDeadline(deadline)
	for i := 0; i < cfg.Messages; i++ {
		due, err := p.wait(ctx, i)
		if err != nil {
			return nil, err
		}
		payload = appendPayload(payload[:0], i, due.UnixNano(), cfg.Size)
		frame = d.appendPublish(frame[:0], i, payload)
		wmu.Lock()
		err = sc.WriteMessage(websocket.TextMessage, frame)
		wmu.Unlock()
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			log.Warn("sender blocked until the deadline: the server stopped reading; the unsent messages count as lost", "sent", i)
			break
		}
		if err != nil {
			return nil, fmt.Errorf("send message %d: %w", i, err)
		}
		res.Sent++
		lag = max(lag, time.Since(due))
	}
	sendEnd := time.Now()

	// Drain: wait for every expected delivery or for the drain timeout.
	// Expected counts every message of the workload, sent or not.
	expected := int64(cfg.Messages) * int64(n)
	var got int64
	for {
		got = 0
		for _, r := range recv {
			got += r.received.Load()
		}
		if got >= expected || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return nil, err
		}
	}
	end := time.Now()
	cpu1, cpuErr := serverCPU(cfg.PID)
	tool1 := selfCPU()
	if sampler != nil {
		peak, err := sampler.Stop()
		if err != nil {
			return nil, fmt.Errorf("sample server memory: %w", err)
		}
		if cpuErr != nil {
			return nil, fmt.Errorf("sample server cpu: %w", cpuErr)
		}
		mem, _ := readProcMem(cfg.PID)
		res.Server = &Server{PID: cfg.PID, CPUSeconds: (cpu1 - cpu0).Seconds(), PeakRSS: peak, HWM: mem.HWM}
	}

	// Stop readers, then read their state. A reader that has already
	// ended lost its connection during the run.
	closing.Store(true)
	disconnected := 0
	for i, r := range recv {
		if r.done.Load() {
			disconnected++
			if disconnected == 1 {
				log.Warn("receiver disconnected", "receiver", i, "err", r.err)
			}
		}
		r.conn.Close()
	}
	readers.Wait()
	sc.Close()
	senderDone.Wait()

	var all Histogram
	timeline := make([]second, seconds)
	nodes := make([]Node, len(cfg.URLs))
	nodeHist := make([]Histogram, len(cfg.URLs))
	var last int64
	for _, r := range recv {
		all.Merge(&r.hist)
		for k, ps := range r.perSecond {
			timeline[k].n += ps.n
			timeline[k].sum += ps.sum
			timeline[k].max = max(timeline[k].max, ps.max)
		}
		nodeHist[r.node].Merge(&r.hist)
		nodes[r.node].Receivers++
		nodes[r.node].Received += r.received.Load()
		res.Received += r.received.Load()
		res.Duplicates += r.dups
		res.Malformed += r.bad
		res.WorstReceiverP99 = max(res.WorstReceiverP99, float64(r.hist.Quantile(0.99))/1000)
		last = max(last, r.last)
	}
	res.Disconnected = disconnected
	res.Expected = expected
	res.Lost = expected - res.Received
	res.Latency = summarize(&all)
	for k, ps := range timeline {
		t := Second{Second: k, Received: int64(ps.n), MaxMs: float64(ps.max) / 1000}
		if ps.n > 0 {
			t.MeanMs = float64(ps.sum) / float64(ps.n) / 1000
		}
		res.Timeline = append(res.Timeline, t)
	}
	res.Acks = snd.acks.Load()
	res.SendErrors = snd.refused.Load()
	if f := snd.first.Load(); f != nil {
		res.FirstError = *f
	}
	if snd.ackHist.Count() > 0 {
		l := summarize(&snd.ackHist)
		res.AckLatency = &l
	}
	res.SenderLagMax = float64(lag.Microseconds()) / 1000
	res.SendSeconds = sendEnd.Sub(start).Seconds()
	if last > 0 {
		res.Seconds = time.Unix(0, last).Sub(start).Seconds()
	} else {
		res.Seconds = end.Sub(start).Seconds()
	}
	if res.Seconds > 0 {
		res.DeliveriesPerSec = float64(res.Received) / res.Seconds
	}
	if res.Server != nil && res.Server.CPUSeconds > 0 {
		res.Server.DeliveriesPerCPUSecond = float64(res.Received) / res.Server.CPUSeconds
	}
	res.ToolCPUSeconds = (tool1 - tool0).Seconds()
	if len(cfg.URLs) > 1 {
		for k := range nodes {
			nodes[k].URL = cfg.URLs[k]
			nodes[k].Lost = int64(nodes[k].Receivers)*int64(cfg.Messages) - nodes[k].Received
			nodes[k].Latency = summarize(&nodeHist[k])
		}
		res.Nodes = nodes
	}
	return res, nil
}

func serverCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, nil
	}
	return procCPU(pid)
}

// runIdle opens cfg.Idle connections that only answer pings and reports
// the server's RSS growth per connection.
//
// Kept whole (over 80 lines), like Run: phases in order over shared
// counters.
func runIdle(ctx context.Context, cfg *Config, d driver) (*Result, error) {
	log := cfg.Logger
	n := cfg.Idle
	res := &Result{Target: cfg.Target, URLs: cfg.URLs, ConnsPerUser: cfg.ConnsPerUser}
	if cfg.PID <= 0 {
		return nil, errors.New("idle mode needs --pid of the server")
	}
	if err := d.prepare(ctx, n); err != nil {
		return nil, err
	}
	runtime.GC()
	before, err := readProcMem(cfg.PID)
	if err != nil {
		return nil, err
	}
	toolBefore, _ := readProcMem(os.Getpid())
	conns := make([]*websocket.Conn, n)
	var readers sync.WaitGroup
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		readers.Wait()
	}()
	// Connections open in two halves with a measurement after each. The
	// second half's growth is the marginal cost of a connection: the
	// first half also fills whatever the server had allocated and freed
	// before (password hashing during sign-in frees tens of MiB that a Go
	// server keeps resident and reuses), which makes the overall figure
	// an underestimate.
	start := time.Now()
	half := n / 2
	open := func(from, to int) error {
		return forEach(ctx, to-from, cfg.DialConcurrency, func(ctx context.Context, j int) error {
			i := from + j
			c, err := d.dial(ctx, i)
			if err != nil {
				return fmt.Errorf("connection %d: %w", i, err)
			}
			conns[i] = c
			readers.Add(1)
			go func() {
				defer readers.Done()
				var now int64
				readLoop(c, d.scan, discardSink{}, &now, nil)
			}()
			return nil
		})
	}
	// settle lets connect-time work (presence fan-out, buffers) finish.
	settle := func() (procMem, error) {
		if err := sleepCtx(ctx, 2*cfg.Warmup); err != nil {
			return procMem{}, err
		}
		return readProcMem(cfg.PID)
	}
	log.Info("opening idle connections", "n", n)
	if err := open(0, half); err != nil {
		return nil, err
	}
	mid, err := settle()
	if err != nil {
		return nil, err
	}
	if err := open(half, n); err != nil {
		return nil, err
	}
	dial := time.Since(start)
	log.Info("idle connections open; settling", "n", n, "took", dial.Round(time.Millisecond))
	after, err := settle()
	if err != nil {
		return nil, err
	}
	toolAfter, _ := readProcMem(os.Getpid())
	res.Idle = &Idle{
		Conns: n, RSSBefore: before.RSS, RSSHalf: mid.RSS, RSSAfter: after.RSS,
		BytesPerConn:         (float64(after.RSS) - float64(before.RSS)) / float64(n),
		MarginalBytesPerConn: (float64(after.RSS) - float64(mid.RSS)) / float64(n-half),
		ToolBytesPerConn:     (float64(toolAfter.RSS) - float64(toolBefore.RSS)) / float64(n),
		DialSeconds:          dial.Seconds(),
	}
	if h, ok := d.(*hearthDriver); ok {
		for _, t := range h.tokens {
			res.Idle.Users += len(t)
		}
	}
	res.Server = &Server{PID: cfg.PID, PeakRSS: after.RSS, HWM: after.HWM}
	return res, nil
}

type discardSink struct{}

func (discardSink) deliver([]byte) {}
func (discardSink) ack([]byte)     {}
func (discardSink) refuse([]byte)  {}
