package p2p

import (
	"context"

	"github.com/hearth-chat/hearth/node"
)

// Domain is what the host needs from the domain service, declared here,
// by its consumer: the host carries events and signals, and asks the
// domain every question of rule (who may read a room, what may travel in
// the clear, which key seals a private room's gossip). *node.Node
// satisfies it; cmd/hearth is where the two are wired together.
//
// While publishing, the host asks nothing: a node.Delivery carries the
// route and the key.
type Domain interface {
	// ID is the node's ID, which must be the host's peer ID.
	ID() node.NodeID
	Ingester
	History
	Rooms
	Presence
}

// Ingester takes what other nodes send.
type Ingester interface {
	// IngestAsync judges and writes an event from another node; durable
	// runs once it is on disk. See node.Node.IngestAsync.
	IngestAsync(ctx context.Context, e *node.Event, durable func(error)) error
	// WaitDurable returns once every write made before the call is on
	// disk.
	WaitDurable(ctx context.Context) error
	// Wants reports whether a pushed event is worth ingesting.
	Wants(e *node.Event) bool
	// MayGossip reports whether an event may travel on gossip in the
	// clear.
	MayGossip(e *node.Event) bool
	// RoomKey is the key of one epoch of a private room, to open the
	// sealed envelopes of its gossip.
	RoomKey(ctx context.Context, room node.RoomID, epoch uint32) ([]byte, bool)
}

// History serves and repairs rooms' histories: the sync protocol.
type History interface {
	// ReadableBy reports whether a node may read a room's events.
	ReadableBy(room node.RoomID, reader node.NodeID) bool
	EventRefsAfter(ctx context.Context, room node.RoomID, from node.OrderKey, limit int) ([]node.EventRef, bool, error)
	EventRefsBefore(ctx context.Context, room node.RoomID, before node.OrderKey, limit int) ([]node.EventRef, bool, error)
	Events(ctx context.Context, room node.RoomID, ids []node.EventID) ([]*node.Event, error)
	HasEvent(ctx context.Context, id node.EventID) (bool, error)
	// StateEventIDs lists the events a joiner needs to judge the room.
	StateEventIDs(room node.RoomID) []node.EventID
	RoomDigestBytes(ctx context.Context, room node.RoomID, from node.OrderKey) ([]byte, error)
	SyncFloor(ctx context.Context, room node.RoomID) (node.OrderKey, error)
	// HistoryComplete reports whether this node holds a room's whole
	// history; SetHistoryComplete records it after a windowed join.
	HistoryComplete(room node.RoomID) bool
	SetHistoryComplete(ctx context.Context, room node.RoomID, complete bool) error
}

// Rooms says which rooms to follow, whom to dial and what to announce.
type Rooms interface {
	// GossipRooms lists the rooms whose topics this node follows.
	GossipRooms() []node.RoomID
	// LocalRooms lists the rooms with a local member or invitee.
	LocalRooms() []node.RoomID
	// HeldRooms lists every room this node holds.
	HeldRooms() []node.RoomID
	// RoomNodes lists the nodes hosting a member or invitee of a room.
	RoomNodes(room node.RoomID) []node.NodeID
	// RoomVisibility reports a held room's visibility.
	RoomVisibility(room node.RoomID) (string, bool)
	// PublicRoomViews lists this node's public rooms for the directory.
	PublicRoomViews() []*node.Room
	// AnnounceRoom lists a room another node announced.
	AnnounceRoom(r *node.Room)
}

// Presence carries presence, typing and profiles.
type Presence interface {
	OnlineUsers() []node.UserID
	SetRemotePresence(origin node.NodeID, online []node.UserID, at int64)
	RemoteTyping(room node.RoomID, u node.UserID, typing bool)
	// LocalUsers and ProfileEvent announce local profiles to a new peer.
	LocalUsers(ctx context.Context, limit int) ([]node.UserID, error)
	ProfileEvent(ctx context.Context, u node.UserID) (*node.Event, error)
}
