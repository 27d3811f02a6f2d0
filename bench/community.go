package bench

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Workload C (community): many users in many rooms of mixed sizes, each
// user posting a few messages a minute to one of their rooms, and a few
// busy rooms that post all the time: what a community server lives on,
// where workload F is one room at full tilt. Every user has one
// connection. Hearth only.

// CommunityConfig describes a workload C run. Zero fields take the
// defaults.
type CommunityConfig struct {
	URL string
	PID int
	// Users (default 5000) in Rooms rooms (default 1000) of MinSize to
	// MaxSize members (default 2 and 500): Busy rooms (default 4) have
	// MaxSize members and get BusyRate messages per second each (default
	// 5); the others have Pareto-distributed sizes (most are small).
	Users, Rooms, MinSize, MaxSize, Busy int
	BusyRate                             float64
	// PerUserPerMinute is how often each user posts (default 2).
	PerUserPerMinute float64
	// Duration of the posting (default 60 s); Size of a body (default 100).
	Duration time.Duration
	Size     int
	// Seed makes the rooms and the schedule reproducible (default 1).
	Seed        uint64
	UsersPrefix string
	Password    string
	Accounts    Accounts
	Logger      *slog.Logger
	// Posting, if set, is called once as the posting starts with how long
	// it lasts (bench.Config.Sending's counterpart).
	Posting func(d time.Duration)
}

