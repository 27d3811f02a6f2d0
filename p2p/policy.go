package p2p

import (
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearth-chat/hearth/node"
)

// Policy is the federation policy, as the host asks it: the domain
// decides (node.Node.NodeAllowed) and the host enforces at its doors.
type Policy interface {
	NodeAllowed(id node.NodeID) bool
}

// federates reports whether the policy lets p federate.
func (h *Host) federates(p peer.ID) bool {
	return h.cfg.Policy == nil || p == h.host.ID() || h.cfg.Policy.NodeAllowed(node.NodeID(p.String()))
}

// gater is the libp2p ConnectionGater that refuses connections to and
// from the nodes the policy does not allow: before dialling, and once an
// inbound connection's peer is authenticated.
type gater struct{ h *Host }

func (g gater) ok(p peer.ID) bool {
	return g.h.cfg.Policy == nil || g.h.cfg.Policy.NodeAllowed(node.NodeID(p.String()))
}

func (g gater) InterceptPeerDial(p peer.ID) bool                 { return g.ok(p) }
func (g gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.ok(p) }
func (g gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.ok(p)
}
func (g gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// PolicyChanged implements node.PolicyEnforcer: it closes the connections
// to peers the policy no longer allows (the gater keeps them out after).
func (h *Host) PolicyChanged() {
	for _, p := range h.host.Network().Peers() {
		if !h.federates(p) {
			h.log.Info("closing connection to a node the federation policy refuses", "peer", p)
			_ = h.host.Network().ClosePeer(p)
		}
	}
	h.RoomsChanged()
}

var _ node.PolicyEnforcer = (*Host)(nil)
