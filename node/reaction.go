package node

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// Reaction limits. Both caps are part of the room rules: every node
// applies them the same way, so a reaction past them has no effect on any
// node (see applyReaction for how that stays true when events arrive out
// of order).
const (
	// MaxReactionKeys bounds the distinct reactions (keys) on one message.
	MaxReactionKeys = 20
	// MaxUserReactions bounds the distinct reactions of one user on one
	// message.
	MaxUserReactions = 10
	// ReactionSample is how many reacting users a message view names per
	// key; the count says how many there are.
	ReactionSample = 3
)

// Reaction is one key's summary in a message view: how many users show
// it, a few of them (the most recent first), and whether the caller is
// one of them (in answers to that caller only).
type Reaction struct {
	Emoji string   `json:"emoji"`
	Count int      `json:"count"`
	Users []UserID `json:"users"`
	Me    bool     `json:"me,omitempty"`
}

// Aggregates are what other events add to a message: the replies in the
// thread it roots and its reaction slots. They are stored beside the
// message record, so a reply or a reaction rewrites this small record and
// never the message (docs/storage.md).
type Aggregates struct {
	ThreadCount int            `json:"t,omitempty"`
	Slots       []ReactionSlot `json:"r,omitempty"`
}

// ReactionSlot is one of a message's at most MaxReactionKeys reaction
// keys: the keys whose first "on" comes earliest in room order. A slot
// stays when its count drops to zero.
type ReactionSlot struct {
	Key   string   `json:"k"`
	First OrderKey `json:"f"`
	Count int      `json:"n,omitempty"`
	Users []UserID `json:"u,omitempty"` // most recent first, at most ReactionSample
}

// UserReactions are one user's at most MaxUserReactions reaction keys on
// one message: the keys whose first "on" by that user comes earliest in
// room order, and whether each is on now.
type UserReactions struct {
	Keys []UserReaction `json:"k"`
}

// UserReaction is one key of UserReactions.
type UserReaction struct {
	Key   string   `json:"k"`
	First OrderKey `json:"f"`
	On    bool     `json:"on,omitempty"`
}

// ReactionState is the newest change of one (message, key, user): a
// last-writer-wins register by room order, so nodes agree whatever order
// the changes arrive in.
type ReactionState struct {
	Order OrderKey `json:"o"`
	On    bool     `json:"on,omitempty"`
}

// View returns the reaction summaries of a message: its slots with a count
// above zero, in slot order (first reaction first).
func (a *Aggregates) View() []Reaction {
	var out []Reaction
	for _, s := range a.Slots {
		if s.Count > 0 {
			out = append(out, Reaction{Emoji: s.Key, Count: s.Count, Users: slices.Clone(s.Users)})
		}
	}
	return out
}

func (a *Aggregates) slot(key string) int {
	return slices.IndexFunc(a.Slots, func(s ReactionSlot) bool { return s.Key == key })
}

func (r *UserReactions) index(key string) int {
	return slices.IndexFunc(r.Keys, func(k UserReaction) bool { return k.Key == key })
}

func (r *UserReactions) on(key string) bool {
	i := r.index(key)
	return i >= 0 && r.Keys[i].On
}

// add counts u as showing s's key.
func (s *ReactionSlot) add(u UserID) {
	s.Count++
	users := slices.DeleteFunc(s.Users, func(v UserID) bool { return v == u })
	s.Users = append([]UserID{u}, users...)
	if len(s.Users) > ReactionSample {
		s.Users = s.Users[:ReactionSample]
	}
}

// remove stops counting u. The sample may then name fewer users than it
// could: refilling it would mean a scan, and it is only a sample.
func (s *ReactionSlot) remove(u UserID) {
	s.Count = max(s.Count-1, 0)
	s.Users = slices.DeleteFunc(s.Users, func(v UserID) bool { return v == u })
}

// lastByFirst is the index of the entry whose First is greatest.
func lastByFirst[T any](xs []T, first func(T) OrderKey) int {
	j := -1
	for i, x := range xs {
		if j < 0 || bytes.Compare(first(x), first(xs[j])) > 0 {
			j = i
		}
	}
	return j
}

func aggregatesOf(tx Tx, msg EventID) (*Aggregates, error) {
	a, err := tx.Aggregates(msg)
	if errors.Is(err, ErrNotFound) {
		return &Aggregates{}, nil
	}
	return a, err
}

func userReactionsOf(tx Tx, msg EventID, u UserID) (*UserReactions, error) {
	r, err := tx.UserReactions(msg, u)
	if errors.Is(err, ErrNotFound) {
		return &UserReactions{}, nil
	}
	return r, err
}

func reactionStateOf(tx Tx, msg EventID, key string, u UserID) (*ReactionState, error) {
	s, err := tx.ReactionState(msg, key, u)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return s, err
}

// reactionChange is what one reaction event did to a message's view.
type reactionChange struct {
	active  bool // the user shows the key after the event
	changed bool // and did not before, or the other way round
	count   int  // users showing the key after the event
	// reshaped is set when the event changed more than (key, user): a
	// late event took a slot from another key, or a user's key from
	// another of theirs. Clients then get the whole message.
	reshaped bool
}

