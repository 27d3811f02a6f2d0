// Package searchbench measures full-text search (docs/search.md): query
// latency over a corpus of a million messages indexed through the real
// path (node, Badger store, bleve index), the index's size on disk, and
// what indexing adds to a send. Unlike the load tools of package bench it
// runs the node in-process, because what it measures (a query's work, a
// send's cost with and without the index) sits below the transport.
//
// The corpus is built once into a cache directory and reused while its
// parameters are the same: sending a million messages through the node
// takes minutes on a small machine.
package searchbench

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/search"
	"github.com/hearth-chat/hearth/store"
)

// Config says what to build and measure. Zero fields take the defaults
// of a full run.
type Config struct {
	// Cache is the directory the corpus is kept in, one subdirectory per
	// parameter set.
	Cache string
	// Messages in the corpus (1,000,000), in Rooms rooms (500) of
	// RoomMembers members each (10) among Users users (50).
	Messages, Rooms, RoomMembers, Users int
	// Queries is how many queries of each kind are timed (500).
	Queries int
	// SendMessages is how many messages each send-cost run sends (20,000)
	// from Senders concurrent senders (16).
	SendMessages, Senders int
	// NoSend skips the send-cost runs (a run that looks at queries only).
	NoSend bool
	// Scratch is where the send-cost runs put their data; os.TempDir().
	Scratch string
	// SearchDelay is the node's (node.Config.SearchDelay); its default
	// when zero.
	SearchDelay time.Duration
	Log         *slog.Logger
}

