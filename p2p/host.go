// Package p2p connects Hearth nodes over libp2p: the host (TCP and QUIC,
// default secure channels and muxers), gossip of room events and presence,
// history sync streams, and discovery.
//
// Host implements node.Federation and holds the domain only through the
// small interfaces it declares (Domain). Gossip (GossipSub) is the fast
// path; delivery guarantees come from history sync (/hearth/sync/1.0.0),
// which runs when a room is joined, when a peer connects and periodically
// as anti-entropy. Private rooms never travel on gossip in the clear:
// their events are pushed over encrypted streams to the nodes that host
// their members, and gossiped only sealed under the room key the domain
// hands over with each event (see docs/protocol.md).
package p2p

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearth-chat/hearth/node"
)

// Config configures a Host. Zero fields take the documented defaults.
type Config struct {
	// Key is the node key; the host's peer ID is derived from it.
	Key ed25519.PrivateKey
	// Listen are libp2p listen multiaddrs; port 0 picks a free port.
	Listen []string
	// Peers are bootstrap multiaddrs ending in /p2p/<id>, dialled at start
	// and redialled with backoff when the connection is lost.
	Peers []string
	// MDNS enables discovery on the local network.
	MDNS bool
	// Domain is the domain service the host carries events for
	// (*node.Node). Required.
	Domain Domain
	// Logger receives structured logs.
	Logger *slog.Logger
	// Media serves this node's files to other nodes (*node.Node); nil
	// serves none. See media.go.
	Media MediaSource
	// Policy says which nodes this one federates with (node.Node); nil
	// allows every node. The host refuses connections, gossip and sync
	// to and from the others (policy.go).
	Policy Policy
	// Observer is told what federation does, for metrics; nil for none.
	Observer Observer

	// SyncInterval is the anti-entropy period; 10s.
	SyncInterval time.Duration
	// HeartbeatInterval is how often presence is announced; 10s. A
	// change of the online set is announced within a second.
	HeartbeatInterval time.Duration
	// PresenceTimeout takes a silent node's users offline; 35s.
	PresenceTimeout time.Duration
	// DirectoryInterval is how often public rooms are announced; 30s.
	DirectoryInterval time.Duration
	// JoinWindow is how many recent events a joiner fetches; older
	// history is backfilled when a user pages back. 200.
	JoinWindow int
	// ScoreInspectPeriod is how often peer scores are sampled; 1s.
	ScoreInspectPeriod time.Duration
	// DisableDHT turns the Kademlia DHT off (tests of other parts).
	DisableDHT bool
	// NoRoomDials stops the host from dialling the other nodes of its
	// rooms directly, so that public rooms depend on relayed gossip; for
	// tests and measurements of multi-hop paths. Private rooms, which
	// never travel on gossip, need the direct dials.
	NoRoomDials bool
	// MaxTopics bounds the gossip topics joined (each holds a reader
	// goroutine, a validator and mesh state): rooms with local members
	// first, then other public rooms held. Rooms past it travel by pushes
	// and history sync only. 4096.
	MaxTopics int
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = 10 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 10 * time.Second
	}
	if c.PresenceTimeout == 0 {
		c.PresenceTimeout = 35 * time.Second
	}
	if c.DirectoryInterval == 0 {
		c.DirectoryInterval = 30 * time.Second
	}
	if c.JoinWindow == 0 {
		c.JoinWindow = 200
	}
	if c.ScoreInspectPeriod == 0 {
		c.ScoreInspectPeriod = time.Second
	}
	if c.MaxTopics == 0 {
		c.MaxTopics = 4096
	}
}

// dhtPrefix keeps Hearth's DHT apart from the public IPFS one.
const dhtPrefix = "/hearth"

