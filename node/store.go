package node

import (
	"context"
	"time"
)

// Store is the persistence the node needs. store.DB implements it on
// Badger and store/memstore in memory; store/storetest is the conformance
// suite that both pass, and that states the contract in tests.
//
// Update commits a transaction without waiting for the disk. Durable then
// promises the disk: every Update that returned before Durable was called
// is synced when fn runs. Callbacks run in the order Durable was called,
// which is how the node keeps live delivery in room order while many
// senders share one fsync (group commit).
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Durable(fn func(error))
}

// Tx is one transaction's view of the store, in domain terms. Getters
// return an error wrapping ErrNotFound for absent keys.
type Tx interface {
	// Accounts and profiles.
	Account(username string) (*Account, error)
	PutAccount(a *Account) error
	Profile(id UserID) (*User, error)
	PutProfile(u *User) error
	// EachProfile visits profiles in ID order until fn returns false.
	EachProfile(fn func(*User) bool) error

	// Sessions and refresh tokens (by hash).
	Session(id string) (*Session, error)
	PutSession(s *Session) error
	DeleteSession(id string) error
	EachSessionOf(user UserID, fn func(*Session) bool) error
	Refresh(hash string) (*RefreshRecord, error)
	PutRefresh(hash string, r *RefreshRecord) error
	DeleteRefresh(hash string) error
	// DeleteSession also deletes the refresh records the session names
	// (Refresh and Spent).

	// Events: the signed wire form by ID, and each room's events in order.
	HasEvent(id EventID) (bool, error)
	Event(id EventID) (*Event, error)
	PutEvent(e *Event) error
	// EachEventAfter visits a room's events after order key from (nil for
	// all) in room order until fn returns false.
	EachEventAfter(room RoomID, from OrderKey, fn func(id EventID, order OrderKey) bool) error
	// DeleteEvent removes the event at order key o of a room and its
	// place in room order; deleting an absent event is not an error. The
	// node deletes an event that an earlier one, arriving late, made
	// invalid (revalidate.go), so that nodes holding the same valid
	// events hold the same set.
	DeleteEvent(room RoomID, o OrderKey) error

	// Rooms: derived state snapshots. PutRoomState stores a room's
	// metadata, not its History: each member's history is stored apart
	// with PutMember (nil deletes it), so that a membership change writes
	// one member's, whatever the room's size. RoomState and EachRoomState
	// return both together.
	RoomState(id RoomID) (*RoomState, error)
	PutRoomState(s *RoomState) error
	PutMember(room RoomID, u UserID, h []MemberChange) error
	EachRoomState(fn func(*RoomState) bool) error

	// Messages: the API view, keyed by room order. Message and the page
	// readers fill Reactions (without Me) and ThreadCount from the
	// message's Aggregates; PutMessage ignores those two fields. A page
	// read costs O(limit), however often the messages were rewritten.
	Message(id EventID) (*Message, error)
	PutMessage(m *Message) error
	// DeleteMessage removes a message view and its indexes (by ID, in
	// room order, in its thread, its clientId); an absent one is not an
	// error.
	DeleteMessage(m *Message) error
	// Messages returns up to limit messages of a room older than before
	// (nil for newest), newest first, and whether more exist.
	Messages(room RoomID, before OrderKey, limit int) ([]*Message, bool, error)
	// ThreadMessages is Messages for the replies of one thread root.
	ThreadMessages(room RoomID, root EventID, before OrderKey, limit int) ([]*Message, bool, error)
	// CountMessagesAfter counts a room's messages after order key from, not
	// sent by skip, stopping at max.
	CountMessagesAfter(room RoomID, from OrderKey, skip UserID, max int) (int, error)
	// CountMentionsAfter counts a room's live (not deleted) messages after
	// order key from that mention u, by name or as the whole room, not
	// sent by u, stopping at max. PutMessage keeps the index it reads
	// when it stores a new message (Mentions, MentionsRoom).
	CountMentionsAfter(room RoomID, u UserID, from OrderKey, max int) (int, error)

	// Aggregates of a message (thread replies, reaction slots), one user's
	// reaction keys on a message, and the register of one (message, key,
	// user); see reaction.go. Each is a small record of its own.
	Aggregates(msg EventID) (*Aggregates, error)
	PutAggregates(msg EventID, a *Aggregates) error
	UserReactions(msg EventID, u UserID) (*UserReactions, error)
	PutUserReactions(msg EventID, u UserID, r *UserReactions) error
	ReactionState(msg EventID, key string, u UserID) (*ReactionState, error)
	PutReactionState(msg EventID, key string, u UserID, s *ReactionState) error
	// EachReactionState visits the registers of one key of a message in
	// user ID order until fn returns false.
	EachReactionState(msg EventID, key string, fn func(UserID, *ReactionState) bool) error

	// Idempotency of sends: (user, room, clientId) → message ID.
	ClientMessage(user UserID, room RoomID, clientID string) (EventID, error)
	PutClientMessage(user UserID, room RoomID, clientID string, id EventID, ttl time.Duration) error

	// Read markers.
	Receipt(room RoomID, user UserID) (*Receipt, error)
	PutReceipt(room RoomID, r *Receipt) error
	Receipts(room RoomID) ([]*Receipt, error)

	// Room keys: the index of a private room's key epochs, so that the
	// current key is found without reading the room's history.
	RoomKeyRef(room RoomID, epoch uint32) (*RoomKeyRef, error)
	PutRoomKeyRef(k *RoomKeyRef) error
	// LatestRoomKeyRef returns the entry of the room's highest epoch.
	LatestRoomKeyRef(room RoomID) (*RoomKeyRef, error)

	// The key directory and the mailboxes of end-to-end encryption.
	KeyTx

	// Media: what the node knows of each file, and the references
	// (uploads, attachments, avatars) that keep it and grant access.
	MediaRecord(id MediaID) (*MediaRecord, error)
	PutMediaRecord(m *MediaRecord) error
	DeleteMediaRecord(id MediaID) error
	// EachMediaRecord visits records in ID order after after ("" for
	// the first) until fn returns false.
	EachMediaRecord(after MediaID, fn func(*MediaRecord) bool) error
	MediaRef(id MediaID, kind, target string) (*MediaRef, error)
	// PutMediaRef adds or replaces the reference (id, kind, target).
	PutMediaRef(r *MediaRef) error
	DeleteMediaRef(id MediaID, kind, target string) error
	// EachMediaRef visits a file's references until fn returns false.
	EachMediaRef(id MediaID, fn func(*MediaRef) bool) error
	// MediaUsage sums the sizes of a user's upload references.
	MediaUsage(u UserID) (int64, error)
	// Node administration (adminstore.go).
	AdminTx
	// Notification settings, push subscriptions and the push outbox
	// (notifications.go, push.go).
	NotifyTx
	// The search index's work queue (search.go).
	SearchTx
}
