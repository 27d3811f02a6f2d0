package node

import (
	"context"
	"errors"
	"fmt"
)

// Notification settings: what a local user wants to be told of while no
// tab of theirs is open (Web Push, push.go) or while their tab is hidden
// (the browser's Notification API, which reads the same settings).
//
// Each room has a level: NotifyAll (every message from someone else),
// NotifyMentions (messages that mention the user or the whole room) or
// NotifyMute (nothing). A room without a stored level takes its kind's
// default: NotifyAll for direct messages, NotifyMentions for group rooms,
// as Slack and Element do. On top, a global do-not-disturb silences
// every room, until the user turns it off or until a time.

// Notification levels of a room.
const (
	NotifyAll      = "all"
	NotifyMentions = "mentions"
	NotifyMute     = "mute"
	// NotifyDefault, given to SetRoomNotify, forgets the room's level so
	// that its kind's default applies again.
	NotifyDefault = "default"
)

// DefaultNotify is the level of a room of kind (KindDM or KindGroup) whose
// user has not chosen one.
func DefaultNotify(kind string) string {
	if kind == KindDM {
		return NotifyAll
	}
	return NotifyMentions
}

// NotifyPrefs is a user's global notification settings.
type NotifyPrefs struct {
	// DND (do not disturb) silences every room while it lasts.
	DND bool `json:"dnd"`
	// DNDUntil ends DND at this time (ms since the epoch); 0 keeps it on
	// until it is turned off.
	DNDUntil int64 `json:"dndUntil,omitempty"`
}

// Silenced reports whether DND silences notifications at now (ms).
func (p *NotifyPrefs) Silenced(now int64) bool {
	return p != nil && p.DND && (p.DNDUntil == 0 || now < p.DNDUntil)
}

// NotifySettings is what GET /api/v1/notifications answers: the global
// settings, the rooms whose level the user chose, and the defaults of the
// others.
type NotifySettings struct {
	NotifyPrefs
	Rooms    map[RoomID]string `json:"rooms"`
	Defaults map[string]string `json:"defaults"`
}

// RoomNotify is one room's level for a user; Default is set when the user
// has not chosen one and Level is the kind's default.
type RoomNotify struct {
	Room    RoomID `json:"room"`
	Level   string `json:"level"`
	Default bool   `json:"default"`
}

// NotifyTx stores notification settings and push subscriptions and the
// push outbox (push.go). Getters return an error wrapping ErrNotFound for
// absent keys.
type NotifyTx interface {
	// NotifyPrefs are a user's global settings.
	NotifyPrefs(u UserID) (*NotifyPrefs, error)
	PutNotifyPrefs(u UserID, p *NotifyPrefs) error
	// RoomNotify is a user's chosen level in a room; "" in
	// PutRoomNotify forgets it. EachRoomNotify visits a user's chosen
	// levels in room ID order until fn returns false.
	RoomNotify(u UserID, room RoomID) (string, error)
	PutRoomNotify(u UserID, room RoomID, level string) error
	EachRoomNotify(u UserID, fn func(room RoomID, level string) bool) error

	// Push subscriptions, by user and ID. EachPushSubscription visits a
	// user's (every user's when u is "") in (user, ID) order until fn
	// returns false.
	PushSubscription(u UserID, id string) (*PushSubscription, error)
	PutPushSubscription(s *PushSubscription) error
	DeletePushSubscription(u UserID, id string) error
	EachPushSubscription(u UserID, fn func(*PushSubscription) bool) error

	// The push outbox, by sequence number. EachPushJob visits the jobs
	// in sequence order until fn returns false.
	PutPushJob(j *PushJob) error
	DeletePushJob(seq uint64) error
	EachPushJob(fn func(*PushJob) bool) error
}

// validLevel checks a level given by a client.
func validLevel(level string) error {
	switch level {
	case NotifyAll, NotifyMentions, NotifyMute, NotifyDefault:
		return nil
	}
	return errorf(ErrInvalid, "level must be all, mentions, mute or default")
}

