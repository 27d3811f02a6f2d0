package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Workload J (joins): users join one room over time while others talk.
// The room grows to each size in Sizes; at each size Joins more users
// join it at JoinRate while Talkers members post. Observers, members
// connected throughout, count every frame they receive: the bytes of
// state frames (member, room, presence, typing, receipt) per join say
// what a join costs each existing member, and the talkers' messages at
// the observers give the latency of chat while a room fills up. Hearth
// only: the peers have no membership.

// JoinsConfig describes a workload J run. Zero fields take the defaults.
type JoinsConfig struct {
	URL string
	PID int
	// Sizes are the room sizes at which joins are measured (default
	// 100, 1000, 10000).
	Sizes []int
	// Joins is how many users join at each size (default 50), at
	// JoinRate per second (default 10).
	Joins    int
	JoinRate float64
	// Observers are connected members that count what they receive
	// (default 50); Talkers post TalkRate messages per second each
	// during the joins (default 2 at 5/s).
	Observers int
	Talkers   int
	TalkRate  float64
	// UsersPrefix, Password and Accounts are as in Config; users
	// Prefix0 … Prefix{max(Sizes)+Joins-1} are needed.
	UsersPrefix string
	Password    string
	Accounts    Accounts
	Logger      *slog.Logger
}

// JoinsStep is what one size measured.
type JoinsStep struct {
	// Members is the room's size when the joins began.
	Members   int `json:"members"`
	Joins     int `json:"joins"`
	Observers int `json:"observers"`
	// StateBytesPerJoin is the bytes of state frames one observer
	// received per join (frames carry no WebSocket header here: payload
	// bytes); StateFramesPerJoin the frames.
	StateBytesPerJoin  float64 `json:"state_bytes_per_join"`
	StateFramesPerJoin float64 `json:"state_frames_per_join"`
	// Messages the talkers sent; Lost of their deliveries to observers.
	Messages int   `json:"messages"`
	Lost     int64 `json:"lost"`
	// Latency of the talkers' messages at the observers (from when each
	// was due); JoinLatency of the join requests.
	Latency     Latency `json:"latency"`
	JoinLatency Latency `json:"join_latency"`
	// ServerCPUSeconds over the joins.
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
	// FillSeconds is how long growing the room to Members took.
	FillSeconds float64 `json:"fill_seconds"`
}

// JoinsResult is a workload J run.
type JoinsResult struct {
	Steps         []JoinsStep `json:"steps"`
	SignInSeconds float64     `json:"sign_in_seconds"`
	PeakRSS       uint64      `json:"peak_rss_bytes,omitempty"`
}

// observer is one connected member counting what it receives.
type observer struct {
	stateBytes, stateFrames, messages atomic.Int64

	mu   sync.Mutex
	hist Histogram
}

func (o *observer) read(c *websocket.Conn) {
	buf := make([]byte, 0, 512)
	for {
		frame, err := readInto(c, &buf)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		switch string(jsonString(frame, "type")) {
		case "message":
			o.messages.Add(1)
			if _, ns, ok := parsePayload(jsonString(frame, "body")); ok {
				o.mu.Lock()
				o.hist.Record(uint64(max(now-ns, 0) / 1000))
				o.mu.Unlock()
			}
		case "member", "room", "presence", "typing", "receipt":
			o.stateBytes.Add(int64(len(frame)))
			o.stateFrames.Add(1)
		}
	}
}

// DefaultJoins is the run a zero JoinsConfig describes (setDefaults and
// Main's flags).
func DefaultJoins() JoinsConfig {
	return JoinsConfig{Sizes: []int{100, 1000, 10000}, Joins: 50, JoinRate: 10, Observers: 50, Talkers: 2, TalkRate: 5}
}

func (jc *JoinsConfig) setDefaults() {
	d := DefaultJoins()
	if len(jc.Sizes) == 0 {
		jc.Sizes = d.Sizes
	}
	jc.Joins = cmp.Or(jc.Joins, d.Joins)
	jc.JoinRate = cmp.Or(jc.JoinRate, d.JoinRate)
	jc.Observers = cmp.Or(jc.Observers, d.Observers)
	jc.Talkers = cmp.Or(jc.Talkers, d.Talkers)
	jc.TalkRate = cmp.Or(jc.TalkRate, d.TalkRate)
}

