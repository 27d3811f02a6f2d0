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

// runDirectory announces this node's public rooms on the directory topic.
func (h *Host) runDirectory(ctx context.Context) {
	first := time.NewTimer(2 * time.Second)
	defer first.Stop()
	tick := time.NewTicker(h.cfg.DirectoryInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-tick.C:
		}
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