// CommunityResult is a workload C run.
type CommunityResult struct {
	Users       int `json:"users"`
	Rooms       int `json:"rooms"`
	Memberships int `json:"memberships"`
	LargestRoom int `json:"largest_room"`
	MedianRoom  int `json:"median_room"`
	// Messages posted; Expected deliveries (every member of the room,
	// the sender's own connection included), Received, Lost.
	Messages   int   `json:"messages"`
	SendErrors int64 `json:"send_errors"`
	Expected   int64 `json:"expected"`
	Received   int64 `json:"received"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	// Latency over every delivery, from when the message was due.
	Latency          Latency `json:"latency"`
	DeliveriesPerSec float64 `json:"deliveries_per_second"`
	// Server is CPU and memory over the posting; CPUMicrosPerDelivery
	// is its CPU time divided by deliveries.
	Server               *Server `json:"server,omitempty"`
	CPUMicrosPerDelivery float64 `json:"cpu_us_per_delivery"`
	SetupSeconds         float64 `json:"setup_seconds"`
	ToolCPUSeconds       float64 `json:"tool_cpu_seconds"`
	LoadAvg              float64 `json:"load_avg"`
}

// DefaultCommunity is the run a zero CommunityConfig describes
// (setDefaults and Main's flags).
func DefaultCommunity() CommunityConfig {
	return CommunityConfig{
		Users: 5000, Rooms: 1000, MinSize: 2, MaxSize: 500, Busy: 4, BusyRate: 5,
		PerUserPerMinute: 2, Duration: time.Minute, Size: 100, Seed: 1,
	}
}

func (cc *CommunityConfig) setDefaults() {
	d := DefaultCommunity()
	cc.Users = cmp.Or(cc.Users, d.Users)
	cc.Rooms = cmp.Or(cc.Rooms, d.Rooms)
	cc.MinSize = cmp.Or(cc.MinSize, d.MinSize)
	cc.MaxSize = cmp.Or(cc.MaxSize, d.MaxSize)
	cc.Busy = cmp.Or(cc.Busy, d.Busy)
	cc.BusyRate = cmp.Or(cc.BusyRate, d.BusyRate)
	cc.PerUserPerMinute = cmp.Or(cc.PerUserPerMinute, d.PerUserPerMinute)
	cc.Duration = cmp.Or(cc.Duration, d.Duration)
	cc.Size = cmp.Or(cc.Size, d.Size)
	cc.Seed = cmp.Or(cc.Seed, d.Seed)
}

// communityPlan is the rooms' members and the posting schedule.
type communityPlan struct {
	members [][]int // per room; members[r][0] creates it
	rooms   [][]int // per user, the rooms they are in
	posts   []post  // in due order; seq is the index
}

type post struct {
	at   time.Duration // from the start
	user int
	room int
}

func planCommunity(cc *CommunityConfig) *communityPlan {
	rng := rand.New(rand.NewPCG(cc.Seed, 1))
	p := &communityPlan{members: make([][]int, cc.Rooms), rooms: make([][]int, cc.Users)}
	in := make([]map[int]bool, cc.Rooms)
	add := func(r, u int) {
		if !in[r][u] {
			in[r][u] = true
			p.members[r] = append(p.members[r], u)
			p.rooms[u] = append(p.rooms[u], r)
		}
	}
	for r := range cc.Rooms {
		in[r] = map[int]bool{}
		size := cc.MaxSize
		if r >= cc.Busy {
			// Pareto with shape 1.2 from MinSize: most rooms small, a few
			// in the hundreds.
			size = int(float64(cc.MinSize) / math.Pow(1-rng.Float64(), 1/1.2))
		}
		size = min(max(size, cc.MinSize), cc.MaxSize, cc.Users)
		add(r, r*cc.Users/cc.Rooms) // distinct creators
		for len(p.members[r]) < size {
			add(r, rng.IntN(cc.Users))
		}
	}
	for u := range cc.Users {
		if len(p.rooms[u]) == 0 {
			add(cc.Busy+rng.IntN(cc.Rooms-cc.Busy), u)
		}
	}
	secs := cc.Duration.Seconds()
	for u := range cc.Users {
		n := int(cc.PerUserPerMinute * secs / 60)
		if rng.Float64() < cc.PerUserPerMinute*secs/60-float64(n) {
			n++
		}
		for range n {
			rs := p.rooms[u]
			p.posts = append(p.posts, post{at: time.Duration(rng.Float64() * float64(cc.Duration)), user: u, room: rs[rng.IntN(len(rs))]})
		}
	}
	for r := range cc.Busy {
		n := int(cc.BusyRate * secs)
		for i := range n {
			ms := p.members[r]
			p.posts = append(p.posts, post{at: time.Duration(float64(i) / cc.BusyRate * float64(time.Second)), user: ms[rng.IntN(len(ms))], room: r})
		}
	}
	slices.SortStableFunc(p.posts, func(a, b post) int { return int(a.at - b.at) })
	return p
}

// RunCommunity runs workload C against one Hearth node.
//
// Kept whole (over 80 lines), like Run: phases in order over shared
// counters.
func RunCommunity(ctx context.Context, cc CommunityConfig) (*CommunityResult, error) {
	cc.setDefaults()
	cfg := Config{URLs: []string{cc.URL}, UsersPrefix: cc.UsersPrefix, Password: cc.Password, Accounts: cc.Accounts, Logger: cc.Logger}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	d, err := newHearthDriver(&cfg)
	if err != nil {
		return nil, err
	}
	plan := planCommunity(&cc)
	res := &CommunityResult{Users: cc.Users, Rooms: cc.Rooms, Messages: len(plan.posts)}
	sizes := make([]int, cc.Rooms)
	for r, ms := range plan.members {
		sizes[r] = len(ms)
		res.Memberships += len(ms)
	}
	slices.Sort(sizes)
	res.LargestRoom, res.MedianRoom = sizes[len(sizes)-1], sizes[len(sizes)/2]

	start := time.Now()
	tokens := make([]string, cc.Users)
	conc := 4
	if len(cfg.Accounts.Refresh) > 0 {
		conc = 16
	}
	log.Info("community: signing in", "users", cc.Users)
	err = forEach(ctx, cc.Users, conc, func(ctx context.Context, u int) error {
		tok, _, err := d.session(ctx, 0, u, d.username(u), false)
		tokens[u] = tok
		return err
	})
	if err != nil {
		return nil, err
	}
	log.Info("community: creating rooms", "rooms", cc.Rooms, "memberships", res.Memberships)
	ids := make([]string, cc.Rooms)
	err = forEach(ctx, cc.Rooms, 16, func(ctx context.Context, r int) error {
		var room struct {
			ID string `json:"id"`
		}
		u := plan.members[r][0]
		body := map[string]string{"name": fmt.Sprintf("c%d", r), "visibility": "public"}
		if err := d.do(ctx, 0, u, "POST", "/api/v1/rooms", tokens[u], body, &room); err != nil {
			return fmt.Errorf("create room %d: %w", r, err)
		}
		ids[r] = room.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	type membership struct{ room, user int }
	var joins []membership
	for r, ms := range plan.members {
		for _, u := range ms[1:] {
			joins = append(joins, membership{r, u})
		}
	}
	err = forEach(ctx, len(joins), 32, func(ctx context.Context, j int) error {
		m := joins[j]
		return d.join(ctx, 0, m.user, ids[m.room], tokens[m.user])
	})
	if err != nil {
		return nil, err
	}

	log.Info("community: connecting", "users", cc.Users)
	recv := make([]*receiver, cc.Users)
	wmu := make([]sync.Mutex, cc.Users)
	var readers sync.WaitGroup
	defer func() {
		for _, r := range recv {
			if r != nil {
				r.conn.Close()
			}
		}
		readers.Wait()
	}()
	err = forEach(ctx, cc.Users, 64, func(ctx context.Context, u int) error {
		c, err := dialWS(ctx, d.ws[0], u)
		if err != nil {
			return err
		}
		if err := hearthAuth(ctx, c, tokens[u]); err != nil {
			c.Close()
			return fmt.Errorf("user %d: %w", u, err)
		}
		r := &receiver{conn: c, messages: len(plan.posts), seen: make([]uint64, (len(plan.posts)+63)/64)}
		recv[u] = r
		readers.Add(1)
		go func() {
			defer readers.Done()
			s := &communitySink{receiver: r}
			r.err = readLoop(c, scanHearth, s, &r.now, &wmu[u])
			r.done.Store(true)
		}()
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.SetupSeconds = time.Since(start).Seconds()
	if err := sleepCtx(ctx, 2*time.Second); err != nil { // connect-time presence settles
		return nil, err
	}

	var sampler *rssSampler
	if cc.PID > 0 {
		sampler = startRSSSampler(ctx, cc.PID, 100*time.Millisecond)
		defer sampler.Stop()
	}
	res.LoadAvg = loadAvg()
	cpu0, _ := serverCPU(cc.PID)
	tool0 := selfCPU()
	log.Info("community: posting", "messages", len(plan.posts), "seconds", cc.Duration.Seconds())
	t0 := time.Now()
	if cc.Posting != nil {
		cc.Posting(cc.Duration)
	}
	var payload, frame []byte
	run := fmt.Sprint(time.Now().UnixNano())
	for seq, p := range plan.posts {
		due := t0.Add(p.at)
		if w := time.Until(due); w > 0 {
			if err := sleepCtx(ctx, w); err != nil {
				return nil, err
			}
		}
		payload = appendPayload(payload[:0], seq, due.UnixNano(), cc.Size)
		frame = newHearthSend(ids[p.room], run).append(frame[:0], seq, payload)
		c := recv[p.user].conn
		wmu[p.user].Lock()
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		err := c.WriteMessage(websocket.TextMessage, frame)
		wmu[p.user].Unlock()
		if err != nil {
			res.SendErrors++
		}
		res.Expected += int64(len(plan.members[p.room]))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got int64
		for _, r := range recv {
			got += r.received.Load()
		}
		if got >= res.Expected || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, err
		}
	}
	elapsed := time.Since(t0)
	cpu1, _ := serverCPU(cc.PID)
	res.ToolCPUSeconds = (selfCPU() - tool0).Seconds()
	for _, r := range recv {
		r.conn.Close()
	}
	readers.Wait()
	var all Histogram
	for _, r := range recv {
		all.Merge(&r.hist)
		res.Received += r.received.Load()
		res.Duplicates += r.dups
	}
	res.Lost = res.Expected - res.Received
	res.Latency = summarize(&all)
	res.DeliveriesPerSec = float64(res.Received) / elapsed.Seconds()
	if sampler != nil {
		peak, _ := sampler.Stop()
		mem, _ := readProcMem(cc.PID)
		res.Server = &Server{PID: cc.PID, CPUSeconds: (cpu1 - cpu0).Seconds(), PeakRSS: peak, HWM: mem.HWM}
		if res.Received > 0 {
			res.Server.DeliveriesPerCPUSecond = float64(res.Received) / res.Server.CPUSeconds
			res.CPUMicrosPerDelivery = res.Server.CPUSeconds * 1e6 / float64(res.Received)
		}
	}
	return res, nil
}

// communitySink records deliveries on a user's connection; that
// connection also carries the user's own acks and refusals.
type communitySink struct{ *receiver }

func (s *communitySink) ack([]byte)    {}
func (s *communitySink) refuse([]byte) {}