func (c *Config) defaults() {
	if c.Messages == 0 {
		c.Messages = 1_000_000
	}
	if c.Rooms == 0 {
		c.Rooms = 500
	}
	if c.RoomMembers == 0 {
		c.RoomMembers = 10
	}
	if c.Users == 0 {
		c.Users = 50
	}
	if c.Queries == 0 {
		c.Queries = 500
	}
	if c.SendMessages == 0 {
		c.SendMessages = 20_000
	}
	if c.Senders == 0 {
		c.Senders = 16
	}
	if c.Scratch == "" {
		c.Scratch = os.TempDir()
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Result is what a run measured.
type Result struct {
	Messages  int     `json:"messages"`
	Rooms     int     `json:"rooms"`
	Indexed   uint64  `json:"indexed"`
	Cached    bool    `json:"cached"`
	BuildSecs float64 `json:"buildSeconds,omitempty"`
	// IndexSecs is how long building the index from the store took, when
	// this run built it.
	IndexSecs   float64 `json:"indexSeconds,omitempty"`
	IndexBytes  int64   `json:"indexBytes"`
	StoreBytes  int64   `json:"storeBytes"`
	ReaderRooms int     `json:"readerRooms"`
	Kinds       []Kind  `json:"kinds"`
	SendWithout Send    `json:"sendWithout"`
	SendWith    Send    `json:"sendWith"`
}

// Kind is the latency of one kind of query.
type Kind struct {
	Name    string  `json:"name"`
	Example string  `json:"example"`
	Queries int     `json:"queries"`
	P50ms   float64 `json:"p50ms"`
	P99ms   float64 `json:"p99ms"`
	MaxMs   float64 `json:"maxMs"`
	// CPUms is the process's CPU time per query: unlike the latencies,
	// it does not grow when other work shares the machine.
	CPUms    float64 `json:"cpuMs"`
	MeanHits float64 `json:"meanHits"`
}

// Send is one send-cost run.
type Send struct {
	Messages int     `json:"messages"`
	PerSec   float64 `json:"perSec"`
	P50ms    float64 `json:"p50ms"`
	P99ms    float64 `json:"p99ms"`
	// CPUus is the process's CPU time per message, µs, from the first
	// send until the index has taken the last one.
	CPUus float64 `json:"cpuUsPerMessage"`
	// CatchUpMs is how long after the last send's ack the index had
	// taken every message.
	CatchUpMs float64 `json:"catchUpMs,omitempty"`
}

// corpus is the cache's record of what it holds.
type corpus struct {
	Format                              string
	Messages, Rooms, RoomMembers, Users int
	Key                                 []byte
	Reader                              node.UserID
	ReaderRooms                         []node.RoomID
	BuildSecs                           float64
}

// corpusFormat names what build writes; the index beside it is built
// again by the node when search.Format changes.
const corpusFormat = "4"

// Run builds or reuses the corpus, times the queries and the send cost.
func Run(ctx context.Context, c Config) (*Result, error) {
	c.defaults()
	dir := filepath.Join(c.Cache, fmt.Sprintf("search-%d-%d-%d-%d", c.Messages, c.Rooms, c.RoomMembers, c.Users))
	cp, cached, err := loadOrBuild(ctx, c, dir)
	if err != nil {
		return nil, err
	}
	res := &Result{Messages: c.Messages, Rooms: c.Rooms, Cached: cached, BuildSecs: cp.BuildSecs, ReaderRooms: len(cp.ReaderRooms)}
	if err := queries(ctx, c, dir, cp, res); err != nil {
		return nil, err
	}
	if res.IndexBytes, err = dirSize(filepath.Join(dir, "search")); err != nil {
		return nil, err
	}
	if res.StoreBytes, err = dirSize(filepath.Join(dir, "db")); err != nil {
		return nil, err
	}
	if c.NoSend {
		return res, nil
	}
	if res.SendWithout, err = sendCost(ctx, c, false); err != nil {
		return nil, err
	}
	if res.SendWith, err = sendCost(ctx, c, true); err != nil {
		return nil, err
	}
	return res, nil
}

// instance is a node on a data directory with its index.
type instance struct {
	db  *store.DB
	idx *search.Index
	n   *node.Node
}

func open(ctx context.Context, c Config, dir string, key ed25519.PrivateKey, withSearch bool, now func() time.Time) (*instance, error) {
	log := c.Log
	db, err := store.Open(filepath.Join(dir, "db"), store.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	in := &instance{db: db}
	cfg := node.Config{Store: db, Key: key, Logger: log, HashConcurrency: 2, SearchDelay: c.SearchDelay, Now: now}
	if withSearch {
		if in.idx, err = search.Open(filepath.Join(dir, "search"), log); err != nil {
			db.Close()
			return nil, err
		}
		cfg.Search = in.idx
	}
	if in.n, err = node.New(ctx, cfg); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

func (in *instance) close() {
	if in.n != nil {
		in.n.Close()
	}
	if in.idx != nil {
		in.idx.Close()
	}
	in.db.Close()
}

// settle waits until the index is built and has taken every change.
func (in *instance) settle(ctx context.Context) error {
	for {
		q, built, _, err := in.n.SearchBacklog(ctx)
		if err != nil {
			return err
		}
		if q == 0 && built {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func loadOrBuild(ctx context.Context, c Config, dir string) (*corpus, bool, error) {
	var cp corpus
	if b, err := os.ReadFile(filepath.Join(dir, "corpus.json")); err == nil && json.Unmarshal(b, &cp) == nil && cp.Format == corpusFormat {
		return &cp, true, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	start := time.Now()
	built, err := build(ctx, c, dir)
	if err != nil {
		return nil, false, fmt.Errorf("build corpus: %w", err)
	}
	built.BuildSecs = time.Since(start).Seconds()
	b, _ := json.Marshal(built)
	if err := os.WriteFile(filepath.Join(dir, "corpus.json"), b, 0o600); err != nil {
		return nil, false, err
	}
	return built, false, nil
}

// build makes the corpus through the node: users, rooms of RoomMembers
// members (a third private), and Messages messages sent by their
// members, spread over the rooms. The reader is a member of a few public
// and private rooms; it may read every public room.
//
// Long (over 80 lines): set-up in the order it depends on itself.
func build(ctx context.Context, c Config, dir string) (*corpus, error) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	// The messages span the year before now, as a node's history does,
	// rather than the minutes the build takes: the node's clock moves on
	// by a year's share with every message sent.
	var sent atomic.Int64
	step := 365 * 24 * time.Hour / time.Duration(c.Messages)
	base := time.Now().Add(-366 * 24 * time.Hour)
	clock := func() time.Time { return base.Add(time.Duration(sent.Load()) * step) }
	// The messages are sent to a node without the index, which is then
	// built from the store in one go, as a node does when its index is
	// missing: much faster than a million small batches.
	in, err := open(ctx, c, dir, key, false, clock)
	if err != nil {
		return nil, err
	}
	defer func() { in.close() }()
	n := in.n
	users := make([]node.UserID, c.Users)
	for i := range users {
		u, err := n.Register(ctx, fmt.Sprintf("user%03d", i), "bench-password", "")
		if err != nil {
			return nil, err
		}
		users[i] = u.ID
	}
	reader, err := n.Register(ctx, "reader", "bench-password", "")
	if err != nil {
		return nil, err
	}
	cp := &corpus{Format: corpusFormat, Messages: c.Messages, Rooms: c.Rooms, RoomMembers: c.RoomMembers, Users: c.Users, Key: key, Reader: reader.ID}
	rooms := make([]node.RoomID, c.Rooms)
	members := make([][]node.UserID, c.Rooms)
	for i := range rooms {
		vis := node.Public
		if i%3 == 0 {
			vis = node.Private
		}
		owner := users[i%c.Users]
		r, err := n.CreateRoomWith(ctx, owner, fmt.Sprintf("room %d", i), "", vis, node.RoomOptions{})
		if err != nil {
			return nil, err
		}
		rooms[i], members[i] = r.ID, []node.UserID{owner}
		join := func(u node.UserID) error {
			if vis == node.Private {
				if err := n.Invite(ctx, owner, r.ID, u); err != nil {
					return err
				}
			}
			_, err := n.Join(ctx, u, r.ID)
			return err
		}
		for k := 1; k < c.RoomMembers; k++ {
			u := users[(i+k)%c.Users]
			if err := join(u); err != nil {
				return nil, err
			}
			members[i] = append(members[i], u)
		}
		if i < 20 { // the reader: 7 private and 13 public rooms
			if err := join(reader.ID); err != nil {
				return nil, err
			}
			cp.ReaderRooms = append(cp.ReaderRooms, r.ID)
		}
	}
	c.Log.Info("search corpus: rooms ready; sending", "messages", c.Messages)
	var next atomic.Int64
	var wg sync.WaitGroup
	senders := 4 * c.Senders // more sends share each sync
	errs := make(chan error, senders)
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newGen(uint64(w) + 1)
			for {
				k := int(next.Add(1)) - 1
				if k >= c.Messages || ctx.Err() != nil {
					return
				}
				room := k % c.Rooms
				sender := members[room][(k/c.Rooms)%len(members[room])]
				if _, err := n.Send(ctx, sender, node.SendParams{Room: rooms[room], Body: g.message()}); err != nil {
					errs <- err
					return
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return cp, nil
}

// queries times each kind of query as the reader, through Node.Search.
func queries(ctx context.Context, c Config, dir string, cp *corpus, res *Result) error {
	in, err := open(ctx, c, dir, cp.Key, true, nil)
	if err != nil {
		return err
	}
	defer in.close()
	// A missing index (the first run, or a new index format) is built
	// from the store here, and timed.
	building := !in.idx.Built()
	start := time.Now()
	if err := in.settle(ctx); err != nil {
		return err
	}
	if building {
		res.IndexSecs = time.Since(start).Seconds()
	}
	if res.Indexed, err = in.idx.Count(); err != nil {
		return err
	}
	g := newGen(99)
	r := rand.New(rand.NewPCG(7, 7))
	kinds := []struct {
		name string
		make func() node.SearchParams
	}{
		{"a word", func() node.SearchParams { return node.SearchParams{Text: g.word()} }},
		{"two words", func() node.SearchParams { return node.SearchParams{Text: g.word() + " " + g.word()} }},
		{"a phrase", func() node.SearchParams {
			w := strings.Fields(g.message())
			i := r.IntN(len(w) - 1)
			return node.SearchParams{Text: `"` + w[i] + " " + w[i+1] + `"`}
		}},
		{"a prefix", func() node.SearchParams {
			w := g.word()
			for len(w) < 4 {
				w = g.word()
			}
			return node.SearchParams{Text: w[:3] + "*"}
		}},
		{"a word in one room", func() node.SearchParams {
			return node.SearchParams{Text: g.word(), Room: cp.ReaderRooms[r.IntN(len(cp.ReaderRooms))]}
		}},
		{"a word, by relevance", func() node.SearchParams { return node.SearchParams{Text: g.word(), Relevance: true} }},
	}
	for _, k := range kinds {
		// A few untimed queries first: the first ones load the index's
		// files into the page cache.
		for range 20 {
			if _, _, err := in.n.Search(ctx, cp.Reader, k.make()); err != nil {
				return err
			}
		}
		lat := make([]time.Duration, 0, c.Queries)
		hits := 0
		var example string
		cpu0 := cpuTime()
		for range c.Queries {
			p := k.make()
			if example == "" {
				example = p.Text
			}
			start := time.Now()
			msgs, _, err := in.n.Search(ctx, cp.Reader, p)
			if err != nil {
				return fmt.Errorf("%s %q: %w", k.name, p.Text, err)
			}
			lat = append(lat, time.Since(start))
			hits += len(msgs)
		}
		cpu := cpuTime() - cpu0
		slices.Sort(lat)
		res.Kinds = append(res.Kinds, Kind{
			Name: k.name, Example: example, Queries: len(lat), CPUms: ms(cpu) / float64(len(lat)),
			P50ms: ms(lat[len(lat)/2]), P99ms: ms(lat[(len(lat)*99)/100]), MaxMs: ms(lat[len(lat)-1]),
			MeanHits: float64(hits) / float64(len(lat)),
		})
	}
	return nil
}

// sendCost sends SendMessages messages from Senders users in 8 rooms on
// a fresh node, with the index or without it, and measures throughput,
// per-send latency (until durable) and the process's CPU time per
// message, including, with the index, the indexing that follows.
//
// Long (over 80 lines) because it is one measurement: set-up, the timed
// sends, the wait for the index, the figures.
func sendCost(ctx context.Context, c Config, withSearch bool) (Send, error) {
	dir, err := os.MkdirTemp(c.Scratch, "hearth-search-send-")
	if err != nil {
		return Send{}, err
	}
	defer os.RemoveAll(dir)
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return Send{}, err
	}
	in, err := open(ctx, c, dir, key, withSearch, nil)
	if err != nil {
		return Send{}, err
	}
	defer in.close()
	n := in.n
	const rooms = 8
	senders := make([]node.UserID, c.Senders)
	roomOf := make([]node.RoomID, c.Senders)
	var ids []node.RoomID
	for i := range senders {
		u, err := n.Register(ctx, fmt.Sprintf("sender%03d", i), "bench-password", "")
		if err != nil {
			return Send{}, err
		}
		senders[i] = u.ID
		if i < rooms {
			r, err := n.CreateRoomWith(ctx, u.ID, fmt.Sprintf("room %d", i), "", node.Public, node.RoomOptions{})
			if err != nil {
				return Send{}, err
			}
			ids = append(ids, r.ID)
		} else if _, err := n.Join(ctx, u.ID, ids[i%rooms]); err != nil {
			return Send{}, err
		}
		roomOf[i] = ids[i%rooms]
	}
	lat := make([][]time.Duration, c.Senders)
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, c.Senders)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newGen(uint64(i) + 100)
			for range c.SendMessages / c.Senders {
				t := time.Now()
				if _, err := n.Send(ctx, senders[i], node.SendParams{Room: roomOf[i], Body: g.message()}); err != nil {
					errs <- err
					return
				}
				lat[i] = append(lat[i], time.Since(t))
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return Send{}, err
	}
	sent := time.Since(start)
	var catchUp time.Duration
	if withSearch {
		if err := in.settle(ctx); err != nil {
			return Send{}, err
		}
		catchUp = time.Since(start) - sent
	}
	cpu := cpuTime() - cpu0
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	total := len(all)
	return Send{
		Messages: total, PerSec: float64(total) / sent.Seconds(),
		P50ms: ms(all[total/2]), P99ms: ms(all[total*99/100]),
		CPUus: float64(cpu.Microseconds()) / float64(total), CatchUpMs: ms(catchUp),
	}, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// gen makes chat-like text: words of a made-up language of vocabSize
// words, drawn with a Zipf distribution as words of real text are, so a
// few words are in a large share of the messages and most are rare.
type gen struct {
	r    *rand.Rand
	zipf *rand.Zipf
}

const vocabSize = 30_000

var vocab = func() []string {
	// Syllables of a consonant and a vowel; words of 1 to 4 of them,
	// distinct, from a fixed seed.
	cons, vows := "bdfgklmnprstvz", "aeiou"
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	out := make([]string, 0, vocabSize)
	for len(out) < vocabSize {
		var b strings.Builder
		for range 1 + r.IntN(4) {
			b.WriteByte(cons[r.IntN(len(cons))])
			b.WriteByte(vows[r.IntN(len(vows))])
		}
		if w := b.String(); !seen[w] && len(w) >= 2 {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}()

func newGen(seed uint64) *gen {
	r := rand.New(rand.NewPCG(seed, seed*31+7))
	return &gen{r: r, zipf: rand.NewZipf(r, 1.07, 1, vocabSize-1)}
}

func (g *gen) word() string { return vocab[g.zipf.Uint64()] }

// message is 3 to 24 words.
func (g *gen) message() string {
	n := 3 + g.r.IntN(22)
	w := make([]string, n)
	for i := range w {
		w[i] = g.word()
	}
	return strings.Join(w, " ")
}

// Markdown is the report's Search section.
func (r *Result) Markdown(machine, command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Search\n\n")
	fmt.Fprintf(&b, "Machine: %s. Command: `%s`.\n\n", machine, command)
	cache := "built in this run"
	if r.Cached {
		cache = "reused from bench/.cache"
	}
	if r.BuildSecs > 0 {
		cache += fmt.Sprintf(" (building it took %.0f s)", r.BuildSecs)
	}
	fmt.Fprintf(&b, "A corpus of %d messages (%d indexed) in %d rooms of 10 members, a third of them private, sent through the node (signed events, Badger) over a simulated year, then indexed from the store; the store %s. Words are drawn from a 30,000-word made-up vocabulary with a Zipf distribution, so common words are in a large share of the messages. The searching user is a member of %d rooms and may read every public one: each query is authorised as the API's are, then the hits are read from the store.\n\n",
		r.Messages, r.Indexed, r.Rooms, cache, r.ReaderRooms)
	fmt.Fprintf(&b, "Index on disk: **%.0f MiB** (%.0f bytes per message); the Badger store beside it: %.0f MiB.",
		float64(r.IndexBytes)/(1<<20), float64(r.IndexBytes)/float64(max(r.Messages, 1)), float64(r.StoreBytes)/(1<<20))
	if r.IndexSecs > 0 {
		fmt.Fprintf(&b, " Building the index from the store (what a node does when the index directory is missing) took %.0f s, %.0f messages/s.",
			r.IndexSecs, float64(r.Messages)/r.IndexSecs)
	} else {
		b.WriteString(" The index was reused from the cache too.")
	}
	b.WriteString("\n\n")
	b.WriteString("| query (Node.Search, newest first, 20 results) | example | queries | p50 ms | p99 ms | max ms | CPU ms per query | mean results |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, k := range r.Kinds {
		fmt.Fprintf(&b, "| %s | `%s` | %d | %.2f | **%.2f** | %.2f | %.2f | %.1f |\n", k.Name, k.Example, k.Queries, k.P50ms, k.P99ms, k.MaxMs, k.CPUms, k.MeanHits)
	}
	if r.SendWith.Messages == 0 {
		return b.String() // a run of queries only
	}
	fmt.Fprintf(&b, "\nWhat the index adds to a send (%d messages from %d users in 8 rooms, on a fresh node each time):\n\n", r.SendWith.Messages, 16)
	b.WriteString("| node | sends/s | send p50 ms | send p99 ms | CPU µs per message | index caught up after the last ack |\n| --- | --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| without search | %.0f | %.2f | %.2f | %.0f | |\n", r.SendWithout.PerSec, r.SendWithout.P50ms, r.SendWithout.P99ms, r.SendWithout.CPUus)
	fmt.Fprintf(&b, "| with search | %.0f | %.2f | %.2f | %.0f | %.0f ms |\n", r.SendWith.PerSec, r.SendWith.P50ms, r.SendWith.P99ms, r.SendWith.CPUus, r.SendWith.CatchUpMs)
	return b.String()
}
