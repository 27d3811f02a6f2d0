package memstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/btree"

	"github.com/hearth-chat/hearth/node"
)

// Key prefixes, as in the Badger store (docs/storage.md), so that the
// same scans are range scans.
const (
	pAccount  = "acct/"
	pProfile  = "prof/"
	pSession  = "sess/"
	pSessUser = "sessu/"
	pRefresh  = "rt/"
	pEvent    = "ev/"
	pTimeline = "tl/"
	pRoom     = "room/"
	pMember   = "mem/"
	pMessage  = "msg/"
	pMsgID    = "mid/"
	pThread   = "thr/"
	pClientID = "cr/"
	pReceipt  = "rcpt/"
	pRoomKey  = "rk/"
	pAgg      = "agg/"
	pUserRx   = "rxu/"
	pRx       = "rx/"
)

func key(prefix string, parts ...string) string { return prefix + strings.Join(parts, "/") }

// tx is one View's or Update's view of a tree.
type tx struct {
	t        *btree.BTreeG[item]
	readOnly bool
	now      time.Time
}

var errReadOnly = errors.New("write in a read-only transaction")

func (t *tx) get(k string) (any, error) {
	it, ok := t.t.Get(item{key: k})
	if !ok || t.expired(it) {
		return nil, fmt.Errorf("%q: %w", k, node.ErrNotFound)
	}
	return it.val, nil
}

func (t *tx) expired(it item) bool { return !it.expires.IsZero() && !t.now.Before(it.expires) }

func (t *tx) set(k string, v any, ttl time.Duration) error {
	if t.readOnly {
		return errReadOnly
	}
	it := item{key: k, val: v}
	if ttl > 0 {
		it.expires = t.now.Add(ttl)
	}
	t.t.ReplaceOrInsert(it)
	return nil
}

func (t *tx) del(k string) error {
	if t.readOnly {
		return errReadOnly
	}
	t.t.Delete(item{key: k})
	return nil
}

// ascend visits the live records under prefix from start (inclusive),
// until fn returns false.
func (t *tx) ascend(prefix, start string, fn func(it item) bool) {
	t.t.AscendGreaterOrEqual(item{key: start}, func(it item) bool {
		if !strings.HasPrefix(it.key, prefix) {
			return false
		}
		return t.expired(it) || fn(it)
	})
}

// descend visits the live records under prefix below before (exclusive;
// "" for the end), newest first, until fn returns false.
func (t *tx) descend(prefix, before string, fn func(it item) bool) {
	visit := func(it item) bool {
		if !strings.HasPrefix(it.key, prefix) {
			return false
		}
		if before != "" && it.key >= before {
			return true
		}
		return t.expired(it) || fn(it)
	}
	if before == "" {
		// Every key under prefix sorts below prefix+"\xff...".
		t.t.DescendLessOrEqual(item{key: prefix + strings.Repeat("\xff", 64)}, visit)
		return
	}
	t.t.DescendLessOrEqual(item{key: before}, visit)
}

func (t *tx) Account(username string) (*node.Account, error) {
	v, err := t.get(key(pAccount, username))
	if err != nil {
		return nil, err
	}
	a := *v.(*node.Account)
	return &a, nil
}

func (t *tx) PutAccount(a *node.Account) error {
	c := *a
	return t.set(key(pAccount, a.Username), &c, 0)
}

func (t *tx) Profile(id node.UserID) (*node.User, error) {
	v, err := t.get(key(pProfile, string(id)))
	if err != nil {
		return nil, err
	}
	u := *v.(*node.User)
	return &u, nil
}

func (t *tx) PutProfile(u *node.User) error {
	c := *u
	c.Presence = "" // presence is live state, never stored
	return t.set(key(pProfile, string(u.ID)), &c, 0)
}

func (t *tx) EachProfile(fn func(*node.User) bool) error {
	t.ascend(pProfile, pProfile, func(it item) bool {
		u := *it.val.(*node.User)
		return fn(&u)
	})
	return nil
}

func (t *tx) Session(id string) (*node.Session, error) {
	v, err := t.get(key(pSession, id))
	if err != nil {
		return nil, err
	}
	s := *v.(*node.Session)
	s.Spent = slices.Clone(s.Spent)
	return &s, nil
}

func (t *tx) PutSession(s *node.Session) error {
	ttl := s.ExpiresAt.Sub(t.now)
	if ttl <= 0 {
		return fmt.Errorf("session already expired: %w", node.ErrInvalid)
	}
	c := *s
	c.Spent, c.Ended = slices.Clone(s.Spent), nil
	if err := t.set(key(pSession, s.ID), &c, ttl); err != nil {
		return err
	}
	return t.set(key(pSessUser, string(s.User), s.ID), nil, ttl)
}

