package p2p

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
)

// beatTable remembers when each node last sent a heartbeat.
type beatTable struct {
	mu   sync.Mutex
	last map[peer.ID]beat
}

type beat struct {
	seen time.Time // local receive time
	ts   int64     // the heartbeat's own ts
}

func newBeatTable() *beatTable { return &beatTable{last: map[peer.ID]beat{}} }

func (b *beatTable) touch(p peer.ID, ts int64) {
	b.mu.Lock()
	b.last[p] = beat{seen: time.Now(), ts: ts}
	b.mu.Unlock()
}

// expired removes and returns the nodes silent for longer than timeout.
func (b *beatTable) expired(timeout time.Duration) map[peer.ID]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[peer.ID]int64{}
	for p, v := range b.last {
		if time.Since(v.seen) > timeout {
			out[p] = v.seen.UnixMilli()
			delete(b.last, p)
		}
	}
	return out
}

// runPresence announces this node's online users (at once when the set
// changes, else every HeartbeatInterval) and takes the users of nodes that
// fell silent offline.
func (h *Host) runPresence(ctx context.Context) {
	tick := time.NewTicker(min(time.Second, h.cfg.HeartbeatInterval))
	defer tick.Stop()
	var prev []node.UserID
	var sent time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		online := h.node.OnlineUsers()
		slices.Sort(online)
		if !slices.Equal(online, prev) || time.Since(sent) >= h.cfg.HeartbeatInterval {
			if h.publishHeartbeat(ctx, online) {
				prev, sent = online, time.Now()
			}
		}
		for p, at := range h.beats.expired(h.cfg.PresenceTimeout) {
			h.node.SetRemotePresence(node.NodeID(p.String()), nil, at)
		}
	}
}

func (h *Host) publishHeartbeat(ctx context.Context, online []node.UserID) bool {
	t, err := h.join(presenceTopic)
	if err != nil {
		return false
	}
	if online == nil {
		online = []node.UserID{}
	}
	b, err := encodeKind(kindPresence, heartbeat{Online: online, TS: time.Now().UnixMilli()})
	if err != nil {
		return false
	}
	return t.Publish(ctx, b) == nil
}