// Host is a node's libp2p presence. It implements node.Federation. Its
// methods are safe for concurrent use; the node.Federation ones never
// block (they queue work for Run).
type Host struct {
	cfg  Config
	log  *slog.Logger
	node Domain
	host host.Host
	// started is host for callbacks libp2p may run before New returns.
	started atomic.Pointer[host.Host]
	kad     *dht.IpfsDHT
	ps      *pubsub.PubSub
	stop    context.CancelFunc // ends the pubsub and DHT lifetime

	topics  *topicSet
	scores  *scoreBoard
	digests *digestCache
	mesh    *mesh
	hints   *roomHints
	beats   *beatTable
	joining roomSet // rooms being fetched by a join

	mediaState *mediaState // the media protocol (media.go)

	outbox   chan *node.Delivery // Publish → publisher loop
	typing   chan typingOut      // Typing → publisher loop
	changed  chan struct{}       // RoomsChanged, coalesced
	dirDirty chan struct{}       // RoomsChanged, for the directory; coalesced
	syncWith chan peer.ID        // peers to run anti-entropy with now
	fetches  chan struct{}       // semaphore for room fetches started by pushes

	closing chan struct{} // closed by Close

	e2eeLimits peerLimits // per-peer rate of e2ee requests (e2ee.go)

	bgMu  sync.Mutex
	bg    sync.WaitGroup // pushes and other short tasks started outside Run
	done  bool
	pushQ map[peer.ID]chan *node.Event
}

// New starts a libp2p host listening on cfg.Listen, with its DHT and
// GossipSub router. Run starts the loops; Close stops everything.
//
// Long (over 80 lines): libp2p's options and the protocols' handlers set
// up in the order they depend on each other.
func New(ctx context.Context, cfg Config) (*Host, error) {
	cfg.setDefaults()
	if cfg.Domain == nil {
		return nil, fmt.Errorf("new p2p host: domain is required: %w", node.ErrInvalid)
	}
	priv, err := crypto.UnmarshalEd25519PrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("p2p key: %w", err)
	}
	cm, err := connmgr.NewConnManager(64, 256, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	life, stop := context.WithCancel(context.Background())
	h := &Host{
		cfg: cfg, log: cfg.Logger, node: cfg.Domain, stop: stop,
		topics:   newTopicSet(),
		scores:   newScoreBoard(),
		digests:  newDigestCache(),
		mesh:     newMesh(),
		hints:    newRoomHints(),
		beats:    newBeatTable(),
		outbox:   make(chan *node.Delivery, 4096),
		typing:   make(chan typingOut, 256),
		changed:  make(chan struct{}, 1),
		dirDirty: make(chan struct{}, 1),
		syncWith: make(chan peer.ID, 64),
		fetches:  make(chan struct{}, 8),
		closing:  make(chan struct{}),

		mediaState: newMediaState(cfg.Media),
	}
	opts := []libp2p.Option{
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(cfg.Listen...),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(gater{h}),
		libp2p.EnableNATService(),
		libp2p.EnableAutoNATv2(),
		libp2p.EnableRelay(),
		// Every node offers circuit relay v2 with libp2p's default
		// (small) reservation limits, and a node that AutoNAT finds
		// unreachable reserves slots on the peers it is connected to:
		// home nodes federate through any common public node, and hole
		// punching (DCUtR) upgrades relayed connections when it can.
		libp2p.EnableRelayService(),
		libp2p.EnableAutoRelayWithPeerSource(h.relayCandidates),
		libp2p.EnableHolePunching(),
	}
	if !cfg.DisableDHT {
		opts = append(opts, libp2p.Routing(func(hh host.Host) (routing.PeerRouting, error) {
			d, err := dht.New(hh, dht.ProtocolPrefix(dhtPrefix), dht.Mode(dht.ModeServer))
			h.kad = d
			return d, err
		}))
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		stop()
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	h.host = lh
	h.started.Store(&lh)
	if node.NodeID(lh.ID().String()) != cfg.Domain.ID() {
		h.Close()
		return nil, fmt.Errorf("p2p peer id %s does not match node id %s", lh.ID(), cfg.Domain.ID())
	}
	if h.ps, err = h.newPubSub(life); err != nil {
		h.Close()
		return nil, err
	}
	lh.SetStreamHandler(syncProtocol, h.serveSync)
	if cfg.Media != nil {
		lh.SetStreamHandler(mediaProtocol, h.serveMedia)
	}
	kd, keys := cfg.Domain.(KeyDirectory)
	if keys {
		lh.SetStreamHandler(e2eeProtocol, h.serveE2EE)
	}
	lh.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			select {
			case h.syncWith <- c.RemotePeer():
			default:
			}
			if keys {
				kd.NodeConnected(node.NodeID(c.RemotePeer().String()))
			}
		},
	})
	return h, nil
}

