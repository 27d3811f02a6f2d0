package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/hearth-chat/hearth/node"
)

// newPubSub starts GossipSub v1.1 with peer scoring, strict signing,
// event-ID message IDs and a bounded message size.
func (h *Host) newPubSub(ctx context.Context) (*pubsub.PubSub, error) {
	ps, err := pubsub.NewGossipSub(ctx, h.host,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithMaxMessageSize(maxGossipMessage),
		pubsub.WithPeerExchange(true),
		pubsub.WithFloodPublish(true),
		pubsub.WithValidateQueueSize(validateQueue),
		pubsub.WithRawTracer(dropTracer{h}),
		pubsub.WithRawTracer(h.mesh),
		pubsub.WithPeerScore(scoreParams(h.mediaState.penalties.score), scoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(h.scores.set), h.cfg.ScoreInspectPeriod),
		pubsub.WithLogger(h.log.With("part", "pubsub")),
	)
	if err != nil {
		return nil, fmt.Errorf("start gossipsub: %w", err)
	}
	return ps, nil
}

// validateQueue bounds the gossip messages waiting for validation, and
// those being validated per topic. Validating an event writes it, and a
// write waits out the disk when an fsync stalls (hundreds of
// milliseconds on a busy VM): with GossipSub's 32 and our former 64, a
// stall at 100 messages a second filled both, GossipSub dropped the
// overflow, and the next node got those events only from the next
// anti-entropy round, seconds later (the relayed line's p99 of 2.1 s). A
// message is at most maxGossipMessage, so the bound still caps memory.
const validateQueue = 512

// dropTracer asks the peer a gossip message came from for a sync as soon
// as GossipSub drops the message unvalidated (queue full or throttled),
// instead of leaving it to the periodic anti-entropy round.
type dropTracer struct{ h *Host }

func (t dropTracer) RejectMessage(m *pubsub.Message, reason string) {
	if reason == pubsub.RejectValidationQueueFull || reason == pubsub.RejectValidationThrottled {
		t.h.requestSync(m.ReceivedFrom)
	}
}

func (dropTracer) AddPeer(peer.ID, protocol.ID)                         {}
func (dropTracer) RemovePeer(peer.ID)                                   {}
func (dropTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (dropTracer) OnClosedOutboundStream(peer.ID)                       {}
func (dropTracer) Join(string)                                          {}
func (dropTracer) Leave(string)                                         {}
func (dropTracer) Graft(peer.ID, string)                                {}
func (dropTracer) Prune(peer.ID, string)                                {}
func (dropTracer) ValidateMessage(*pubsub.Message)                      {}
func (dropTracer) DeliverMessage(*pubsub.Message)                       {}
func (dropTracer) DuplicateMessage(*pubsub.Message)                     {}
func (dropTracer) ThrottlePeer(peer.ID)                                 {}
func (dropTracer) RecvRPC(*pubsub.RPC)                                  {}
func (dropTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (dropTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (dropTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (dropTracer) UndeliverableMessage(*pubsub.Message)                 {}

// scoreParams weigh invalid messages heavily (P4): a peer that forwards a
// forged or oversized event falls below the graylist threshold after a
// handful. Mesh delivery rates (P3) are off because rooms are bursty and
// quiet rooms must not look like failing peers. app is the
// application-specific part: penalties for sending wrong media bytes.
func scoreParams(app func(peer.ID) float64) *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		SkipAtomicValidation:        true,
		Topics:                      map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap:               100,
		AppSpecificScore:            app,
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -5,
		IPColocationFactorThreshold: 16,
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 10 * time.Minute,
	}
}

func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation:           true,
		TopicWeight:                    1,
		TimeInMeshWeight:               0.01,
		TimeInMeshQuantum:              time.Second,
		TimeInMeshCap:                  100,
		FirstMessageDeliveriesWeight:   1,
		FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(10 * time.Minute),
		FirstMessageDeliveriesCap:      50,
		InvalidMessageDeliveriesWeight: -100,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
	}
}

func scoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             -100,
		PublishThreshold:            -200,
		GraylistThreshold:           -400,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 3,
	}
}

// scoreBoard keeps the latest sampled peer scores.
type scoreBoard struct {
	mu     sync.Mutex
	scores map[peer.ID]float64
}

func newScoreBoard() *scoreBoard { return &scoreBoard{scores: map[peer.ID]float64{}} }

func (s *scoreBoard) set(m map[peer.ID]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, v := range m {
		s.scores[p] = v
	}
}

func (s *scoreBoard) get(p peer.ID) (float64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.scores[p]
	return v, ok
}

// topicSet holds the joined topics and their reader goroutines.
type topicSet struct {
	mu     sync.Mutex
	topics map[string]*joined
	wg     sync.WaitGroup
	closed bool
}

type joined struct {
	topic  *pubsub.Topic
	sub    *pubsub.Subscription
	cancel context.CancelFunc
}