// applyReaction applies one reaction change (key on or off by u, at
// order o) to message msg.
//
// The caps are decided by first appearance in room order, not by what is
// shown at the event's position: a message's slots are the
// MaxReactionKeys keys whose first "on" comes first, and a user's keys
// are the MaxUserReactions keys whose first "on" by that user comes
// first. A user shows a key when it is in both and their newest change
// of it is "on". Each of these is a minimum or a last-writer-wins
// register over the events held, so it does not depend on the order in
// which they arrived: two nodes that hold the same events show the same
// reactions, and a change past a cap has no effect on any of them.
// (Counting what is shown at each position instead would make every
// later decision depend on every earlier add and remove, so one late
// event could flip all that follow and need the message's whole reaction
// history replayed.) The price is that a slot is not freed when its
// count drops to zero.
//
// Every change is recorded in its (msg, key, u) register, even past the
// caps: a late event can still bring its key into the slots (an earlier
// first "on" than the slot it then takes), and the key's state must be
// known then.
//
// Kept whole (over 80 lines): the user's keys, the message's slots and
// the register change together under one set of rules.
func applyReaction(tx Tx, msg EventID, key string, u UserID, o OrderKey, on bool) (ch reactionChange, err error) {
	agg, err := aggregatesOf(tx, msg)
	if err != nil {
		return ch, err
	}
	ur, err := userReactionsOf(tx, msg, u)
	if err != nil {
		return ch, err
	}
	reg, err := reactionStateOf(tx, msg, key, u)
	if err != nil {
		return ch, err
	}
	activeBefore := agg.slot(key) >= 0 && ur.on(key)
	if reg == nil || bytes.Compare(o, reg.Order) > 0 {
		reg = &ReactionState{Order: o, On: on}
		if err := tx.PutReactionState(msg, key, u, reg); err != nil {
			return ch, err
		}
	}

	// The user's keys: an "on" may add the key or move its first
	// appearance earlier, and then may push out their latest-first key.
	var dropped *UserReaction
	userChanged := false
	if on {
		switch i := ur.index(key); {
		case i >= 0:
			if bytes.Compare(o, ur.Keys[i].First) < 0 {
				ur.Keys[i].First, userChanged = o, true
			}
		case len(ur.Keys) < MaxUserReactions:
			ur.Keys, userChanged = append(ur.Keys, UserReaction{Key: key, First: o}), true
		default:
			j := lastByFirst(ur.Keys, func(k UserReaction) OrderKey { return k.First })
			if bytes.Compare(o, ur.Keys[j].First) < 0 {
				d := ur.Keys[j]
				dropped = &d
				ur.Keys = slices.Delete(ur.Keys, j, j+1)
				ur.Keys, userChanged = append(ur.Keys, UserReaction{Key: key, First: o}), true
			}
		}
	}
	if i := ur.index(key); i >= 0 && ur.Keys[i].On != reg.On {
		ur.Keys[i].On, userChanged = reg.On, true
	}
	if userChanged {
		slices.SortFunc(ur.Keys, func(a, b UserReaction) int { return bytes.Compare(a.First, b.First) })
		if err := tx.PutUserReactions(msg, u, ur); err != nil {
			return ch, err
		}
	}

	// The message's slots, the same way.
	aggChanged, entered := false, false
	if on {
		switch i := agg.slot(key); {
		case i >= 0:
			if bytes.Compare(o, agg.Slots[i].First) < 0 {
				agg.Slots[i].First, aggChanged = o, true
			}
		case len(agg.Slots) < MaxReactionKeys:
			agg.Slots, aggChanged, entered = append(agg.Slots, ReactionSlot{Key: key, First: o}), true, true
		default:
			j := lastByFirst(agg.Slots, func(s ReactionSlot) OrderKey { return s.First })
			if bytes.Compare(o, agg.Slots[j].First) < 0 {
				agg.Slots = slices.Delete(agg.Slots, j, j+1)
				agg.Slots, aggChanged, entered = append(agg.Slots, ReactionSlot{Key: key, First: o}), true, true
				ch.reshaped = true
			}
		}
	}
	if dropped != nil && dropped.On {
		if j := agg.slot(dropped.Key); j >= 0 {
			agg.Slots[j].remove(u)
			aggChanged, ch.reshaped = true, true
		}
	}
	i := agg.slot(key)
	ch.active = i >= 0 && ur.on(key)
	switch {
	case entered:
		// A key new to the slots may already be on for users whose
		// changes arrived before it had a slot.
		if err := recountSlot(tx, msg, &agg.Slots[i], u, ur); err != nil {
			return ch, err
		}
		if agg.Slots[i].Count > btoi(ch.active) {
			ch.reshaped = true
		}
	case i >= 0 && ch.active != activeBefore:
		if ch.active {
			agg.Slots[i].add(u)
		} else {
			agg.Slots[i].remove(u)
		}
		aggChanged = true
	}
	if aggChanged {
		slices.SortFunc(agg.Slots, func(a, b ReactionSlot) int { return bytes.Compare(a.First, b.First) })
		if err := tx.PutAggregates(msg, agg); err != nil {
			return ch, err
		}
	}
	ch.changed = ch.active != activeBefore
	if i := agg.slot(key); i >= 0 {
		ch.count = agg.Slots[i].Count
	}
	return ch, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// recountSlot sets a slot's count and sample from the registers of every
// user who ever changed its key. It runs only when a key takes a slot.
// u's keys are passed in (they are being changed); others' are read.
func recountSlot(tx Tx, msg EventID, s *ReactionSlot, u UserID, ur *UserReactions) error {
	s.Count, s.Users = 0, nil
	var users []UserID
	if err := tx.EachReactionState(msg, s.Key, func(v UserID, st *ReactionState) bool {
		if st.On {
			users = append(users, v)
		}
		return true
	}); err != nil {
		return err
	}
	for _, v := range users {
		keys := ur
		if v != u {
			var err error
			if keys, err = userReactionsOf(tx, msg, v); err != nil {
				return err
			}
		}
		if keys.on(s.Key) {
			s.Count++
			if len(s.Users) < ReactionSample {
				s.Users = append(s.Users, v)
			}
		}
	}
	return nil
}

// checkReaction decides a local user's reaction change before it is
// signed. The change will be the newest event of the message, so it
// cannot take a slot from an earlier key: past a cap it is refused with
// ErrLimit. noop reports a change that would show nothing new (adding a
// reaction already shown, removing one that is not), which is not sent.
func checkReaction(tx Tx, msg EventID, key string, u UserID, on bool) (noop bool, err error) {
	agg, err := aggregatesOf(tx, msg)
	if err != nil {
		return false, err
	}
	ur, err := userReactionsOf(tx, msg, u)
	if err != nil {
		return false, err
	}
	active := agg.slot(key) >= 0 && ur.on(key)
	if !on || active {
		return active == on, nil
	}
	if agg.slot(key) < 0 && len(agg.Slots) >= MaxReactionKeys {
		return false, errorf(ErrLimit, fmt.Sprintf("this message already has %d different reactions: add one of those", MaxReactionKeys))
	}
	if ur.index(key) < 0 && len(ur.Keys) >= MaxUserReactions {
		return false, errorf(ErrLimit, fmt.Sprintf("you have used %d different reactions on this message", MaxUserReactions))
	}
	return false, nil
}

// markMine sets Reaction.Me on msgs for u.
func markMine(tx Tx, msgs []*Message, u UserID) error {
	for _, m := range msgs {
		if m == nil || len(m.Reactions) == 0 {
			continue
		}
		ur, err := userReactionsOf(tx, m.ID, u)
		if err != nil {
			return err
		}
		for i := range m.Reactions {
			m.Reactions[i].Me = ur.on(m.Reactions[i].Emoji)
		}
	}
	return nil
}

// applyReactionEvent applies a reaction event to its target message. It
// returns the message as it now is (for the sender's answer) and what the
// room's local members are told: a small reaction delta, the whole
// message when the event reshaped its reactions, or nothing when nothing
// shown changed.
func (n *Node) applyReactionEvent(tx Tx, e *Event) (*Message, *Notification, error) {
	c, err := decodeContent[ReactionContent](e)
	if err != nil {
		return nil, nil, err
	}
	if !ValidReactionKey(c.Emoji) {
		return nil, nil, errorf(ErrInvalid, "a reaction must be one emoji or a :shortcode: (docs/api.md)")
	}
	m, err := tx.Message(c.Target)
	if errors.Is(err, ErrNotFound) {
		if !n.IsLocal(e.Sender) {
			return nil, nil, nil // the target has not arrived; stored as an event only
		}
		return nil, nil, errorf(ErrNotFound, "no such message")
	}
	if err != nil {
		return nil, nil, err
	}
	if m.Room != e.Room {
		return nil, nil, errorf(ErrNotFound, "no such message in this room")
	}
	if m.Deleted {
		return nil, nil, errorf(ErrNotFound, "message was deleted")
	}
	ch, err := applyReaction(tx, m.ID, c.Emoji, e.Sender, e.Order(), c.On)
	if err != nil {
		return nil, nil, err
	}
	if ch.changed || ch.reshaped {
		if m, err = tx.Message(c.Target); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case ch.reshaped:
		return m, &Notification{Kind: NoteUpdate, Message: m}, nil
	case ch.changed:
		return m, &Notification{
			Kind: NoteReaction, RoomID: e.Room, MessageID: m.ID, Emoji: c.Emoji,
			User: e.Sender, On: ch.active, Count: ch.count,
		}, nil
	}
	return m, nil, nil
}

// ReplayReaction applies one recorded reaction change to a message's
// reaction state as its event would. The store uses it to rebuild the
// reactions of an older database layout, which kept only each (key,
// user)'s newest change.
func ReplayReaction(tx Tx, msg EventID, key string, u UserID, o OrderKey, on bool) error {
	if !ValidReactionKey(key) {
		return nil // an older node took any short string; such keys are dropped
	}
	_, err := applyReaction(tx, msg, key, u, o, on)
	return err
}
