package memstore

import "github.com/hearth-chat/hearth/node"

// DeleteEvent removes a room's event at o and its place in room order.
func (t *tx) DeleteEvent(room node.RoomID, o node.OrderKey) error {
	id := node.IDFromOrder(o)
	if id == "" {
		return nil
	}
	if err := t.del(key(pEvent, string(id))); err != nil {
		return err
	}
	return t.del(key(pTimeline, string(room), string(o)))
}

// DeleteMessage removes a message record, its indexes and its reaction
// records.
func (t *tx) DeleteMessage(m *node.Message) error {
	dels := []string{messageKey(m.Room, m.Order), key(pMsgID, string(m.ID)), key(pAgg, string(m.ID))}
	if m.Thread != "" {
		dels = append(dels, key(pThread, string(m.Room), string(m.Thread), string(m.Order)))
	}
	if m.ClientID != "" {
		dels = append(dels, key(pClientID, string(m.Sender), string(m.Room), m.ClientID))
	}
	for _, p := range []string{key(pUserRx, string(m.ID)) + "/", key(pRx, string(m.ID)) + "/"} {
		t.ascend(p, p, func(it item) bool {
			dels = append(dels, it.key)
			return true
		})
	}
	for _, k := range dels {
		if err := t.del(k); err != nil {
			return err
		}
	}
	return nil
}