func newTopicSet() *topicSet { return &topicSet{topics: map[string]*joined{}} }

// join subscribes to a topic once, registering the validator and starting
// a reader that hands delivered messages to read.
func (h *Host) join(name string) (*pubsub.Topic, error) {
	ts := h.topics
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.closed {
		return nil, node.ErrClosed
	}
	if j := ts.topics[name]; j != nil {
		return j.topic, nil
	}
	if len(ts.topics) >= h.cfg.MaxTopics {
		return nil, fmt.Errorf("join %s: already in %d topics, the most this node joins", name, h.cfg.MaxTopics)
	}
	if err := h.ps.RegisterTopicValidator(name, pubsub.ValidatorEx(h.validate),
		pubsub.WithValidatorTimeout(30*time.Second), pubsub.WithValidatorConcurrency(validateQueue)); err != nil {
		return nil, fmt.Errorf("validator for %s: %w", name, err)
	}
	t, err := h.ps.Join(name)
	if err != nil {
		_ = h.ps.UnregisterTopicValidator(name)
		return nil, fmt.Errorf("join %s: %w", name, err)
	}
	if err := t.SetScoreParams(topicScoreParams()); err != nil {
		h.log.Warn("topic score params", "topic", name, "err", err)
	}
	sub, err := t.Subscribe(pubsub.WithBufferSize(256))
	if err != nil {
		t.Close()
		_ = h.ps.UnregisterTopicValidator(name)
		return nil, fmt.Errorf("subscribe %s: %w", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts.topics[name] = &joined{topic: t, sub: sub, cancel: cancel}
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		h.readTopic(ctx, sub)
	}()
	return t, nil
}

// leave unsubscribes from a topic and stops its reader.
func (h *Host) leave(name string) {
	ts := h.topics
	ts.mu.Lock()
	j := ts.topics[name]
	delete(ts.topics, name)
	ts.mu.Unlock()
	if j == nil {
		return
	}
	j.cancel()
	j.sub.Cancel()
	_ = j.topic.Close()
	_ = h.ps.UnregisterTopicValidator(name)
}

func (ts *topicSet) names() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]string, 0, len(ts.topics))
	for n := range ts.topics {
		out = append(out, n)
	}
	return out
}

func (ts *topicSet) get(name string) *pubsub.Topic {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if j := ts.topics[name]; j != nil {
		return j.topic
	}
	return nil
}

func (ts *topicSet) closeAll() {
	ts.mu.Lock()
	ts.closed = true
	all := ts.topics
	ts.topics = map[string]*joined{}
	ts.mu.Unlock()
	for _, j := range all {
		j.cancel()
		j.sub.Cancel()
	}
	ts.wg.Wait()
}

// TopicPeers lists the peers this host sees in a topic's mesh or fanout.
func (h *Host) TopicPeers(name string) []peer.ID {
	if t := h.topics.get(name); t != nil {
		return t.ListPeers()
	}
	return nil
}

// readTopic applies delivered ephemeral messages; events were ingested by
// the validator already.
func (h *Host) readTopic(ctx context.Context, sub *pubsub.Subscription) {
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if m.ReceivedFrom == h.host.ID() || len(m.Data) == 0 {
			continue
		}
		author := m.GetFrom()
		switch m.Data[0] {
		case kindTyping:
			var t typingSignal
			if json.Unmarshal(m.Data[1:], &t) == nil {
				h.node.RemoteTyping(t.Room, t.User, t.Typing)
			}
		case kindPresence:
			var b heartbeat
			if json.Unmarshal(m.Data[1:], &b) == nil {
				h.beats.touch(author, b.TS)
				h.node.SetRemotePresence(node.NodeID(author.String()), b.Online, b.TS)
			}
		case kindDirectory:
			var a announcement
			if json.Unmarshal(m.Data[1:], &a) == nil {
				h.applyAnnouncement(author, &a)
			}
		}
	}
}

// validate is the topic validator: it enforces FEDERATION.md §4 for every
// message before it is delivered or forwarded. Reject penalises the peer
// that forwarded the message; Ignore drops it without penalty.
func (h *Host) validate(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if from == h.host.ID() {
		return pubsub.ValidationAccept // we publish only what we made
	}
	d := m.Data
	if len(d) == 0 {
		return pubsub.ValidationReject
	}
	if !h.federates(m.GetFrom()) || !h.federates(from) {
		// The operator refuses this node: not the forwarder's fault.
		return pubsub.ValidationIgnore
	}
	topic := m.GetTopic()
	author := node.NodeID(m.GetFrom().String())
	switch d[0] {
	case kindEvent:
		return h.validateEvent(ctx, from, topic, d)
	case kindEnvelope:
		return h.validateEnvelope(ctx, from, topic, d)
	case kindTyping:
		var t typingSignal
		room, ok := topicRoom(topic)
		if !ok || len(d) > 1024 || json.Unmarshal(d[1:], &t) != nil || t.Room != room || t.User.Node() != author {
			return pubsub.ValidationReject
		}
		return pubsub.ValidationAccept
	case kindPresence:
		var b heartbeat
		if topic != presenceTopic || len(d) > 64<<10 || json.Unmarshal(d[1:], &b) != nil {
			return pubsub.ValidationReject
		}
		for _, u := range b.Online {
			if u.Node() != author {
				return pubsub.ValidationReject
			}
		}
		return pubsub.ValidationAccept
	case kindDirectory:
		var a announcement
		if topic != directoryTopic || json.Unmarshal(d[1:], &a) != nil || len(a.Rooms) > maxAnnounced {
			return pubsub.ValidationReject
		}
		return pubsub.ValidationAccept
	default:
		return pubsub.ValidationReject
	}
}