// NotifySettings returns u's notification settings.
func (n *Node) NotifySettings(ctx context.Context, u UserID) (*NotifySettings, error) {
	s := &NotifySettings{Rooms: map[RoomID]string{}, Defaults: map[string]string{
		KindDM: DefaultNotify(KindDM), KindGroup: DefaultNotify(KindGroup),
	}}
	err := n.store.View(ctx, func(tx Tx) error {
		p, err := tx.NotifyPrefs(u)
		if err == nil {
			s.NotifyPrefs = *p
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return tx.EachRoomNotify(u, func(room RoomID, level string) bool {
			s.Rooms[room] = level
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("notification settings: %w", err)
	}
	// A DND whose time has passed is reported as off.
	if s.DND && !s.Silenced(n.now().UnixMilli()) {
		s.NotifyPrefs = NotifyPrefs{}
	}
	return s, nil
}

// SetNotifyPrefs changes u's global settings. A DND with an end time
// needs that time in the future; without DND the end time must be 0.
func (n *Node) SetNotifyPrefs(ctx context.Context, u UserID, p NotifyPrefs) (*NotifySettings, error) {
	switch {
	case p.DNDUntil < 0:
		return nil, errorf(ErrInvalid, "dndUntil must be a timestamp in milliseconds")
	case !p.DND && p.DNDUntil != 0:
		return nil, errorf(ErrInvalid, "dndUntil needs dnd")
	case p.DNDUntil != 0 && p.DNDUntil <= n.now().UnixMilli():
		return nil, errorf(ErrInvalid, "dndUntil is in the past")
	}
	if err := n.store.Update(ctx, func(tx Tx) error { return tx.PutNotifyPrefs(u, &p) }); err != nil {
		return nil, fmt.Errorf("set notification settings: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	return n.settingsChanged(ctx, u)
}

// settingsChanged sends u's settings, as they now are, to every
// connection of u's (the tab that changed them and the others), and
// returns them.
func (n *Node) settingsChanged(ctx context.Context, u UserID) (*NotifySettings, error) {
	s, err := n.NotifySettings(ctx, u)
	if err != nil {
		return nil, err
	}
	n.notify.Notify([]UserID{u}, &Notification{Kind: NoteSettings, User: u, Settings: s})
	return s, nil
}

// notifyRoom returns the kind of a room u may set a level in: one they
// have joined or are invited to.
func (n *Node) notifyRoom(u UserID, id RoomID) (string, error) {
	r := n.room(id, false)
	if r == nil || !ValidOpaqueID(string(id)) {
		return "", errorf(ErrNotFound, "no such room")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st, _ := r.state.At(u, nil)
	if !r.state.Created() || st != MemberJoin && st != MemberInvite {
		return "", errorf(ErrNotFound, "no such room")
	}
	return r.state.Kind, nil
}

// RoomNotify returns u's level in a room of theirs.
func (n *Node) RoomNotify(ctx context.Context, u UserID, room RoomID) (*RoomNotify, error) {
	kind, err := n.notifyRoom(u, room)
	if err != nil {
		return nil, err
	}
	var level string
	err = n.store.View(ctx, func(tx Tx) error {
		level, err = tx.RoomNotify(u, room)
		if errors.Is(err, ErrNotFound) {
			level, err = "", nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("room notification level: %w", err)
	}
	return roomNotify(room, kind, level), nil
}

// roomNotify is a room's level as the API shows it: the stored one, or
// (level "") its kind's default.
func roomNotify(room RoomID, kind, level string) *RoomNotify {
	if level == "" {
		return &RoomNotify{Room: room, Level: DefaultNotify(kind), Default: true}
	}
	return &RoomNotify{Room: room, Level: level}
}

// SetRoomNotify sets u's level in a room of theirs; NotifyDefault forgets
// it. The level is kept when u leaves the room, for a return.
func (n *Node) SetRoomNotify(ctx context.Context, u UserID, room RoomID, level string) (*RoomNotify, error) {
	if err := validLevel(level); err != nil {
		return nil, err
	}
	kind, err := n.notifyRoom(u, room)
	if err != nil {
		return nil, err
	}
	stored := level
	if level == NotifyDefault {
		stored = ""
	}
	if err := n.store.Update(ctx, func(tx Tx) error { return tx.PutRoomNotify(u, room, stored) }); err != nil {
		return nil, fmt.Errorf("set room notification level: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	s, err := n.settingsChanged(ctx, u)
	if err != nil {
		return nil, err
	}
	return roomNotify(room, kind, s.Rooms[room]), nil
}

// Notifies reports whether m, a new message in a room of kind, notifies u
// whose stored level there is level ("" for the default) and whose global
// settings are prefs (nil for none), at now (ms): never for u's own
// messages, in a muted room or during DND; in a room at NotifyAll every
// message; at NotifyMentions the messages that mention u or the whole
// room. The web UI applies the same rule to its desktop notifications.
func Notifies(u UserID, m *Message, kind, level string, prefs *NotifyPrefs, now int64) bool {
	if m == nil || m.Sender == u || m.Deleted || prefs.Silenced(now) {
		return false
	}
	if level == "" {
		level = DefaultNotify(kind)
	}
	switch level {
	case NotifyAll:
		return true
	case NotifyMentions:
		return mentionsUser(m, u)
	}
	return false
}