// relayCandidates offers connected peers as relays to AutoRelay.
func (h *Host) relayCandidates(ctx context.Context, num int) <-chan peer.AddrInfo {
	out := make(chan peer.AddrInfo, num)
	defer close(out)
	lh := h.started.Load()
	if lh == nil {
		return out
	}
	for _, p := range (*lh).Network().Peers() {
		if len(out) == num {
			break
		}
		out <- peer.AddrInfo{ID: p, Addrs: (*lh).Peerstore().Addrs(p)}
	}
	return out
}

// ID is the host's peer ID.
func (h *Host) ID() peer.ID { return h.host.ID() }

// LibP2P is the underlying libp2p host, for tests and tools.
func (h *Host) LibP2P() host.Host { return h.host }

// Addrs lists the host's full multiaddrs, each ending in /p2p/<id>.
func (h *Host) Addrs() []string {
	info := peer.AddrInfo{ID: h.host.ID(), Addrs: h.host.Addrs()}
	full, err := peer.AddrInfoToP2pAddrs(&info)
	if err != nil {
		return nil
	}
	out := make([]string, len(full))
	for i, a := range full {
		out[i] = a.String()
	}
	return out
}

// PeerCount is the number of connected peers.
func (h *Host) PeerCount() int { return len(h.host.Network().Peers()) }

// PeerScore is the latest GossipSub score of a peer, sampled every
// ScoreInspectPeriod.
func (h *Host) PeerScore(p peer.ID) (float64, bool) { return h.scores.get(p) }

// Connect dials a peer.
func (h *Host) Connect(ctx context.Context, info peer.AddrInfo) error {
	if err := h.host.Connect(ctx, info); err != nil {
		return fmt.Errorf("connect %s: %w", info.ID, err)
	}
	return nil
}

// Run runs the federation loops (bootstrap redial, topic upkeep, the
// publisher, presence, the directory, anti-entropy, discovery) until ctx
// ends, and waits for them.
func (h *Host) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	loops := []func(context.Context){
		h.runBootstrap, h.runTopics, h.runPublisher, h.runPresence,
		h.runDirectory, h.runAntiEntropy, h.runDiscovery,
	}
	for _, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// goBackground runs a short task owned by the host; Close waits for it.
func (h *Host) goBackground(fn func()) bool {
	h.bgMu.Lock()
	defer h.bgMu.Unlock()
	if h.done {
		return false
	}
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		fn()
	}()
	return true
}

// boundedContext returns a context that ends after d or when the host
// closes, for work started outside Run (pushes, dials, fetches).
func (h *Host) boundedContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	// The watcher ends with ctx, which ends by d at the latest.
	go func() {
		select {
		case <-h.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Close shuts the host down. Run's context should end first.
func (h *Host) Close() error {
	h.bgMu.Lock()
	if !h.done {
		close(h.closing)
	}
	h.done = true
	h.bgMu.Unlock()
	h.stop()
	h.topics.closeAll()
	var err error
	if h.kad != nil {
		err = h.kad.Close()
	}
	if cerr := h.host.Close(); cerr != nil {
		err = cerr
	}
	h.bg.Wait()
	return err
}

// ParsePeer checks a bootstrap multiaddr.
func ParsePeer(s string) (*peer.AddrInfo, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return nil, fmt.Errorf("peer address %q: %w", s, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return nil, fmt.Errorf("peer address %q must end in /p2p/<id>: %w", s, err)
	}
	return info, nil
}

var _ node.Federation = (*Host)(nil)