// RunJoins runs workload J against one Hearth node.
//
// Kept whole (over 80 lines): the run's phases share its counters and
// connections and read best in order.
func RunJoins(ctx context.Context, jc JoinsConfig) (*JoinsResult, error) {
	jc.setDefaults()
	cfg := Config{URLs: []string{jc.URL}, UsersPrefix: jc.UsersPrefix, Password: jc.Password, Accounts: jc.Accounts, Logger: jc.Logger}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	d, err := newHearthDriver(&cfg)
	if err != nil {
		return nil, err
	}
	first := jc.Talkers + jc.Observers
	if jc.Sizes[0] < first {
		return nil, fmt.Errorf("workload J: the first size (%d) must hold the %d talkers and observers", jc.Sizes[0], first)
	}
	users := jc.Sizes[len(jc.Sizes)-1] + jc.Joins
	res := &JoinsResult{}

	// Sign everyone in first, so that the measured joins are only joins.
	start := time.Now()
	tokens := make([]string, users)
	conc := 4
	if len(cfg.Accounts.Refresh) > 0 {
		conc = 16
	}
	log.Info("joins: signing in", "users", users)
	err = forEach(ctx, users, conc, func(ctx context.Context, u int) error {
		tok, _, err := d.session(ctx, 0, u, d.username(u), false)
		tokens[u] = tok
		return err
	})
	if err != nil {
		return nil, err
	}
	res.SignInSeconds = time.Since(start).Seconds()

	var room struct {
		ID string `json:"id"`
	}
	name := "joins " + time.Now().UTC().Format("15:04:05.000")
	if err := d.do(ctx, 0, 0, "POST", "/api/v1/rooms", tokens[0], map[string]string{"name": name, "visibility": "public"}, &room); err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	members := 1 // user 0 created it
	fill := func(to int) error {
		err := forEach(ctx, to-members, 32, func(ctx context.Context, j int) error {
			u := members + j
			return d.join(ctx, 0, u, room.ID, tokens[u])
		})
		members = max(members, to)
		return err
	}
	if err := fill(first); err != nil {
		return nil, err
	}

	// Talkers and observers connect once and stay.
	dial := func(u int) (*websocket.Conn, error) {
		c, err := dialWS(ctx, d.ws[0], u)
		if err != nil {
			return nil, err
		}
		if err := hearthAuth(ctx, c, tokens[u]); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	var conns []*websocket.Conn
	var readers sync.WaitGroup
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
	}()
	talkers := make([]*websocket.Conn, jc.Talkers)
	for t := range talkers {
		c, err := dial(t)
		if err != nil {
			return nil, fmt.Errorf("talker %d: %w", t, err)
		}
		talkers[t] = c
		conns = append(conns, c)
		readers.Add(1)
		go func() {
			defer readers.Done()
			var now int64
			readLoop(c, scanHearth, discardSink{}, &now, nil)
		}()
	}
	obs := make([]*observer, jc.Observers)
	for i := range obs {
		c, err := dial(jc.Talkers + i)
		if err != nil {
			return nil, fmt.Errorf("observer %d: %w", i, err)
		}
		obs[i] = &observer{}
		conns = append(conns, c)
		readers.Add(1)
		go func() {
			defer readers.Done()
			obs[i].read(c)
		}()
	}
	var sampler *rssSampler
	if jc.PID > 0 {
		sampler = startRSSSampler(ctx, jc.PID, 100*time.Millisecond)
		defer sampler.Stop()
	}

	seq := 0
	for _, size := range jc.Sizes {
		t0 := time.Now()
		log.Info("joins: filling the room", "to", size)
		if err := fill(size); err != nil {
			return nil, err
		}
		step := JoinsStep{Members: members, Joins: jc.Joins, Observers: len(obs), FillSeconds: time.Since(t0).Seconds()}
		if err := sleepCtx(ctx, time.Second); err != nil { // let the fill's frames drain
			return nil, err
		}
		var b0, f0, m0 int64
		for _, o := range obs {
			b0 += o.stateBytes.Load()
			f0 += o.stateFrames.Load()
			m0 += o.messages.Load()
			o.mu.Lock()
			o.hist = Histogram{}
			o.mu.Unlock()
		}
		cpu0, _ := serverCPU(jc.PID)
		log.Info("joins: measuring", "members", members, "joins", jc.Joins)

		// The talkers post while the joiners join, for as long as the
		// joins take.
		window := time.Duration(float64(jc.Joins) / jc.JoinRate * float64(time.Second))
		talkStart := time.Now()
		perTalker := int(jc.TalkRate * window.Seconds())
		var talk sync.WaitGroup
		var talkErr atomic.Pointer[error]
		for t, c := range talkers {
			talk.Add(1)
			go func() {
				defer talk.Done()
				p := newPacer(talkStart, jc.TalkRate)
				var payload, frame []byte
				send := newHearthSend(room.ID, fmt.Sprintf("j%d-%d-%d", size, t, time.Now().UnixNano()))
				for i := range perTalker {
					due, err := p.wait(ctx, i)
					if err != nil {
						talkErr.Store(&err)
						return
					}
					payload = appendPayload(payload[:0], seq+t*perTalker+i, due.UnixNano(), 100)
					frame = send.append(frame[:0], i, payload)
					if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
						talkErr.Store(&err)
						return
					}
				}
			}()
		}
		var joinHist Histogram
		var jmu sync.Mutex
		p := newPacer(time.Now(), jc.JoinRate)
		var jwg sync.WaitGroup
		var joinErr atomic.Pointer[error]
		for j := range jc.Joins {
			if _, err := p.wait(ctx, j); err != nil {
				return nil, err
			}
			u := members + j
			jwg.Add(1)
			go func() {
				defer jwg.Done()
				t := time.Now()
				if err := d.join(ctx, 0, u, room.ID, tokens[u]); err != nil {
					joinErr.Store(&err)
					return
				}
				jmu.Lock()
				joinHist.Record(uint64(time.Since(t).Microseconds()))
				jmu.Unlock()
			}()
		}
		jwg.Wait()
		talk.Wait()
		members += jc.Joins
		seq += jc.Talkers * perTalker
		if e := joinErr.Load(); e != nil {
			return nil, *e
		}
		if e := talkErr.Load(); e != nil {
			return nil, fmt.Errorf("talker: %w", *e)
		}
		// Deliveries may still be on their way: wait for them (bounded).
		step.Messages = jc.Talkers * perTalker
		want := int64(step.Messages) * int64(len(obs))
		deadline := time.Now().Add(5 * time.Second)
		var got int64
		for {
			got = 0
			for _, o := range obs {
				got += o.messages.Load()
			}
			got -= m0
			if got >= want || time.Now().After(deadline) {
				break
			}
			if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
				return nil, err
			}
		}
		// And the joins' own frames, which no message waits for.
		for wantF := f0 + int64(len(obs)*jc.Joins); time.Now().Before(deadline); {
			var f int64
			for _, o := range obs {
				f += o.stateFrames.Load()
			}
			if f >= wantF {
				break
			}
			if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
				return nil, err
			}
		}
		cpu1, _ := serverCPU(jc.PID)
		var b1, f1 int64
		var all Histogram
		for _, o := range obs {
			b1 += o.stateBytes.Load()
			f1 += o.stateFrames.Load()
			o.mu.Lock()
			all.Merge(&o.hist)
			o.mu.Unlock()
		}
		per := float64(len(obs) * jc.Joins)
		step.StateBytesPerJoin = float64(b1-b0) / per
		step.StateFramesPerJoin = float64(f1-f0) / per
		step.Lost = max(want-got, 0)
		step.Latency = summarize(&all)
		step.JoinLatency = summarize(&joinHist)
		step.ServerCPUSeconds = (cpu1 - cpu0).Seconds()
		res.Steps = append(res.Steps, step)
		log.Info("joins: step", "members", step.Members, "state_bytes_per_join", step.StateBytesPerJoin,
			"p99_ms", step.Latency.P99, "lost", step.Lost)
	}
	if sampler != nil {
		peak, err := sampler.Stop()
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
		res.PeakRSS = peak
	}
	return res, nil
}
