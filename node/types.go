package node

import (
	"encoding/json"
	"time"
)

// Account is a local user's credentials. It never leaves the node.
type Account struct {
	Username     string    `json:"username"`
	PasswordHash string    `json:"passwordHash"`
	CreatedAt    time.Time `json:"createdAt"`
	// Admin makes the user a node admin (admin.go).
	Admin bool `json:"admin,omitempty"`
	// Locked refuses the user's logins; locking ends their sessions.
	Locked bool `json:"locked,omitempty"`
	// Deleted marks an erased account: the username stays taken so
	// that nobody can inherit the user ID, and nothing else is kept.
	Deleted bool `json:"deleted,omitempty"`
}

// User is the public view of a user, local or remote, as API.md defines it.
type User struct {
	ID          UserID `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	Avatar      string `json:"avatar,omitempty"`
	Node        NodeID `json:"node"`
	Presence    string `json:"presence,omitempty"`
	LastSeen    int64  `json:"lastSeen,omitempty"`
}

// Session is one login: a refresh-token chain and the access tokens minted
// from it. Revoking the session ends them all.
type Session struct {
	ID        string    `json:"id"`
	User      UserID    `json:"user"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Refresh is the hash of the one refresh token that is valid now.
	Refresh string `json:"refresh"`
	// DeviceID is the device the session belongs to (API.md §7).
	DeviceID DeviceID `json:"deviceId,omitempty"`
	// Spent are the hashes of the session's last MaxSpentRefresh spent
	// refresh tokens, whose records are kept so that reuse is detected;
	// older ones are forgotten (presenting one is then merely invalid).
	Spent []string `json:"spent,omitempty"`
	// Ended, set by NewSession only, lists the user's older sessions it
	// ended to stay within SessionsPerUser.
	Ended []string `json:"-"`
}

// RefreshRecord remembers a refresh token (by hash) so that a reused,
// already rotated token is recognised and revokes its session.
type RefreshRecord struct {
	Session string    `json:"session"`
	Used    bool      `json:"used"`
	Expires time.Time `json:"expires"`
}

// Room kinds and visibilities.
const (
	KindGroup = "group"
	KindDM    = "dm"

	Public  = "public"
	Private = "private"
)

// Membership states.
const (
	MemberJoin   = "join"
	MemberInvite = "invite"
	MemberLeave  = "leave"
	MemberKick   = "kick"
	MemberBan    = "ban"
	MemberRole   = "role"
)

// Roles, from least to most powerful (RoleModerator, between member and
// admin, is in powers.go).
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
	RoleOwner  = "owner"
)

// Room is the API view of a room.
type Room struct {
	ID         RoomID `json:"id"`
	Name       string `json:"name"`
	Topic      string `json:"topic,omitempty"`
	Kind       string `json:"kind"`
	Visibility string `json:"visibility"`
	// Members lists the joined members, all of them in a room of at most
	// MaxListedMembers; MemberCount is how many there are.
	Members     []UserID `json:"members"`
	MemberCount int      `json:"memberCount"`
	CreatedBy   UserID   `json:"createdBy"`
	CreatedAt   int64    `json:"createdAt"`
	LastMessage *Message `json:"lastMessage,omitempty"`
	Unread      *int     `json:"unread,omitempty"`
	// Mentions counts the unread messages that mention the caller (API.md
	// §9), by name or as a mention of the whole room.
	Mentions        *int `json:"mentions,omitempty"`
	HistoryComplete bool `json:"historyComplete"`
	// Invited lists pending invites; it is shown to members only.
	Invited []UserID `json:"invited,omitempty"`
	// Encrypted is true once the room is end-to-end encrypted (API.md
	// §7); it is never turned off.
	Encrypted bool `json:"encrypted"`
	// Avatar is the room's avatar, a media ID.
	Avatar string `json:"avatar,omitempty"`
	// Roles maps the joined members above member to their role (API.md
	// §8), at most MaxListedRoles of them, the highest ranked first.
	Roles map[UserID]string `json:"roles"`
	// PostingRole is the lowest role that may post.
	PostingRole string `json:"postingRole"`
	// Powers is the whole powers table (group rooms): for each power the
	// lowest role that holds it.
	Powers Powers `json:"powers,omitempty"`
	// Pinned lists the pinned messages, most recently pinned first.
	Pinned []EventID `json:"pinned"`
}

// Message is the API view of a message with edits, deletion and reactions
// applied. Reactions and ThreadCount come from the message's Aggregates,
// which the store keeps apart from the message record.
type Message struct {
	ID          EventID           `json:"id"`
	Room        RoomID            `json:"room"`
	Sender      UserID            `json:"sender"`
	Body        string            `json:"body"`
	TS          int64             `json:"ts"`
	ReplyTo     EventID           `json:"replyTo,omitempty"`
	Thread      EventID           `json:"thread,omitempty"`
	ClientID    string            `json:"clientId,omitempty"`
	EditedAt    int64             `json:"editedAt,omitempty"`
	Deleted     bool              `json:"deleted,omitempty"`
	Attachments []json.RawMessage `json:"attachments,omitempty"`
	// Encrypted is the m.room.encrypted content of a message of an
	// encrypted room (its Body is then empty).
	Encrypted json.RawMessage `json:"encrypted,omitempty"`
	// Mentions lists the users the message mentions; MentionsRoom is a
	// mention of every member (API.md §9, mentions.go).
	Mentions     []UserID   `json:"mentions,omitempty"`
	MentionsRoom bool       `json:"mentionsRoom,omitempty"`
	Reactions    []Reaction `json:"reactions,omitempty"`
	ThreadCount  int        `json:"threadCount,omitempty"`

	// Order is the message's position in its room. It and the field
	// below are bookkeeping kept by the store, not part of the API.
	Order OrderKey `json:"-"`
	// EditOrder is the position of the edit that set Body, so a late edit
	// that arrives after a newer one does not win.
	EditOrder OrderKey `json:"-"`
}

// Receipt is a user's read marker in a room.
type Receipt struct {
	User  UserID   `json:"user"`
	UpTo  EventID  `json:"upTo"`
	Kind  string   `json:"kind"`
	TS    int64    `json:"ts"`
	Order OrderKey `json:"-"`
}
