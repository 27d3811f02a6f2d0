package p2p

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearth-chat/hearth/node"
)

// maxAnnounced bounds the rooms in one directory announcement.
const maxAnnounced = 500

// roomHints remembers which nodes announced which public rooms, so a join
// by room ID knows whom to ask.
type roomHints struct {
	mu sync.Mutex
	m  map[node.RoomID]map[peer.ID]time.Time
}

func newRoomHints() *roomHints { return &roomHints{m: map[node.RoomID]map[peer.ID]time.Time{}} }

func (r *roomHints) add(room node.RoomID, p peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[room] == nil {
		if len(r.m) >= 10000 {
			return
		}
		r.m[room] = map[peer.ID]time.Time{}
	}
	if len(r.m[room]) < 16 {
		r.m[room][p] = time.Now()
	}
}

func (r *roomHints) peers(room node.RoomID) []peer.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []peer.ID
	for p := range r.m[room] {
		out = append(out, p)
	}
	return out
}

func (h *Host) applyAnnouncement(author peer.ID, a *announcement) {
	for _, r := range a.Rooms {
		h.node.AnnounceRoom(r)
		h.hints.add(r.ID, author)
	}
	var addrs []ma.Multiaddr
	for _, s := range a.Addrs {
		if m, err := ma.NewMultiaddr(s); err == nil {
			if info, err := peer.AddrInfoFromP2pAddr(m); err == nil && info.ID == author {
				addrs = append(addrs, info.Addrs...)
			}
		}
		if len(addrs) >= 16 {
			break
		}
	}
	if len(addrs) > 0 && author != h.host.ID() {
		h.host.Peerstore().AddAddrs(author, addrs, 10*time.Minute)
	}
}

// directoryGap is the least time between two announcements prompted by
// room changes: a burst of joins and renames shares one announcement, and
// a busy node announces at most this often on top of its interval.
const directoryGap = 2 * time.Second

// runDirectory announces this node's public rooms on the directory topic:
// on every DirectoryInterval tick, and soon after a room changes, so a
// room created here shows in other nodes' directories within seconds
// rather than at the next tick (it used to take up to 30 s).
func (h *Host) runDirectory(ctx context.Context) {
	first := time.NewTimer(2 * time.Second)
	defer first.Stop()
	tick := time.NewTicker(h.cfg.DirectoryInterval)
	defer tick.Stop()
	soon := time.NewTimer(time.Hour)
	soon.Stop()
	defer soon.Stop()
	var (
		last    time.Time
		pending bool // soon is set; later changes ride on it
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.dirDirty:
			if !pending {
				pending = true
				soon.Reset(max(directoryGap-time.Since(last), 200*time.Millisecond))
			}
			continue
		case <-first.C:
		case <-tick.C:
		case <-soon.C:
			pending = false
		}
		last = time.Now()
		rooms := h.node.PublicRoomViews()
		if len(rooms) == 0 {
			continue
		}
		if len(rooms) > maxAnnounced {
			rooms = rooms[:maxAnnounced]
		}
		b, err := encodeKind(kindDirectory, announcement{Rooms: rooms, Addrs: h.Addrs(), TS: time.Now().UnixMilli()})
		if err != nil {
			continue
		}
		if t, err := h.join(directoryTopic); err == nil {
			_ = t.Publish(ctx, b)
		}
	}
}

var _ = peerstore.TempAddrTTL
