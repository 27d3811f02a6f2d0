// Package p2p connects Hearth nodes over libp2p: the host (TCP and QUIC,
// default secure channels and muxers), gossip of room events and presence,
// history sync streams, and discovery.
package p2p

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearth-chat/hearth/node"
)

// Config configures a Host.
type Config struct {
	// Key is the node key; the host's peer ID is derived from it.
	Key ed25519.PrivateKey
	// Listen are libp2p listen multiaddrs; port 0 picks a free port.
	Listen []string
	// Peers are bootstrap multiaddrs ending in /p2p/<id>.
	Peers []string
	// MDNS enables discovery on the local network.
	MDNS bool
	// Node is the domain the host carries events for.
	Node *node.Node
	// Logger receives structured logs.
	Logger *slog.Logger
}

// Host is a node's libp2p presence.
type Host struct {
	cfg  Config
	log  *slog.Logger
	host host.Host
}

// New starts a libp2p host listening on cfg.Listen.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	priv, err := crypto.UnmarshalEd25519PrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("p2p key: %w", err)
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(cfg.Listen...),
	)
	if err != nil {
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	if cfg.Node != nil && node.NodeID(h.ID().String()) != cfg.Node.ID() {
		h.Close()
		return nil, fmt.Errorf("p2p peer id %s does not match node id %s", h.ID(), cfg.Node.ID())
	}
	return &Host{cfg: cfg, log: cfg.Logger, host: h}, nil
}

// ID is the host's peer ID.
func (h *Host) ID() peer.ID { return h.host.ID() }

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

// Run blocks until ctx ends.
func (h *Host) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Close shuts the host down.
func (h *Host) Close() error { return h.host.Close() }

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
