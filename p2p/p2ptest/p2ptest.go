// Package p2ptest builds whole Hearth nodes (Badger store, domain node and
// libp2p host on 127.0.0.1) for federation tests, and connects them in
// shapes.
package p2ptest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/media"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/store"
)

// Node is one running node of a test federation.
type Node struct {
	Name string
	Dir  string
	Key  ed25519.PrivateKey
	DB   *store.DB
	// MediaDir holds the node's files (Files).
	MediaDir string
	Files    *media.Store
	Node     *node.Node
	Host     *p2p.Host
	Notes    *Recorder

	t      testing.TB
	tune   func(*p2p.Config)
	cancel context.CancelFunc
	done   chan struct{}
}

// Fast tunes a host for tests: quick anti-entropy, presence and directory.
func Fast(c *p2p.Config) {
	c.SyncInterval = time.Second
	c.HeartbeatInterval = 500 * time.Millisecond
	c.PresenceTimeout = 3 * time.Second
	c.DirectoryInterval = time.Second
	c.ScoreInspectPeriod = 200 * time.Millisecond
}

// Logger is the logger of test nodes: silent unless HEARTH_TEST_LOG is set.
func Logger(name string) *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("HEARTH_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
}

// Start builds and runs a node in a fresh temp dir. tune adjusts the host
// config (nil means Fast). The node is stopped at the end of the test.
func Start(t testing.TB, name string, tune func(*p2p.Config)) *Node {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if tune == nil {
		tune = Fast
	}
	n := &Node{Name: name, Dir: t.TempDir(), MediaDir: t.TempDir(), Key: key, t: t, tune: tune}
	n.open()
	t.Cleanup(n.Stop)
	return n
}

func (n *Node) open() {
	t := n.t
	t.Helper()
	ctx := context.Background()
	log := Logger(n.Name)
	db, err := store.Open(n.Dir, store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if n.Notes == nil {
		n.Notes = &Recorder{}
	}
	files, err := media.Open(n.MediaDir, media.Config{Logger: log})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	nd, err := node.New(ctx, node.Config{Store: db, Key: n.Key, Name: n.Name, Logger: log, Notifier: n.Notes, HashConcurrency: 4, Media: files})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	cfg := p2p.Config{Key: n.Key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Domain: nd, Media: nd, Policy: nd, Logger: log}
	n.tune(&cfg)
	h, err := p2p.New(ctx, cfg)
	if err != nil {
		nd.Close()
		db.Close()
		t.Fatal(err)
	}
	nd.SetFederation(h)
	nd.SetMediaFetcher(h)
	rctx, cancel := context.WithCancel(context.Background())
	n.DB, n.Files, n.Node, n.Host, n.cancel, n.done = db, files, nd, h, cancel, make(chan struct{})
	go func() {
		defer close(n.done)
		_ = h.Run(rctx)
	}()
}

// Stop shuts the node down; it may be restarted with Restart.
func (n *Node) Stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	<-n.done
	n.Host.Close()
	n.Node.Close()
	n.DB.Close()
	n.cancel = nil
}

// Retune replaces the host config tuner used by the next Restart.
func (n *Node) Retune(tune func(*p2p.Config)) { n.tune = tune }

// Restart reopens a stopped node on the same directory and key.
func (n *Node) Restart() {
	n.t.Helper()
	n.Stop()
	n.open()
}

// Info is the node's dialable address.
func (n *Node) Info() peer.AddrInfo {
	h := n.Host.LibP2P()
	return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
}

// Connect dials b from a until they are connected. libp2p gives a dial
// to a loopback address 5 s, handshake included, which a starved test
// process can overrun; a failed dial is then tried again (past libp2p's
// dial backoff), as a node redials a peer, until the deadline.
func Connect(t testing.TB, a, b *Node) {
	t.Helper()
	ctx := network.WithForceDirectDial(context.Background(), "test connect")
	poll.Until(t, time.Minute, func() error {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := a.Host.Connect(ctx, b.Info()); err != nil {
			return fmt.Errorf("connect %s to %s: %w", a.Name, b.Name, err)
		}
		return nil
	})
}

// Line starts n nodes connected in a line: 0-1-2-...
func Line(t testing.TB, n int) []*Node { return LineWith(t, n, nil) }

// HopByHop tunes a host not to dial its rooms' other nodes and to run no
// DHT (whose queries dial the peers they learn of), so that a line
// stays a line and traffic is relayed hop by hop. It keeps a node's
// default intervals, as a benchmark wants.
func HopByHop(c *p2p.Config) { c.NoRoomDials, c.DisableDHT = true, true }

// Relayed is HopByHop at the Fast intervals, for tests that wait for a
// line to converge.
func Relayed(c *p2p.Config) { Fast(c); HopByHop(c) }

// LineWith is Line with a host config tuner.
func LineWith(t testing.TB, n int, tune func(*p2p.Config)) []*Node {
	t.Helper()
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = Start(t, string(rune('A'+i)), tune)
	}
	for i := 1; i < n; i++ {
		Connect(t, nodes[i], nodes[i-1])
	}
	return nodes
}

// User registers a user on the node and returns its ID.
func (n *Node) User(t testing.TB, name string) node.UserID {
	t.Helper()
	u, err := n.Node.Register(context.Background(), name, "password123", "")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// WaitFor polls fn until it returns nil or the timeout passes: it is
// poll.Until, under the name p2p's tests know.
func WaitFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	poll.Until(t, timeout, fn)
}

// Recorder is a node.Notifier that keeps every notification per user.
type Recorder struct {
	mu      sync.Mutex
	notes   map[node.UserID][]*node.Notification
	watches []chan *node.Notification
}

// Watch returns a channel that receives every message notification from
// now on; a full channel drops notifications rather than block the node.
func (r *Recorder) Watch(size int) <-chan *node.Notification {
	ch := make(chan *node.Notification, size)
	r.mu.Lock()
	r.watches = append(r.watches, ch)
	r.mu.Unlock()
	return ch
}

// Notify records n for each recipient.
func (r *Recorder) Notify(to []node.UserID, n *node.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notes == nil {
		r.notes = map[node.UserID][]*node.Notification{}
	}
	for _, u := range to {
		r.notes[u] = append(r.notes[u], n)
	}
	if n.Kind == node.NoteMessage {
		for _, ch := range r.watches {
			select {
			case ch <- n:
			default:
			}
		}
	}
}

// Of returns the notifications of one kind a user received.
func (r *Recorder) Of(u node.UserID, kind string) []*node.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*node.Notification
	for _, n := range r.notes[u] {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

// HasMessage reports whether u was notified of a message with this ID.
func (r *Recorder) HasMessage(u node.UserID, id node.EventID) error {
	for _, n := range r.Of(u, node.NoteMessage) {
		if n.Message.ID == id {
			return nil
		}
	}
	return fmt.Errorf("%s has no message %s", u, id)
}