func (t *tx) DeleteSession(id string) error {
	s, err := t.Session(id)
	if err != nil {
		return err
	}
	if err := t.del(key(pSession, id)); err != nil {
		return err
	}
	for _, h := range append([]string{s.Refresh}, s.Spent...) {
		if err := t.DeleteRefresh(h); err != nil {
			return err
		}
	}
	return t.del(key(pSessUser, string(s.User), id))
}

func (t *tx) EachSessionOf(u node.UserID, fn func(*node.Session) bool) error {
	prefix := key(pSessUser, string(u)) + "/"
	var ids []string
	t.ascend(prefix, prefix, func(it item) bool {
		ids = append(ids, it.key[len(prefix):])
		return true
	})
	for _, id := range ids {
		s, err := t.Session(id)
		if errors.Is(err, node.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !fn(s) {
			return nil
		}
	}
	return nil
}

func (t *tx) Refresh(hash string) (*node.RefreshRecord, error) {
	v, err := t.get(key(pRefresh, hash))
	if err != nil {
		return nil, err
	}
	r := *v.(*node.RefreshRecord)
	return &r, nil
}

func (t *tx) PutRefresh(hash string, r *node.RefreshRecord) error {
	ttl := r.Expires.Sub(t.now)
	if ttl <= 0 {
		ttl = time.Minute
	}
	c := *r
	return t.set(key(pRefresh, hash), &c, ttl)
}

func (t *tx) DeleteRefresh(hash string) error { return t.del(key(pRefresh, hash)) }

func (t *tx) HasEvent(id node.EventID) (bool, error) {
	_, err := t.get(key(pEvent, string(id)))
	if errors.Is(err, node.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Event decodes the stored wire form as the Badger store does: the body's
// fields, with ID and Raw set; the signature was checked when it arrived.
func (t *tx) Event(id node.EventID) (*node.Event, error) {
	v, err := t.get(key(pEvent, string(id)))
	if err != nil {
		return nil, err
	}
	raw := slices.Clone(v.([]byte))
	var e node.Event
	if err := json.Unmarshal(raw[65:], &e); err != nil {
		return nil, fmt.Errorf("decode stored event %s: %w", id, err)
	}
	e.ID, e.Raw = id, raw
	return &e, nil
}

func (t *tx) PutEvent(e *node.Event) error {
	if len(e.Raw) <= 65 {
		return fmt.Errorf("event %s has no wire form: %w", e.ID, node.ErrInvalid)
	}
	if err := t.set(key(pEvent, string(e.ID)), slices.Clone(e.Raw), 0); err != nil {
		return err
	}
	if e.Room == "" {
		return nil
	}
	return t.set(key(pTimeline, string(e.Room), string(e.Order())), nil, 0)
}

func (t *tx) EachEventAfter(room node.RoomID, from node.OrderKey, fn func(node.EventID, node.OrderKey) bool) error {
	prefix := key(pTimeline, string(room)) + "/"
	t.ascend(prefix, prefix+string(from), func(it item) bool {
		o := node.OrderKey(it.key[len(prefix):])
		if from != nil && string(o) == string(from) {
			return true
		}
		return fn(node.IDFromOrder(o), o)
	})
	return nil
}

func (t *tx) RoomState(id node.RoomID) (*node.RoomState, error) {
	v, err := t.get(key(pRoom, string(id)))
	if err != nil {
		return nil, err
	}
	return t.withMembers(v.(*node.RoomState)), nil
}

// PutRoomState keeps the room's metadata; member histories are kept one
// per member (PutMember), as node.Tx asks.
func (t *tx) PutRoomState(s *node.RoomState) error {
	c := s.Copy()
	c.History = nil
	return t.set(key(pRoom, string(s.ID)), c, 0)
}

func (t *tx) PutMember(room node.RoomID, u node.UserID, h []node.MemberChange) error {
	k := key(pMember, string(room), string(u))
	if len(h) == 0 {
		return t.del(k)
	}
	return t.set(k, slices.Clone(h), 0)
}

func (t *tx) EachRoomState(fn func(*node.RoomState) bool) error {
	var rooms []*node.RoomState
	t.ascend(pRoom, pRoom, func(it item) bool {
		rooms = append(rooms, it.val.(*node.RoomState))
		return true
	})
	for _, s := range rooms {
		if !fn(t.withMembers(s)) {
			break
		}
	}
	return nil
}

// withMembers copies a stored room and gathers its member histories.
func (t *tx) withMembers(s *node.RoomState) *node.RoomState {
	c := s.Copy()
	c.History = map[node.UserID][]node.MemberChange{}
	prefix := key(pMember, string(s.ID)) + "/"
	t.ascend(prefix, prefix, func(it item) bool {
		c.History[node.UserID(it.key[len(prefix):])] = slices.Clone(it.val.([]node.MemberChange))
		return true
	})
	return c
}

// copyMessage copies a stored message record: reactions and the thread
// count are not part of it (they live in the aggregates, as in Badger).
func copyMessage(m *node.Message) *node.Message {
	c := *m
	c.Attachments = slices.Clone(m.Attachments)
	c.Reactions, c.ThreadCount = nil, 0
	return &c
}

// view is a stored message as the API shows it, aggregates applied.
func (t *tx) view(m *node.Message) *node.Message {
	c := copyMessage(m)
	if a, err := t.Aggregates(c.ID); err == nil {
		c.ThreadCount = a.ThreadCount
		if !c.Deleted {
			c.Reactions = a.View()
		}
	}
	return c
}

func messageKey(room node.RoomID, o node.OrderKey) string {
	return key(pMessage, string(room), string(o))
}

func (t *tx) Message(id node.EventID) (*node.Message, error) {
	loc, err := t.get(key(pMsgID, string(id)))
	if err != nil {
		return nil, err
	}
	v, err := t.get(loc.(string))
	if err != nil {
		return nil, err
	}
	return t.view(v.(*node.Message)), nil
}

func (t *tx) PutMessage(m *node.Message) error {
	k := messageKey(m.Room, m.Order)
	if err := t.set(k, copyMessage(m), 0); err != nil {
		return err
	}
	if err := t.set(key(pMsgID, string(m.ID)), k, 0); err != nil {
		return err
	}
	if m.Thread != "" {
		return t.set(key(pThread, string(m.Room), string(m.Thread), string(m.Order)), k, 0)
	}
	return nil
}

// page collects up to limit values under prefix before order key before
// (nil for the newest), newest first, and whether more exist.
func (t *tx) page(prefix string, before node.OrderKey, limit int, value func(it item) *node.Message) ([]*node.Message, bool) {
	out := make([]*node.Message, 0, limit)
	more := false
	b := ""
	if before != nil {
		b = prefix + string(before)
	}
	t.descend(prefix, b, func(it item) bool {
		if len(out) == limit {
			more = true
			return false
		}
		if m := value(it); m != nil {
			out = append(out, m)
		}
		return true
	})
	return out, more
}

func (t *tx) Messages(room node.RoomID, before node.OrderKey, limit int) ([]*node.Message, bool, error) {
	out, more := t.page(key(pMessage, string(room))+"/", before, limit, func(it item) *node.Message {
		return t.view(it.val.(*node.Message))
	})
	return out, more, nil
}

func (t *tx) ThreadMessages(room node.RoomID, root node.EventID, before node.OrderKey, limit int) ([]*node.Message, bool, error) {
	out, more := t.page(key(pThread, string(room), string(root))+"/", before, limit, func(it item) *node.Message {
		v, err := t.get(it.val.(string))
		if err != nil {
			return nil
		}
		return t.view(v.(*node.Message))
	})
	return out, more, nil
}

func (t *tx) CountMessagesAfter(room node.RoomID, from node.OrderKey, skip node.UserID, max int) (int, error) {
	return t.countAfter(room, from, max, func(m *node.Message) bool { return m.Sender != skip }), nil
}

func (t *tx) CountMentionsAfter(room node.RoomID, u node.UserID, from node.OrderKey, max int) (int, error) {
	return t.countAfter(room, from, max, func(m *node.Message) bool {
		return m.Sender != u && (m.MentionsRoom || slices.Contains(m.Mentions, u))
	}), nil
}

// countAfter counts a room's live messages after order key from
// (exclusive) for which match holds, stopping at max.
func (t *tx) countAfter(room node.RoomID, from node.OrderKey, max int, match func(*node.Message) bool) int {
	prefix := key(pMessage, string(room)) + "/"
	n := 0
	t.ascend(prefix, prefix+string(from), func(it item) bool {
		if n >= max {
			return false
		}
		m := it.val.(*node.Message)
		if from != nil && string(m.Order) == string(from) {
			return true
		}
		if !m.Deleted && match(m) {
			n++
		}
		return n < max
	})
	return n
}

func (t *tx) ClientMessage(u node.UserID, room node.RoomID, clientID string) (node.EventID, error) {
	v, err := t.get(key(pClientID, string(u), string(room), clientID))
	if err != nil {
		return "", err
	}
	return v.(node.EventID), nil
}

func (t *tx) PutClientMessage(u node.UserID, room node.RoomID, clientID string, id node.EventID, ttl time.Duration) error {
	return t.set(key(pClientID, string(u), string(room), clientID), id, ttl)
}

func (t *tx) Aggregates(msg node.EventID) (*node.Aggregates, error) {
	v, err := t.get(key(pAgg, string(msg)))
	if err != nil {
		return nil, err
	}
	return copyAggregates(v.(*node.Aggregates)), nil
}

func copyAggregates(a *node.Aggregates) *node.Aggregates {
	c := *a
	c.Slots = slices.Clone(a.Slots)
	for i := range c.Slots {
		c.Slots[i].Users = slices.Clone(a.Slots[i].Users)
	}
	return &c
}

func (t *tx) PutAggregates(msg node.EventID, a *node.Aggregates) error {
	return t.set(key(pAgg, string(msg)), copyAggregates(a), 0)
}

func (t *tx) UserReactions(msg node.EventID, u node.UserID) (*node.UserReactions, error) {
	v, err := t.get(key(pUserRx, string(msg), string(u)))
	if err != nil {
		return nil, err
	}
	return &node.UserReactions{Keys: slices.Clone(v.(*node.UserReactions).Keys)}, nil
}

func (t *tx) PutUserReactions(msg node.EventID, u node.UserID, r *node.UserReactions) error {
	return t.set(key(pUserRx, string(msg), string(u)), &node.UserReactions{Keys: slices.Clone(r.Keys)}, 0)
}

func (t *tx) ReactionState(msg node.EventID, k string, u node.UserID) (*node.ReactionState, error) {
	v, err := t.get(key(pRx, string(msg), k, string(u)))
	if err != nil {
		return nil, err
	}
	s := *v.(*node.ReactionState)
	return &s, nil
}

func (t *tx) PutReactionState(msg node.EventID, k string, u node.UserID, s *node.ReactionState) error {
	c := *s
	return t.set(key(pRx, string(msg), k, string(u)), &c, 0)
}

func (t *tx) EachReactionState(msg node.EventID, k string, fn func(node.UserID, *node.ReactionState) bool) error {
	prefix := key(pRx, string(msg), k) + "/"
	t.ascend(prefix, prefix, func(it item) bool {
		s := *it.val.(*node.ReactionState)
		return fn(node.UserID(it.key[len(prefix):]), &s)
	})
	return nil
}

func (t *tx) Receipt(room node.RoomID, u node.UserID) (*node.Receipt, error) {
	v, err := t.get(key(pReceipt, string(room), string(u)))
	if err != nil {
		return nil, err
	}
	r := *v.(*node.Receipt)
	return &r, nil
}

func (t *tx) PutReceipt(room node.RoomID, r *node.Receipt) error {
	c := *r
	return t.set(key(pReceipt, string(room), string(r.User)), &c, 0)
}

func (t *tx) Receipts(room node.RoomID) ([]*node.Receipt, error) {
	prefix := key(pReceipt, string(room)) + "/"
	var out []*node.Receipt
	t.ascend(prefix, prefix, func(it item) bool {
		r := *it.val.(*node.Receipt)
		out = append(out, &r)
		return true
	})
	return out, nil
}

func roomKeyKey(room node.RoomID, epoch uint32) string {
	return string(binary.BigEndian.AppendUint32([]byte(key(pRoomKey, string(room))+"/"), epoch))
}

func copyRoomKeyRef(k *node.RoomKeyRef) *node.RoomKeyRef {
	c := *k
	c.Nodes = slices.Clone(k.Nodes)
	return &c
}

func (t *tx) RoomKeyRef(room node.RoomID, epoch uint32) (*node.RoomKeyRef, error) {
	v, err := t.get(roomKeyKey(room, epoch))
	if err != nil {
		return nil, err
	}
	return copyRoomKeyRef(v.(*node.RoomKeyRef)), nil
}

func (t *tx) PutRoomKeyRef(k *node.RoomKeyRef) error {
	return t.set(roomKeyKey(k.Room, k.Epoch), copyRoomKeyRef(k), 0)
}

func (t *tx) LatestRoomKeyRef(room node.RoomID) (*node.RoomKeyRef, error) {
	var out *node.RoomKeyRef
	t.descend(key(pRoomKey, string(room))+"/", "", func(it item) bool {
		out = copyRoomKeyRef(it.val.(*node.RoomKeyRef))
		return false
	})
	if out == nil {
		return nil, fmt.Errorf("no room key for %s: %w", room, node.ErrNotFound)
	}
	return out, nil
}
