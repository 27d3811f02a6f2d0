package p2p

import (
	"context"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
)

// Publish queues a durable local event for other nodes, with the route
// the domain fixed for it. It never blocks: when the queue is full the
// event is left to anti-entropy.
func (h *Host) Publish(d *node.Delivery) {
	if d.Event.Room != "" {
		h.digests.invalidate(d.Event.Room)
	}
	h.observer().EventOut()
	select {
	case h.outbox <- d:
	default:
		h.log.Debug("outbox full; event left to sync", "event", d.Event.ID)
	}
}

// typingOut is a typing signal with its room's route.
type typingOut struct {
	route  *node.Route
	signal typingSignal
}

// Typing queues an ephemeral typing signal.
func (h *Host) Typing(r *node.Route, user node.UserID, typing bool) {
	select {
	case h.typing <- typingOut{route: r, signal: typingSignal{Room: r.Room, User: user, Typing: typing, TS: time.Now().UnixMilli()}}:
	default:
	}
}

// RoomsChanged tells the topic loop to resubscribe, and the directory to
// announce the public rooms again soon (one may be new or renamed).
func (h *Host) RoomsChanged() {
	h.wakeTopics()
	select {
	case h.dirDirty <- struct{}{}:
	default:
	}
}

// wakeTopics tells the topic loop (runTopics) to bring the subscriptions
// in line with the rooms again.
func (h *Host) wakeTopics() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// roomTopicToPublish is the topic a room's event or signal is published
// on, joined now if it was not: a new room's first events would otherwise
// wait for the topic loop to subscribe. Which topics are held is the topic
// loop's decision, though, and it may have made it before this join: at
// MaxTopics this room may not be one to keep, and its topic would keep a
// room that comes before it out until the loop's next pass. So a topic
// joined here wakes the loop, which leaves it again if it is not wanted.
func (h *Host) roomTopicToPublish(room node.RoomID) (*pubsub.Topic, error) {
	name := roomTopic(room)
	if t := h.topics.get(name); t != nil {
		return t, nil
	}
	t, err := h.join(name)
	if err == nil {
		h.wakeTopics()
	}
	return t, err
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

// publishEvent carries one local event as its delivery says, asking the
// domain nothing: a public event is gossiped on its room's topic; every
// node of the route that gossip may not reach gets it pushed directly (all
// of a private room's nodes, the only way its events are sure to travel;
// a node named by a member event; public rooms' nodes not yet in the
// topic's mesh, as a publish right after subscribing reaches no one); and
// a private event is also gossiped sealed, when the delivery has a key.
func (h *Host) publishEvent(ctx context.Context, d *node.Delivery) {
	e := d.Event
	if e.Room == "" {
		if t, err := h.join(presenceTopic); err == nil {
			_ = t.Publish(ctx, e.Raw)
		}
		return
	}
	targets := map[peer.ID]bool{}
	for _, n := range d.Nodes {
		if p, err := peer.Decode(string(n)); err == nil && p != h.host.ID() {
			targets[p] = true
		}
	}
	public := d.Visibility == node.Public
	if public {
		t, err := h.roomTopicToPublish(e.Room)
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
	for p := range targets {
		if h.cfg.NoRoomDials && public && h.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		h.enqueuePush(p, e)
	}
	if !public && d.Key != nil {
		h.publishSealed(ctx, e, d.Key)
	}
}

func (h *Host) publishTyping(ctx context.Context, t typingOut) {
	if t.route.Visibility == node.Public {
		b, err := encodeKind(kindTyping, t.signal)
		if err != nil {
			return
		}
		if tp, err := h.roomTopicToPublish(t.signal.Room); err == nil {
			_ = tp.Publish(ctx, b)
		}
		return
	}
	for _, n := range t.route.Nodes {
		p, err := peer.Decode(string(n))
		if err != nil || p == h.host.ID() {
			continue
		}
		sig := t.signal
		h.goBackground(func() {
			cctx, cancel := h.boundedContext(5 * time.Second)
			defer cancel()
			_, _ = h.call(cctx, p, &syncRequest{Op: opTyping, Typing: &sig})
		})
	}
}

// wantedTopics are the topics this node should be subscribed to: presence,
// the directory and the topics of the rooms the domain says to follow, at
// most MaxTopics in all: the domain lists the rooms with local members or
// invitees first, so those keep their topics.
func (h *Host) wantedTopics() map[string]node.RoomID {
	want := map[string]node.RoomID{presenceTopic: "", directoryTopic: ""}
	for _, id := range h.node.GossipRooms() {
		if len(want) >= h.cfg.MaxTopics {
			break
		}
		want[roomTopic(id)] = id
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
