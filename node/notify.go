package node

import "context"

// Notification kinds, one per server frame type of API.md §4.
const (
	NoteMessage  = "message"
	NoteUpdate   = "update"
	NoteRoom     = "room"
	NotePresence = "presence"
	NoteTyping   = "typing"
	NoteReceipt  = "receipt"
	NoteMember   = "member"
	// NoteDevice wakes the connections of one device (Device, or every
	// device of the user when empty) to read again what Poke names
	// (PokeToDevice, PokeDeviceLists, PokeKeyCounts); it carries no
	// frame of its own.
	NoteDevice   = "device"
	NoteReaction = "reaction"
	// NoteSettings carries a user's notification settings to all their
	// connections after a change, so every open tab follows it.
	NoteSettings = "notifications"
)

// Notification is something live that local users should see. The web
// layer turns it into one frame, encodes it once and fans it out.
type Notification struct {
	Kind     string
	Message  *Message // message, update
	Room     *Room    // room
	RoomID   RoomID   // typing, receipt, member, reaction
	User     UserID   // presence, typing, receipt, member, reaction
	Presence string   // presence
	LastSeen int64    // presence
	Typing   bool     // typing
	UpTo     EventID  // receipt
	Receipt  string   // receipt kind: delivered or read
	// Membership is the member's new state (join, leave, invite, kick,
	// ban) and MemberCount the room's joined members after it (member).
	Membership  string
	MemberCount int
	Device      DeviceID // device
	Poke        int      // device: what to read again
	// A reaction note says that User now shows (On) or no longer shows
	// Emoji on message MessageID, which Count users show: a delta, so a
	// reaction never re-sends the message.
	MessageID EventID
	Emoji     string
	On        bool
	Count     int
	// Settings are the user's notification settings (notifications).
	Settings *NotifySettings
	// Delivered asks the notifier to report, through Node.Delivered, that
	// a message reached a connection of a recipient. Set only in small
	// rooms, where per-recipient receipts are worth their cost.
	Delivered bool
}

// Notifier delivers notifications to the connections of local users. It
// must not block: a connection that cannot keep up is dropped by the
// notifier, never allowed to stall the node. It may deliver after it
// returns, keeping to and n: callers hand them over and do not change
// them afterwards.
type Notifier interface {
	Notify(to []UserID, n *Notification)
}

// Federation carries events and ephemeral signals to other nodes. The p2p
// package implements it; a node without peers uses a no-op.
type Federation interface {
	// Publish carries an event that this node has durably stored, as its
	// route says. It must not block, nor call back into the node.
	Publish(d *Delivery)
	// Typing sends an ephemeral typing signal along a room's route.
	Typing(r *Route, user UserID, typing bool)
	// RoomsChanged tells the transport that the set of rooms with local
	// members changed, so it can subscribe to or leave topics, or that a
	// room's name or topic changed, so it can announce the directory.
	RoomsChanged()
	// FetchRoom asks peers for a room this node does not hold yet (a user
	// joins a remote room by ID) and ingests what they send. It returns
	// once the room's create event and membership have been ingested, or
	// an error wrapping ErrNotFound when no peer has the room.
	FetchRoom(ctx context.Context, room RoomID) error
}

type nopNotifier struct{}

func (nopNotifier) Notify([]UserID, *Notification) {}

type nopFederation struct{}

func (nopFederation) Publish(*Delivery)           {}
func (nopFederation) Typing(*Route, UserID, bool) {}
func (nopFederation) RoomsChanged()               {}
func (nopFederation) FetchRoom(context.Context, RoomID) error {
	return errorf(ErrNotFound, "no such room")
}
