package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// Key prefixes; docs/storage.md describes each table.
const (
	pAccount  = "acct/"  // acct/<username> → Account
	pProfile  = "prof/"  // prof/<userID> → User
	pSession  = "sess/"  // sess/<id> → Session
	pSessUser = "sessu/" // sessu/<userID>/<id> → ""
	pRefresh  = "rt/"    // rt/<sha256 hex> → RefreshRecord (TTL)
	pEvent    = "ev/"    // ev/<eventID> → signed wire form
	pTimeline = "tl/"    // tl/<roomID>/<order key> → ""
	pRoom     = "room/"  // room/<roomID> → RoomState without History
	pMember   = "mem/"   // mem/<roomID>/<userID> → []MemberChange
	pMessage  = "msg/"   // msg/<roomID>/<order key> → message record
	pMsgOrder = "mo/"    // mo/<roomID>/<order key> → flag byte + sender (the page index)
	pMsgID    = "mid/"   // mid/<eventID> → <roomID>/<order key>
	pThread   = "thr/"   // thr/<roomID>/<rootID>/<order key> → ""
	pAgg      = "agg/"   // agg/<messageID> → node.Aggregates
	pUserRx   = "rxu/"   // rxu/<messageID>/<userID> → node.UserReactions
	pRx       = "rx/"    // rx/<messageID>/<key>/<userID> → node.ReactionState
	pClientID = "cr/"    // cr/<userID>/<roomID>/<clientID> → eventID (TTL); v1 had cid/<userID>/<clientID>
	pReceipt  = "rcpt/"  // rcpt/<roomID>/<userID> → receipt record
	pRoomKey  = "rk/"    // rk/<roomID>/<uint32be epoch> → RoomKeyRef
	pMention  = "mn/"    // mn/<roomID>/<userID>/<order key> → "" (a message mentions the user)
	pRoomMent = "mnr/"   // mnr/<roomID>/<order key> → sender (a message mentions the whole room)
)

// Flag bytes of a mo/ index entry.
const (
	moLive    = '-'
	moDeleted = 'd'
)

func key(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 1 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	return b
}

func keyOrder(prefix []byte, o node.OrderKey) []byte {
	b := make([]byte, 0, len(prefix)+1+len(o))
	b = append(b, prefix...)
	b = append(b, '/')
	return append(b, o...)
}

// messageRecord is a message with the bookkeeping fields the API hides.
// Reactions and the thread count live in agg/, not here (see PutMessage).
type messageRecord struct {
	*node.Message
	O  []byte `json:"o"`
	EO []byte `json:"eo,omitempty"`
}

type receiptRecord struct {
	*node.Receipt
	O []byte `json:"o"`
}

// tx is one View's or Update's transaction. An Update's writes go through
// its member so that the batch it shares can undo or move them.
type tx struct {
	txn *badger.Txn
	w   writer // nil in View
}

// writer takes a tx's writes instead of its Badger transaction.
type writer interface{ write(write) error }

// set, setTTL and del write through the member in an Update; in a View
// they reach Badger, which refuses them.
func (t *tx) set(k, v []byte) error { return t.write(write{key: k, value: v}) }

func (t *tx) setTTL(k, v []byte, ttl time.Duration) error {
	return t.write(write{key: k, value: v, expiresAt: uint64(time.Now().Add(ttl).Unix())})
}

func (t *tx) del(k []byte) error { return t.write(write{key: k, del: true}) }

func (t *tx) write(w write) error {
	if t.w == nil {
		return translate(w.apply(t.txn))
	}
	return translate(t.w.write(w))
}

func (t *tx) getJSON(k []byte, v any) error {
	item, err := t.txn.Get(k)
	if err != nil {
		return translate(err)
	}
	return item.Value(func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("decode %q: %w", k, err)
		}
		return nil
	})
}

func (t *tx) putJSON(k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", k, err)
	}
	return t.set(k, b)
}

