package p2p

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Observer is told what federation does, for metrics; cmd/hearth hands in
// a Prometheus one (package metrics). Methods must be cheap and must not
// block.
type Observer interface {
	// EventIn: an event from another node was stored; path is "gossip",
	// "push" or "sync", and lag is its age on arrival (now minus its
	// timestamp), which for "sync" is how far behind the node was.
	EventIn(path string, lag time.Duration)
	// EventOut: a local event was handed to federation.
	EventOut()
	// SyncRound: an anti-entropy round with a peer ended.
	SyncRound(ok bool)
}

type nopObserver struct{}

func (nopObserver) EventIn(string, time.Duration) {}
func (nopObserver) EventOut()                     {}
func (nopObserver) SyncRound(bool)                {}

// mesh follows GossipSub's mesh through its tracer: the peers grafted into
// each topic's mesh, which GossipSub does not expose.
type mesh struct {
	mu     sync.Mutex
	topics map[string]map[peer.ID]struct{}
}

func newMesh() *mesh { return &mesh{topics: map[string]map[peer.ID]struct{}{}} }

// size counts mesh links over all topics, and the topics joined.
func (m *mesh) size() (links, topics int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range m.topics {
		links += len(ps)
	}
	return links, len(m.topics)
}

func (m *mesh) Join(topic string) {
	m.mu.Lock()
	if m.topics[topic] == nil {
		m.topics[topic] = map[peer.ID]struct{}{}
	}
	m.mu.Unlock()
}

func (m *mesh) Leave(topic string) {
	m.mu.Lock()
	delete(m.topics, topic)
	m.mu.Unlock()
}

func (m *mesh) Graft(p peer.ID, topic string) {
	m.mu.Lock()
	if ps := m.topics[topic]; ps != nil {
		ps[p] = struct{}{}
	}
	m.mu.Unlock()
}

func (m *mesh) Prune(p peer.ID, topic string) {
	m.mu.Lock()
	delete(m.topics[topic], p)
	m.mu.Unlock()
}

func (m *mesh) RemovePeer(p peer.ID) {
	m.mu.Lock()
	for _, ps := range m.topics {
		delete(ps, p)
	}
	m.mu.Unlock()
}

func (*mesh) AddPeer(peer.ID, protocol.ID)                         {}
func (*mesh) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (*mesh) OnClosedOutboundStream(peer.ID)                       {}
func (*mesh) ValidateMessage(*pubsub.Message)                      {}
func (*mesh) DeliverMessage(*pubsub.Message)                       {}
func (*mesh) RejectMessage(*pubsub.Message, string)                {}
func (*mesh) DuplicateMessage(*pubsub.Message)                     {}
func (*mesh) ThrottlePeer(peer.ID)                                 {}
func (*mesh) RecvRPC(*pubsub.RPC)                                  {}
func (*mesh) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (*mesh) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*mesh) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (*mesh) UndeliverableMessage(*pubsub.Message)                 {}

// MeshPeers is the number of GossipSub mesh links over all topics.
func (h *Host) MeshPeers() int { l, _ := h.mesh.size(); return l }

// TopicCount is the number of gossip topics joined.
func (h *Host) TopicCount() int { _, t := h.mesh.size(); return t }

// observer returns the host's observer.
func (h *Host) observer() Observer {
	if h.cfg.Observer == nil {
		return nopObserver{}
	}
	return h.cfg.Observer
}

// observeIn reports an event stored from another node.
func (h *Host) observeIn(path string, ts int64) {
	h.observer().EventIn(path, time.Since(time.UnixMilli(ts)))
}
