package p2p

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
)

// Publish queues a durable local event for other nodes. It never blocks:
// when the queue is full the event is left to anti-entropy.
func (h *Host) Publish(e *node.Event) {
	if e.Room != "" {
		h.digests.invalidate(e.Room)
	}
	select {
	case h.outbox <- e:
	default:
		h.log.Debug("outbox full; event left to sync", "event", e.ID)
	}
}

// Typing queues an ephemeral typing signal.
func (h *Host) Typing(room node.RoomID, user node.UserID, typing bool) {
	select {
	case h.typing <- typingSignal{Room: room, User: user, Typing: typing, TS: time.Now().UnixMilli()}:
	default:
	}
}

// RoomsChanged tells the topic loop to resubscribe.
func (h *Host) RoomsChanged() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// runPublisher sends queued events and typing signals.
func (h *Host) runPublisher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-h.outbox:
			h.publishEvent(ctx, e)
		case t := <-h.typing:
			h.publishTyping(ctx, t)
		}
	}
}

// publishEvent gossips a public event on its topic and pushes it directly
// to the nodes gossip may not reach: every host node of a private room (the
// only way private events travel), the node of an invited user, and host
// nodes not yet in the topic's mesh (publish right after subscribing
// reaches no one).
func (h *Host) publishEvent(ctx context.Context, e *node.Event) {
	if e.Room == "" {
		if t, err := h.join(presenceTopic); err == nil {
			_ = t.Publish(ctx, e.Raw)
		}
		return
	}
	vis, ok := h.node.RoomVisibility(e.Room)
	if !ok {
		return
	}
	targets := map[peer.ID]bool{}
	for _, n := range h.node.RoomNodes(e.Room) {
		if p, err := peer.Decode(string(n)); err == nil {
			targets[p] = true
		}
	}
	if e.Type == node.EventMember {
		var c node.MemberContent
		if json.Unmarshal(e.Content, &c) == nil {
			if p, err := peer.Decode(string(c.User.Node())); err == nil {
				targets[p] = true
			}
		}
	}
	delete(targets, h.host.ID())
	if vis == node.Public {
		t, err := h.join(roomTopic(e.Room))
		if err == nil {
			peers := t.ListPeers()
			// With no one in the topic a publish reaches no one, yet
			// GossipSub would still sign the message and verify its own
			// signature (about 13 % of a lone node's CPU under load).
			// A node that subscribes later gets the event by sync.
			if len(peers) > 0 {
				if err := t.Publish(ctx, e.Raw); err != nil {
					h.log.Debug("gossip publish", "event", e.ID, "err", err)
				}
			}
			for _, p := range peers {
				if e.Type != node.EventMember {
					delete(targets, p)
				}
			}
		}
	}
	if vis != node.Public {
		defer h.publishSealed(ctx, e)
	}
	for p := range targets {
		if h.cfg.NoRoomDials && vis == node.Public && h.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		h.enqueuePush(p, e)
	}
}

func (h *Host) publishTyping(ctx context.Context, t typingSignal) {
	s, ok := h.node.RoomState(t.Room)
	if !ok {
		return
	}
	if s.Visibility == node.Public {
		b, err := encodeKind(kindTyping, t)
		if err != nil {
			return
		}
		if tp, err := h.join(roomTopic(t.Room)); err == nil {
			_ = tp.Publish(ctx, b)
		}
		return
	}
	for _, n := range h.node.RoomNodes(t.Room) {
		p, err := peer.Decode(string(n))
		if err != nil || p == h.host.ID() {
			continue
		}
		sig := t
		h.goBackground(func() {
			cctx, cancel := h.boundedContext(5 * time.Second)
			defer cancel()
			_, _ = h.call(cctx, p, &syncRequest{Op: opTyping, Typing: &sig})
		})
	}
}

// wantedTopics are the topics this node should be subscribed to: presence,
// the directory, the topic of every public room it holds and of every
// private room it hosts a member or invitee of.
func (h *Host) wantedTopics() map[string]node.RoomID {
	want := map[string]node.RoomID{presenceTopic: "", directoryTopic: ""}
	rooms := append(h.node.LocalRooms(), h.node.HeldRooms()...)
	slices.Sort(rooms)
	local := h.node.LocalRooms()
	for _, id := range slices.Compact(rooms) {
		s, ok := h.node.RoomState(id)
		if !ok {
			continue
		}
		// Public rooms held here, and private rooms with a local member
		// or invitee (their topic carries only sealed envelopes).
		if s.Visibility == node.Public || slices.Contains(local, id) {
			want[roomTopic(id)] = id
		}
	}
	return want
}

// runTopics keeps the subscriptions in line with the rooms held, and
// syncs every newly subscribed room with connected peers.
func (h *Host) runTopics(ctx context.Context) {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		want := h.wantedTopics()
		have := map[string]bool{}
		for _, n := range h.topics.names() {
			have[n] = true
			if _, ok := want[n]; !ok {
				h.leave(n)
			}
		}
		var fresh []node.RoomID
		for name, room := range want {
			if have[name] {
				continue
			}
			if _, err := h.join(name); err != nil {
				h.log.Warn("join topic", "topic", name, "err", err)
				continue
			}
			if room != "" {
				fresh = append(fresh, room)
			}
		}
		h.connectRoomNodes(ctx)
		h.rotateKeys(ctx)
		if len(fresh) > 0 {
			for _, p := range h.host.Network().Peers() {
				h.requestSync(p)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-h.changed:
		case <-tick.C:
		}
	}
}

// rotateKeys makes sure every private room this node hosts a member of has
// a key for its current nodes, rotating when this node is the rotator.
func (h *Host) rotateKeys(ctx context.Context) {
	for _, room := range h.node.LocalRooms() {
		if s, ok := h.node.RoomState(room); ok && s.Visibility != node.Public {
			h.currentKey(ctx, room)
		}
	}
}
