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
	pMsgID    = "mid/"   // mid/<eventID> → <roomID>/<order key>
	pThread   = "thr/"   // thr/<roomID>/<rootID>/<order key> → ""
	pClientID = "cid/"   // cid/<userID>/<clientID> → eventID (TTL)
	pReceipt  = "rcpt/"  // rcpt/<roomID>/<userID> → receipt record
	pRoomKey  = "rk/"    // rk/<roomID>/<uint32be epoch> → RoomKeyRef
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
type messageRecord struct {
	*node.Message
	O  []byte            `json:"o"`
	EO []byte            `json:"eo,omitempty"`
	RO map[string][]byte `json:"ro,omitempty"`
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

func (t *tx) Account(username string) (*node.Account, error) {
	var a node.Account
	return &a, t.getJSON(key(pAccount, username), &a)
}

func (t *tx) PutAccount(a *node.Account) error { return t.putJSON(key(pAccount, a.Username), a) }

func (t *tx) Profile(id node.UserID) (*node.User, error) {
	var u node.User
	return &u, t.getJSON(key(pProfile, string(id)), &u)
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
	return &s, t.getJSON(key(pSession, id), &s)
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
	return t.del(key(pSessUser, string(s.User), id))
}

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
	return &r, t.getJSON(key(pRefresh, hash), &r)
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
	c.LastMessage = nil // derived at load from the newest message
	c.History = nil     // one key per member (PutMember)
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
	if len(rec.RO) > 0 {
		m.ReactionOrder = make(map[string]node.OrderKey, len(rec.RO))
		for k, v := range rec.RO {
			m.ReactionOrder[k] = v
		}
	}
	return m, nil
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
	item, err = t.txn.Get(append([]byte(pMessage), loc...))
	if err != nil {
		return nil, translate(err)
	}
	var m *node.Message
	err = item.Value(func(v []byte) error {
		m, err = decodeMessage(v)
		return err
	})
	return m, err
}

func (t *tx) PutMessage(m *node.Message) error {
	rec := messageRecord{Message: m, O: m.Order, EO: m.EditOrder}
	if len(m.ReactionOrder) > 0 {
		rec.RO = make(map[string][]byte, len(m.ReactionOrder))
		for k, v := range m.ReactionOrder {
			rec.RO[k] = v
		}
	}
	b, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	loc := keyOrder([]byte(m.Room), m.Order)
	if err := t.set(append([]byte(pMessage), loc...), b); err != nil {
		return err
	}
	if err := t.set(key(pMsgID, string(m.ID)), loc); err != nil {
		return err
	}
	if m.Thread != "" {
		return t.set(keyOrder(key(pThread, string(m.Room), string(m.Thread)), m.Order), nil)
	}
	return nil
}

// scanBack iterates keys under prefix from before (exclusive; nil for the
// end) towards the start, collecting up to limit values.
func (t *tx) scanBack(prefix []byte, before node.OrderKey, limit int, values bool, fn func(k, v []byte) error) (more bool, err error) {
	it := t.txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix, PrefetchValues: values, PrefetchSize: min(limit+1, 100)})
	defer it.Close()
	var seek []byte
	if before != nil {
		seek = append(append([]byte{}, prefix...), before...)
	} else {
		seek = append(append([]byte{}, prefix...), 0xff)
	}
	n := 0
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		if before != nil && bytes.Equal(item.Key()[len(prefix):], before) {
			continue
		}
		if n == limit {
			return true, nil
		}
		n++
		if !values {
			if err := fn(item.Key(), nil); err != nil {
				return false, err
			}
			continue
		}
		if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
			return false, err
		}
	}
	return false, nil
}

func (t *tx) Messages(room node.RoomID, before node.OrderKey, limit int) ([]*node.Message, bool, error) {
	prefix := keyOrder(key(pMessage, string(room)), nil)
	out := make([]*node.Message, 0, limit)
	more, err := t.scanBack(prefix, before, limit, true, func(_, v []byte) error {
		m, err := decodeMessage(v)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, more, err
}

func (t *tx) ThreadMessages(room node.RoomID, root node.EventID, before node.OrderKey, limit int) ([]*node.Message, bool, error) {
	prefix := keyOrder(key(pThread, string(room), string(root)), nil)
	var orders [][]byte
	more, err := t.scanBack(prefix, before, limit, false, func(k, _ []byte) error {
		orders = append(orders, append([]byte{}, k[len(prefix):]...))
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	out := make([]*node.Message, 0, len(orders))
	for _, o := range orders {
		item, err := t.txn.Get(keyOrder(key(pMessage, string(room)), o))
		if err != nil {
			return nil, false, translate(err)
		}
		err = item.Value(func(v []byte) error {
			m, err := decodeMessage(v)
			if err == nil {
				out = append(out, m)
			}
			return err
		})
		if err != nil {
			return nil, false, err
		}
	}
	return out, more, nil
}

func (t *tx) CountMessagesAfter(room node.RoomID, from node.OrderKey, skip node.UserID, max int) (int, error) {
	prefix := keyOrder(key(pMessage, string(room)), nil)
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 32})
	defer it.Close()
	start := append(append([]byte{}, prefix...), from...)
	var probe struct {
		Sender  node.UserID `json:"sender"`
		Deleted bool        `json:"deleted"`
	}
	n := 0
	for it.Seek(start); it.ValidForPrefix(prefix) && n < max; it.Next() {
		item := it.Item()
		if from != nil && bytes.Equal(item.Key()[len(prefix):], from) {
			continue
		}
		probe.Sender, probe.Deleted = "", false
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &probe) }); err != nil {
			return 0, fmt.Errorf("decode message: %w", err)
		}
		if probe.Sender != skip && !probe.Deleted {
			n++
		}
	}
	return n, nil
}

func (t *tx) ClientMessage(u node.UserID, clientID string) (node.EventID, error) {
	item, err := t.txn.Get(key(pClientID, string(u), clientID))
	if err != nil {
		return "", translate(err)
	}
	v, err := item.ValueCopy(nil)
	return node.EventID(v), translate(err)
}

func (t *tx) PutClientMessage(u node.UserID, clientID string, id node.EventID, ttl time.Duration) error {
	return t.putTTL(key(pClientID, string(u), clientID), []byte(id), ttl)
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
	var k *node.RoomKeyRef
	_, err := t.scanBack(prefix, nil, 1, true, func(_, v []byte) error {
		k = &node.RoomKeyRef{}
		if err := json.Unmarshal(v, k); err != nil {
			return fmt.Errorf("decode room key ref: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("no room key for %s: %w", room, node.ErrNotFound)
	}
	return k, nil
}