func (t *tx) putTTL(k, v []byte, ttl time.Duration) error {
	return t.setTTL(k, v, ttl)
}

// Getters return nil with their error: a caller that tests only the
// pointer must not mistake a missing record for an empty one (an empty
// password hash once skipped the hash work for unknown usernames).

func (t *tx) Account(username string) (*node.Account, error) {
	var a node.Account
	if err := t.getJSON(key(pAccount, username), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

func (t *tx) PutAccount(a *node.Account) error { return t.putJSON(key(pAccount, a.Username), a) }

func (t *tx) Profile(id node.UserID) (*node.User, error) {
	var u node.User
	if err := t.getJSON(key(pProfile, string(id)), &u); err != nil {
		return nil, err
	}
	return &u, nil
}

func (t *tx) PutProfile(u *node.User) error {
	c := *u
	c.Presence = "" // presence is live state, never stored
	return t.putJSON(key(pProfile, string(u.ID)), &c)
}

func (t *tx) EachProfile(fn func(*node.User) bool) error {
	return t.each([]byte(pProfile), func(_, v []byte) (bool, error) {
		var u node.User
		if err := json.Unmarshal(v, &u); err != nil {
			return false, fmt.Errorf("decode profile: %w", err)
		}
		return fn(&u), nil
	})
}

// each iterates a prefix forward, passing keys and values.
func (t *tx) each(prefix []byte, fn func(k, v []byte) (bool, error)) error {
	it := t.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		var more bool
		err := item.Value(func(v []byte) error {
			var err error
			more, err = fn(item.Key(), v)
			return err
		})
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

func (t *tx) Session(id string) (*node.Session, error) {
	var s node.Session
	if err := t.getJSON(key(pSession, id), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) PutSession(s *node.Session) error {
	ttl := time.Until(s.ExpiresAt)
	if ttl <= 0 {
		return fmt.Errorf("session already expired: %w", node.ErrInvalid)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	if err := t.putTTL(key(pSession, s.ID), b, ttl); err != nil {
		return err
	}
	return t.putTTL(key(pSessUser, string(s.User), s.ID), nil, ttl)
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

func (t *tx) DeleteRefresh(hash string) error { return t.del(key(pRefresh, hash)) }

func (t *tx) EachSessionOf(u node.UserID, fn func(*node.Session) bool) error {
	prefix := append(key(pSessUser, string(u)), '/')
	var ids []string
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		ids = append(ids, string(it.Item().Key()[len(prefix):]))
	}
	it.Close()
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
	var r node.RefreshRecord
	if err := t.getJSON(key(pRefresh, hash), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (t *tx) PutRefresh(hash string, r *node.RefreshRecord) error {
	ttl := time.Until(r.Expires)
	if ttl <= 0 {
		ttl = time.Minute
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode refresh token: %w", err)
	}
	return t.putTTL(key(pRefresh, hash), b, ttl)
}

func (t *tx) HasEvent(id node.EventID) (bool, error) {
	_, err := t.txn.Get(key(pEvent, string(id)))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, translate(err)
}

func (t *tx) Event(id node.EventID) (*node.Event, error) {
	item, err := t.txn.Get(key(pEvent, string(id)))
	if err != nil {
		return nil, translate(err)
	}
	raw, err := item.ValueCopy(nil)
	if err != nil {
		return nil, translate(err)
	}
	var e node.Event
	if err := json.Unmarshal(raw[65:], &e); err != nil {
		return nil, fmt.Errorf("decode stored event %s: %w", id, err)
	}
	e.ID, e.Raw = id, raw
	return &e, nil
}

func (t *tx) PutEvent(e *node.Event) error {
	if err := t.set(key(pEvent, string(e.ID)), e.Raw); err != nil {
		return err
	}
	if e.Room == "" {
		return nil
	}
	return t.set(keyOrder(key(pTimeline, string(e.Room)), e.Order()), nil)
}

func (t *tx) EachEventAfter(room node.RoomID, from node.OrderKey, fn func(node.EventID, node.OrderKey) bool) error {
	prefix := append(key(pTimeline, string(room)), '/')
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	start := prefix
	if from != nil {
		start = append(append([]byte{}, prefix...), from...)
	}
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		o := node.OrderKey(it.Item().KeyCopy(nil)[len(prefix):])
		if from != nil && bytes.Equal(o, from) {
			continue
		}
		if !fn(node.EventID(o[12:]), o) {
			return nil
		}
	}
	return nil
}

func (t *tx) RoomState(id node.RoomID) (*node.RoomState, error) {
	var s node.RoomState
	if err := t.getJSON(key(pRoom, string(id)), &s); err != nil {
		return nil, err
	}
	return &s, t.loadMembers(&s)
}

func (t *tx) PutRoomState(s *node.RoomState) error {
	c := *s
	c.History = nil // one key per member (PutMember)
	return t.putJSON(key(pRoom, string(s.ID)), &c)
}

func (t *tx) PutMember(room node.RoomID, u node.UserID, h []node.MemberChange) error {
	k := key(pMember, string(room), string(u))
	if len(h) == 0 {
		return t.del(k)
	}
	return t.putJSON(k, h)
}

// loadMembers reads a room's member histories into s.History (on top of
// whatever a record of schema 1 held).
func (t *tx) loadMembers(s *node.RoomState) error {
	if s.History == nil {
		s.History = map[node.UserID][]node.MemberChange{}
	}
	prefix := append(key(pMember, string(s.ID)), '/')
	return t.each(prefix, func(k, v []byte) (bool, error) {
		var h []node.MemberChange
		if err := json.Unmarshal(v, &h); err != nil {
			return false, fmt.Errorf("decode member %q: %w", k, err)
		}
		s.History[node.UserID(k[len(prefix):])] = h
		return true, nil
	})
}

func (t *tx) EachRoomState(fn func(*node.RoomState) bool) error {
	var states []*node.RoomState
	err := t.each([]byte(pRoom), func(_, v []byte) (bool, error) {
		var s node.RoomState
		if err := json.Unmarshal(v, &s); err != nil {
			return false, fmt.Errorf("decode room: %w", err)
		}
		states = append(states, &s)
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, s := range states {
		if err := t.loadMembers(s); err != nil {
			return err
		}
		if !fn(s) {
			return nil
		}
	}
	return nil
}

func decodeMessage(v []byte) (*node.Message, error) {
	rec := messageRecord{Message: &node.Message{}}
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	m := rec.Message
	m.Order, m.EditOrder = rec.O, rec.EO
	m.Reactions, m.ThreadCount = nil, 0 // a v1 record's copies; agg/ holds them now
	return m, nil
}

// withAggregates fills a message view's reactions and thread count.
func (t *tx) withAggregates(m *node.Message) error {
	a, err := t.Aggregates(m.ID)
	if errors.Is(err, node.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	m.ThreadCount = a.ThreadCount
	if !m.Deleted {
		m.Reactions = a.View()
	}
	return nil
}

// messageAt reads the record at msg/<loc> as a view.
func (t *tx) messageAt(loc []byte) (*node.Message, error) {
	item, err := t.txn.Get(append([]byte(pMessage), loc...))
	if err != nil {
		return nil, translate(err)
	}
	var m *node.Message
	err = item.Value(func(v []byte) error {
		m, err = decodeMessage(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, t.withAggregates(m)
}

func (t *tx) Message(id node.EventID) (*node.Message, error) {
	item, err := t.txn.Get(key(pMsgID, string(id)))
	if err != nil {
		return nil, translate(err)
	}
	loc, err := item.ValueCopy(nil)
	if err != nil {
		return nil, translate(err)
	}
	return t.messageAt(loc)
}

// PutMessage writes a message record and its indexes. Only the record
// is rewritten by an edit; the page index entry once more on deletion;
// the others never.
func (t *tx) PutMessage(m *node.Message) error {
	c := *m
	c.Reactions, c.ThreadCount = nil, 0
	rec := messageRecord{Message: &c, O: m.Order, EO: m.EditOrder}
	b, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	loc := keyOrder([]byte(m.Room), m.Order)
	if err := t.set(append([]byte(pMessage), loc...), b); err != nil {
		return err
	}
	idx := orderIndexValue(m)
	ik := keyOrder(key(pMsgOrder, string(m.Room)), m.Order)
	if t.txn != nil { // nil in a bulk load (PutMessagesBulk), where every message is new
		item, err := t.txn.Get(ik)
		switch {
		case err == nil:
			// An edit: the record was rewritten, but the index entry is
			// rewritten only when it changes (a deletion), so a page
			// scan never walks an edit's versions.
			same := false
			if err := item.Value(func(v []byte) error { same = bytes.Equal(v, idx); return nil }); err != nil {
				return translate(err)
			}
			if same {
				return nil
			}
			return t.set(ik, idx)
		case !errors.Is(err, badger.ErrKeyNotFound):
			return translate(err)
		}
	}
	if err := t.set(ik, idx); err != nil {
		return err
	}
	if err := t.set(key(pMsgID, string(m.ID)), loc); err != nil {
		return err
	}
	if err := t.indexMentions(m); err != nil {
		return err
	}
	if m.Thread != "" {
		return t.set(keyOrder(key(pThread, string(m.Room), string(m.Thread)), m.Order), nil)
	}
	return nil
}

func orderIndexValue(m *node.Message) []byte {
	flag := byte(moLive)
	if m.Deleted {
		flag = moDeleted
	}
	return append([]byte{flag}, m.Sender...)
}

// scanKeysBack iterates the keys under prefix from before (exclusive; nil
// for the end) towards the start, collecting up to limit suffixes (the
// part after prefix). It reads no values: callers scan indexes whose keys
// are written once, so a page costs O(limit) whatever else was rewritten.
func (t *tx) scanKeysBack(prefix []byte, before node.OrderKey, limit int) (suffixes [][]byte, more bool) {
	it := t.txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	defer it.Close()
	var seek []byte
	if before != nil {
		seek = append(append([]byte{}, prefix...), before...)
	} else {
		seek = append(append([]byte{}, prefix...), 0xff)
	}
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		k := it.Item().Key()
		if before != nil && bytes.Equal(k[len(prefix):], before) {
			continue
		}
		if len(suffixes) == limit {
			return suffixes, true
		}
		suffixes = append(suffixes, append([]byte{}, k[len(prefix):]...))
	}
	return suffixes, false
}

// messagesAt reads the records of a room at the given order keys.
func (t *tx) messagesAt(room node.RoomID, orders [][]byte) ([]*node.Message, error) {
	out := make([]*node.Message, 0, len(orders))
	for _, o := range orders {
		m, err := t.messageAt(keyOrder([]byte(room), o))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (t *tx) Messages(room node.RoomID, before node.OrderKey, limit int) ([]*node.Message, bool, error) {
	orders, more := t.scanKeysBack(keyOrder(key(pMsgOrder, string(room)), nil), before, limit)
	out, err := t.messagesAt(room, orders)
	return out, more, err
}

func (t *tx) ThreadMessages(room node.RoomID, root node.EventID, before node.OrderKey, limit int) ([]*node.Message, bool, error) {
	orders, more := t.scanKeysBack(keyOrder(key(pThread, string(room), string(root)), nil), before, limit)
	out, err := t.messagesAt(room, orders)
	return out, more, err
}

// CountMessagesAfter walks the page index (entries of a few bytes, each
// written at most twice), not the message records.
func (t *tx) CountMessagesAfter(room node.RoomID, from node.OrderKey, skip node.UserID, max int) (int, error) {
	prefix := keyOrder(key(pMsgOrder, string(room)), nil)
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	start := append(append([]byte{}, prefix...), from...)
	n := 0
	for it.Seek(start); it.ValidForPrefix(prefix) && n < max; it.Next() {
		item := it.Item()
		if from != nil && bytes.Equal(item.Key()[len(prefix):], from) {
			continue
		}
		err := item.Value(func(v []byte) error {
			if len(v) > 0 && v[0] == moLive && string(v[1:]) != string(skip) {
				n++
			}
			return nil
		})
		if err != nil {
			return 0, translate(err)
		}
	}
	return n, nil
}

// indexMentions writes a new message's mention entries, one per mentioned
// user and one for a room-wide mention. They are written once and never
// rewritten: a deletion only flips the page index entry, which the count
// checks, so a deleted message's entries count nothing.
func (t *tx) indexMentions(m *node.Message) error {
	for _, u := range m.Mentions {
		if u == m.Sender {
			continue
		}
		if err := t.set(keyOrder(key(pMention, string(m.Room), string(u)), m.Order), nil); err != nil {
			return err
		}
	}
	if m.MentionsRoom {
		return t.set(keyOrder(key(pRoomMent, string(m.Room)), m.Order), []byte(m.Sender))
	}
	return nil
}

// CountMentionsAfter merges u's mention entries with the room-wide ones
// after from, each checked against the page index (a deleted message's
// entries stay and count nothing). Both indexes hold only mentions, so
// the walk is bounded by the mentions after the read marker, capped at
// max, not by the room's messages.
func (t *tx) CountMentionsAfter(room node.RoomID, u node.UserID, from node.OrderKey, max int) (int, error) {
	seen := map[string]bool{}
	scan := func(prefix []byte, mine func(v []byte) bool) error {
		it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Seek(append(append([]byte{}, prefix...), from...)); it.ValidForPrefix(prefix) && len(seen) < max; it.Next() {
			item := it.Item()
			o := item.Key()[len(prefix):]
			if from != nil && bytes.Equal(o, from) || seen[string(o)] {
				continue
			}
			if mine != nil {
				ok := false
				if err := item.Value(func(v []byte) error { ok = mine(v); return nil }); err != nil {
					return translate(err)
				}
				if !ok {
					continue
				}
			}
			live, err := t.liveMessageAt(room, o)
			if err != nil {
				return err
			}
			if live {
				seen[string(o)] = true
			}
		}
		return nil
	}
	if err := scan(keyOrder(key(pMention, string(room), string(u)), nil), nil); err != nil {
		return 0, err
	}
	notMine := func(v []byte) bool { return string(v) != string(u) }
	if err := scan(keyOrder(key(pRoomMent, string(room)), nil), notMine); err != nil {
		return 0, err
	}
	return len(seen), nil
}

// liveMessageAt reports whether the page index holds a live (not deleted)
// message at room order o.
func (t *tx) liveMessageAt(room node.RoomID, o []byte) (bool, error) {
	item, err := t.txn.Get(keyOrder(key(pMsgOrder, string(room)), o))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	} else if err != nil {
		return false, translate(err)
	}
	live := false
	err = item.Value(func(v []byte) error { live = len(v) > 0 && v[0] == moLive; return nil })
	return live, translate(err)
}

func (t *tx) Aggregates(msg node.EventID) (*node.Aggregates, error) {
	var a node.Aggregates
	if err := t.getJSON(key(pAgg, string(msg)), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

func (t *tx) PutAggregates(msg node.EventID, a *node.Aggregates) error {
	return t.putJSON(key(pAgg, string(msg)), a)
}

func (t *tx) UserReactions(msg node.EventID, u node.UserID) (*node.UserReactions, error) {
	var r node.UserReactions
	if err := t.getJSON(key(pUserRx, string(msg), string(u)), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (t *tx) PutUserReactions(msg node.EventID, u node.UserID, r *node.UserReactions) error {
	return t.putJSON(key(pUserRx, string(msg), string(u)), r)
}

func (t *tx) ReactionState(msg node.EventID, k string, u node.UserID) (*node.ReactionState, error) {
	var s node.ReactionState
	if err := t.getJSON(key(pRx, string(msg), k, string(u)), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) PutReactionState(msg node.EventID, k string, u node.UserID, s *node.ReactionState) error {
	return t.putJSON(key(pRx, string(msg), k, string(u)), s)
}

func (t *tx) EachReactionState(msg node.EventID, k string, fn func(node.UserID, *node.ReactionState) bool) error {
	prefix := append(key(pRx, string(msg), k), '/')
	return t.each(prefix, func(kb, v []byte) (bool, error) {
		var s node.ReactionState
		if err := json.Unmarshal(v, &s); err != nil {
			return false, fmt.Errorf("decode reaction: %w", err)
		}
		return fn(node.UserID(kb[len(prefix):]), &s), nil
	})
}

func (t *tx) ClientMessage(u node.UserID, room node.RoomID, clientID string) (node.EventID, error) {
	item, err := t.txn.Get(key(pClientID, string(u), string(room), clientID))
	if err != nil {
		return "", translate(err)
	}
	v, err := item.ValueCopy(nil)
	return node.EventID(v), translate(err)
}

func (t *tx) PutClientMessage(u node.UserID, room node.RoomID, clientID string, id node.EventID, ttl time.Duration) error {
	return t.putTTL(key(pClientID, string(u), string(room), clientID), []byte(id), ttl)
}

func (t *tx) Receipt(room node.RoomID, u node.UserID) (*node.Receipt, error) {
	rec := receiptRecord{Receipt: &node.Receipt{}}
	if err := t.getJSON(key(pReceipt, string(room), string(u)), &rec); err != nil {
		return nil, err
	}
	rec.Receipt.Order = rec.O
	return rec.Receipt, nil
}

func (t *tx) PutReceipt(room node.RoomID, r *node.Receipt) error {
	return t.putJSON(key(pReceipt, string(room), string(r.User)), &receiptRecord{Receipt: r, O: r.Order})
}

func (t *tx) Receipts(room node.RoomID) ([]*node.Receipt, error) {
	var out []*node.Receipt
	prefix := append(key(pReceipt, string(room)), '/')
	err := t.each(prefix, func(_, v []byte) (bool, error) {
		rec := receiptRecord{Receipt: &node.Receipt{}}
		if err := json.Unmarshal(v, &rec); err != nil {
			return false, fmt.Errorf("decode receipt: %w", err)
		}
		rec.Receipt.Order = rec.O
		out = append(out, rec.Receipt)
		return true, nil
	})
	return out, err
}

func roomKeyKey(room node.RoomID, epoch uint32) []byte {
	return binary.BigEndian.AppendUint32(append(key(pRoomKey, string(room)), '/'), epoch)
}

func (t *tx) RoomKeyRef(room node.RoomID, epoch uint32) (*node.RoomKeyRef, error) {
	var k node.RoomKeyRef
	if err := t.getJSON(roomKeyKey(room, epoch), &k); err != nil {
		return nil, err
	}
	return &k, nil
}

func (t *tx) PutRoomKeyRef(k *node.RoomKeyRef) error {
	return t.putJSON(roomKeyKey(k.Room, k.Epoch), k)
}

func (t *tx) LatestRoomKeyRef(room node.RoomID) (*node.RoomKeyRef, error) {
	prefix := append(key(pRoomKey, string(room)), '/')
	// The newest key by a key-only reverse seek, then a Get: a reverse
	// scan with values would copy every version of the keys it passes.
	last, _ := t.scanKeysBack(prefix, nil, 1)
	if len(last) == 0 {
		return nil, fmt.Errorf("no room key for %s: %w", room, node.ErrNotFound)
	}
	var k node.RoomKeyRef
	if err := t.getJSON(append(append([]byte{}, prefix...), last[0]...), &k); err != nil {
		return nil, fmt.Errorf("decode room key ref: %w", err)
	}
	return &k, nil
}