func (h *Host) validateEvent(ctx context.Context, from peer.ID, topic string, raw []byte) pubsub.ValidationResult {
	e, err := node.DecodeEvent(raw, time.Now())
	if err != nil {
		h.log.Debug("gossip event rejected", "from", from, "err", err)
		return pubsub.ValidationReject
	}
	room, isRoom := topicRoom(topic)
	switch {
	case isRoom && e.Room != room:
		return pubsub.ValidationReject
	case topic == presenceTopic && e.Type != node.EventProfile:
		return pubsub.ValidationReject
	case !isRoom && topic != presenceTopic:
		return pubsub.ValidationReject
	}
	if isRoom && !h.node.MayGossip(e) {
		// Private rooms never travel on gossip; an honest node never
		// publishes one there, and we will not store what leaked.
		return pubsub.ValidationReject
	}
	return h.ingestResult(ctx, from, e)
}

// ingestResult ingests an event and maps the outcome to a validation
// result. Events whose authorisation is undecidable are held by the node
// (not forwarded) and the sender is asked for the room's history.
func (h *Host) ingestResult(ctx context.Context, from peer.ID, e *node.Event) pubsub.ValidationResult {
	err := h.ingest(ctx, e, "gossip")
	switch {
	case err == nil:
		return pubsub.ValidationAccept
	case errors.Is(err, node.ErrDuplicate), errors.Is(err, node.ErrPolicy):
		return pubsub.ValidationIgnore
	case errors.Is(err, node.ErrPending):
		h.requestSync(from)
		return pubsub.ValidationIgnore
	case errors.Is(err, node.ErrSuperseded):
		// A ban or demotion raced the event: the relay may not have
		// received it yet, so the event is dropped without blame.
		h.log.Debug("event superseded", "event", e.ID, "from", from, "err", err)
		return pubsub.ValidationIgnore
	case errors.Is(err, node.ErrForbidden), errors.Is(err, node.ErrInvalid),
		errors.Is(err, node.ErrTooLarge), errors.Is(err, node.ErrConflict), errors.Is(err, node.ErrNotFound):
		h.log.Debug("event refused", "event", e.ID, "from", from, "err", err)
		return pubsub.ValidationReject
	default:
		h.log.Warn("ingest event", "event", e.ID, "err", err)
		return pubsub.ValidationIgnore
	}
}

// ingest hands an event to the node and keeps the digest cache honest.
// It does not wait for the disk: the event is judged and written, so it
// may be forwarded (gossip) or built on (the next event of a sync batch),
// and what a crash loses before the fsync, sync fetches again. Callers
// that answer for durability wait with node.WaitDurable.
func (h *Host) ingest(ctx context.Context, e *node.Event, path string) error {
	err := h.node.IngestAsync(ctx, e, func(err error) {
		if err != nil {
			h.log.Warn("store event", "event", e.ID, "err", err)
		}
	})
	if err == nil {
		h.observeIn(path, e.TS)
		if e.Room != "" {
			h.digests.invalidate(e.Room)
		}
	}
	return err
}

func (h *Host) requestSync(p peer.ID) {
	select {
	case h.syncWith <- p:
	default:
	}
}

// Topics lists the topics this host is subscribed to.
func (h *Host) Topics() []string { return h.topics.names() }

// validateEnvelope opens a private room's envelope and validates the event
// inside like any other. A node without the epoch's key cannot judge it
// and ignores it (the event also arrives by push).
func (h *Host) validateEnvelope(ctx context.Context, from peer.ID, topic string, d []byte) pubsub.ValidationResult {
	room, ok := topicRoom(topic)
	if !ok {
		return pubsub.ValidationReject
	}
	_, raw, err := h.openEnvelope(ctx, room, d)
	switch {
	case errors.Is(err, errNoKey):
		return pubsub.ValidationIgnore
	case err != nil:
		return pubsub.ValidationReject
	}
	e, err := node.DecodeEvent(raw, time.Now())
	if err != nil || e.Room != room {
		return pubsub.ValidationReject
	}
	return h.ingestResult(ctx, from, e)
}
