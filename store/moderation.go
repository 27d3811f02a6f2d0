package store

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// DeleteEvent removes a room's event at o and its place in room order
// (revalidation deletes events that an earlier, late event made invalid).
func (t *tx) DeleteEvent(room node.RoomID, o node.OrderKey) error {
	id := node.IDFromOrder(o)
	if id == "" {
		return nil
	}
	if err := t.del(key(pEvent, string(id))); err != nil {
		return err
	}
	return t.del(keyOrder(key(pTimeline, string(room)), o))
}

// DeleteMessage removes a message record, its page index entry, its other
// indexes and its reaction records, so that nothing refers to it.
func (t *tx) DeleteMessage(m *node.Message) error {
	loc := keyOrder([]byte(m.Room), m.Order)
	dels := [][]byte{
		append([]byte(pMessage), loc...),
		keyOrder(key(pMsgOrder, string(m.Room)), m.Order),
		key(pMsgID, string(m.ID)),
		key(pAgg, string(m.ID)),
	}
	if m.Thread != "" {
		dels = append(dels, keyOrder(key(pThread, string(m.Room), string(m.Thread)), m.Order))
	}
	if m.ClientID != "" {
		dels = append(dels, key(pClientID, string(m.Sender), string(m.Room), m.ClientID))
	}
	for _, u := range m.Mentions {
		dels = append(dels, keyOrder(key(pMention, string(m.Room), string(u)), m.Order))
	}
	if m.MentionsRoom {
		dels = append(dels, keyOrder(key(pRoomMent, string(m.Room)), m.Order))
	}
	dels = append(dels, t.keysUnder(append(key(pUserRx, string(m.ID)), '/'))...)
	dels = append(dels, t.keysUnder(append(key(pRx, string(m.ID)), '/'))...)
	for _, k := range dels {
		if err := t.del(k); err != nil {
			return err
		}
	}
	return nil
}

// keysUnder lists the keys under prefix without reading their values.
func (t *tx) keysUnder(prefix []byte) [][]byte {
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var out [][]byte
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		out = append(out, it.Item().KeyCopy(nil))
	}
	return out
}
