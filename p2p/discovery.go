package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"

	"github.com/hearth-chat/hearth/node"
)

// mdnsService is the mDNS service name of Hearth nodes.
const mdnsService = "hearth"

// runBootstrap keeps the --peer connections up, redialling a lost one with
// exponential backoff (1s doubling to 1 minute).
//
// Why not boxo's peering service (github.com/ipfs/boxo/peering), which
// keeps a set of peers connected: its backoff is fixed in constants, a
// first redial after 5 to 12 s and up to 10 minutes between tries, while
// docs/protocol.md §1 promises 1 s to 1 minute (a chat node whose peer
// restarts should be back within seconds); it logs through go-log's
// process-wide logger rather than the host's slog; and its reconnect
// timers are goroutines that Stop does not wait for, so the leak check
// of the tests that start hosts would need exceptions. This loop is
// owned by Run, like every other, and is short.
func (h *Host) runBootstrap(ctx context.Context) {
	type state struct {
		info  peer.AddrInfo
		next  time.Time
		delay time.Duration
	}
	var peers []*state
	for _, s := range h.cfg.Peers {
		info, err := ParsePeer(s)
		if err != nil {
			h.log.Warn("bootstrap peer", "addr", s, "err", err)
			continue
		}
		peers = append(peers, &state{info: *info, delay: time.Second})
	}
	if len(peers) == 0 {
		return
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, p := range peers {
			if h.host.Network().Connectedness(p.info.ID) == network.Connected {
				p.delay = time.Second
				continue
			}
			if time.Now().Before(p.next) {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := h.host.Connect(cctx, p.info)
			cancel()
			if err != nil {
				h.log.Debug("bootstrap dial", "peer", p.info.ID, "err", err, "retry", p.delay)
				p.next = time.Now().Add(p.delay)
				p.delay = min(2*p.delay, time.Minute)
				continue
			}
			h.host.ConnManager().Protect(p.info.ID, "hearth-bootstrap")
			h.log.Info("peer connected", "peer", p.info.ID)
			if h.kad != nil {
				h.kad.RefreshRoutingTable()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// runDiscovery runs mDNS when enabled and, with the DHT, advertises this
// node as a provider of its public rooms' topics (rendezvous) every few
// minutes.
func (h *Host) runDiscovery(ctx context.Context) {
	if h.cfg.MDNS {
		svc := mdns.NewMdnsService(h.host, mdnsService, mdnsNotifee{h})
		if err := svc.Start(); err != nil {
			h.log.Warn("mdns", "err", err)
		} else {
			defer svc.Close()
		}
	}
	if h.kad == nil {
		<-ctx.Done()
		return
	}
	disc := drouting.NewRoutingDiscovery(h.kad)
	first := time.NewTimer(time.Second)
	defer first.Stop()
	tick := time.NewTicker(3 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-tick.C:
		}
		if len(h.host.Network().Peers()) == 0 {
			first.Reset(5 * time.Second)
			continue
		}
		for _, id := range h.node.LocalRooms() {
			if vis, ok := h.node.RoomVisibility(id); ok && vis == node.Public {
				actx, cancel := context.WithTimeout(ctx, 10*time.Second)
				if _, err := disc.Advertise(actx, roomTopic(id)); err != nil {
					h.log.Debug("advertise room", "room", id, "err", err)
				}
				cancel()
			}
		}
	}
}

// findProviders looks up the nodes that advertised a topic in the DHT.
func (h *Host) findProviders(ctx context.Context, topic string, timeout time.Duration) []peer.ID {
	if h.kad == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch, err := drouting.NewRoutingDiscovery(h.kad).FindPeers(ctx, topic)
	if err != nil {
		return nil
	}
	var out []peer.ID
	for info := range ch {
		if info.ID == h.host.ID() || info.ID == "" {
			continue
		}
		if len(info.Addrs) > 0 {
			h.host.Peerstore().AddAddrs(info.ID, info.Addrs, 10*time.Minute)
		}
		out = append(out, info.ID)
	}
	return out
}

// connectRoomNodes dials the nodes that host members of this node's rooms
// (by peer ID: the DHT finds their addresses through any common peer), so
// that rooms do not depend on a path of interested relays.
func (h *Host) connectRoomNodes(ctx context.Context) {
	want := map[peer.ID]bool{}
	for _, room := range h.node.LocalRooms() {
		if vis, ok := h.node.RoomVisibility(room); h.cfg.NoRoomDials && ok && vis == node.Public {
			continue
		}
		for _, n := range h.node.RoomNodes(room) {
			if p, err := peer.Decode(string(n)); err == nil && p != h.host.ID() {
				want[p] = true
			}
		}
	}
	for p := range want {
		h.host.ConnManager().Protect(p, "hearth-room")
		if h.host.Network().Connectedness(p) == network.Connected {
			continue
		}
		h.goBackground(func() {
			cctx, cancel := h.boundedContext(10 * time.Second)
			defer cancel()
			if err := h.host.Connect(cctx, peer.AddrInfo{ID: p}); err != nil {
				h.log.Debug("dial room node", "peer", p, "err", err)
			}
		})
	}
}

type mdnsNotifee struct{ h *Host }

func (n mdnsNotifee) HandlePeerFound(info peer.AddrInfo) {
	if info.ID == n.h.host.ID() {
		return
	}
	n.h.goBackground(func() {
		ctx, cancel := n.h.boundedContext(10 * time.Second)
		defer cancel()
		_ = n.h.host.Connect(ctx, info)
	})
}
