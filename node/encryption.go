package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// End-to-end encryption as a room setting (API.md §7). A room is
// encrypted from its create event (content "encrypted": true) or from a
// room.encryption event, authorised like other state events (joined
// admins and the owner of a group room, either member of a DM) and
// applied by every node. Nothing turns it off: a room.encryption event
// with any other algorithm is refused everywhere. From that position in
// room order on, a message or an edit carries the m.room.encrypted
// content in "encrypted" and no body; a plaintext body there is refused,
// whether it comes from a local user or another node. What a reply, a
// thread, an edit or a reaction points at stays in the clear (and a
// reaction's emoji): nodes relate them, and docs/e2ee.md lists them as
// metadata nodes see.

// EncryptionContent turns a room's encryption on.
type EncryptionContent struct {
	Algorithm string `json:"algorithm"`
}

// The fields an m.room.encrypted content may have.
var encryptedFields = []string{"algorithm", "ciphertext", "session_id", "sender_key", "device_id"}

// validEncrypted checks an m.room.encrypted content: a Megolm message
// with its ciphertext and session, nothing else (relations travel in
// Hearth's own fields), within MaxEncryptedBytes.
func validEncrypted(raw json.RawMessage) error {
	obj, err := object(raw, MaxEncryptedBytes, "encrypted")
	if err != nil {
		return err
	}
	for k := range obj {
		if !slices.Contains(encryptedFields, k) {
			return errorf(ErrInvalid, fmt.Sprintf("encrypted has an unknown field %q: relations go in replyTo and thread, in the clear", k))
		}
	}
	if alg, _ := stringField(obj, "algorithm"); alg != MegolmAlgorithm {
		return errorf(ErrInvalid, "encrypted.algorithm must be "+MegolmAlgorithm)
	}
	if c, _ := stringField(obj, "ciphertext"); c == "" {
		return errorf(ErrInvalid, "encrypted.ciphertext must be a non-empty string")
	}
	if sid, _ := stringField(obj, "session_id"); sid == "" || len(sid) > 128 {
		return errorf(ErrInvalid, "encrypted.session_id must be 1 to 128 characters")
	}
	for _, f := range []string{"sender_key", "device_id"} {
		if raw, ok := obj[f]; ok {
			var v string
			if json.Unmarshal(raw, &v) != nil || len(v) > 128 {
				return errorf(ErrInvalid, "encrypted."+f+" must be a string of at most 128 characters")
			}
		}
	}
	return nil
}

// validContent checks the shape of a new message: a body, or an
// encrypted content and no body.
func validContent(body string, encrypted json.RawMessage, attachments bool) error {
	if encrypted == nil {
		return validBody(body, attachments)
	}
	if body != "" {
		return errorf(ErrInvalid, "a message has a body or encrypted content, not both")
	}
	return validEncrypted(encrypted)
}

// EncryptedAt reports whether the room is end-to-end encrypted at order
// key o.
func (s *RoomState) EncryptedAt(o OrderKey) bool {
	return s.Encrypted && bytes.Compare(s.EncryptedOrder, o) < 0
}

// checkContent applies the encryption rule to a message or an edit at
// its position in room order.
func (s *RoomState) checkContent(e *Event, body string, encrypted json.RawMessage, attachments bool) error {
	if err := validContent(body, encrypted, attachments); err != nil {
		return err
	}
	switch enc := s.EncryptedAt(e.Order()); {
	case enc && encrypted == nil:
		return errorf(ErrInvalid, `this room is end-to-end encrypted: send the message as "encrypted" (the m.room.encrypted content), never as a plaintext body`)
	case !enc && encrypted != nil:
		return errorf(ErrInvalid, "this room is not end-to-end encrypted: send a plaintext body")
	}
	return nil
}

// settleEncryption derives Encrypted and EncryptedOrder from the create
// and the earliest room.encryption event, so that every node holding the
// same events agrees whatever order they came in.
func (s *RoomState) settleEncryption() {
	switch {
	case s.CreateEncrypted:
		s.Encrypted, s.EncryptedOrder = true, s.CreateOrder
	case s.EncryptionOrder != nil:
		s.Encrypted, s.EncryptedOrder = true, s.EncryptionOrder
	default:
		s.Encrypted, s.EncryptedOrder = false, nil
	}
}

func (s *RoomState) authorizeEncryption(e *Event, state, role string) error {
	c, err := decodeContent[EncryptionContent](e)
	if err != nil {
		return err
	}
	if c.Algorithm != MegolmAlgorithm {
		return errorf(ErrForbidden, "end-to-end encryption can never be turned off or changed")
	}
	if state == "" && s.pendingOrigin(e) {
		return ErrPending
	}
	if state != MemberJoin {
		return errorf(ErrForbidden, "sender is not a member of the room")
	}
	if s.Kind != KindDM && rank(role) < rank(RoleAdmin) {
		return errorf(ErrForbidden, "only admins may turn on encryption")
	}
	return nil
}

// RoomOptions are the choices of a new room beyond its name.
type RoomOptions struct {
	// Encrypted makes it end-to-end encrypted from its creation.
	Encrypted bool
}

// EnableEncryption turns end-to-end encryption on in a room (POST
// /api/v1/rooms/{id}/encryption); a room that is encrypted already is
// returned as it is.
func (n *Node) EnableEncryption(ctx context.Context, u UserID, id RoomID) (*Room, error) {
	r, err := n.memberRoom(u, id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.state.Encrypted {
		view := r.state.View(u)
		r.mu.Unlock()
		return n.viewFor(ctx, view, u), nil
	}
	res, err := n.emitNew(ctx, r, EventEncryption, u, EncryptionContent{Algorithm: MegolmAlgorithm})
	if err != nil {
		return nil, fmt.Errorf("enable encryption: %w", err)
	}
	return n.viewFor(ctx, res.room, u), nil
}

// EditEncrypted replaces the encrypted content of u's own message in an
// encrypted room.
func (n *Node) EditEncrypted(ctx context.Context, u UserID, room RoomID, id EventID, encrypted json.RawMessage) (*Message, error) {
	if err := validEncrypted(encrypted); err != nil {
		return nil, err
	}
	m, err := n.change(ctx, u, room, EventEdit, EditContent{Target: id, Encrypted: encrypted})
	if err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	if m == nil {
		return n.Message(ctx, u, room, id)
	}
	return m, nil
}

// memberNamed reports whether the user a member event names is joined
// before the event is applied.
func memberNamed(s *RoomState, e *Event) bool {
	if e.Type != EventMember {
		return false
	}
	c, err := decodeContent[MemberContent](e)
	return err == nil && s.IsMember(c.User)
}

// e2eeStateChanged hands the device-list work of a state change in an
// encrypted room to the e2ee worker: members who join or leave, or a
// room that just became encrypted. wasEnc and wasMember are the room's
// encryption and the named user's membership before e. r.mu is held;
// nothing here blocks.
func (n *Node) e2eeStateChanged(wasEnc, wasMember bool, s *RoomState, e *Event) {
	if !s.Encrypted {
		return
	}
	if !wasEnc {
		n.e2ee.membership(membershipJob{room: s.ID})
		return
	}
	if e.Type != EventMember {
		return
	}
	c, err := decodeContent[MemberContent](e)
	if err != nil {
		return
	}
	if now := s.IsMember(c.User); now != wasMember {
		n.e2ee.membership(membershipJob{room: s.ID, user: c.User, joined: now})
	}
}
