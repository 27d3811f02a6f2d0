package node

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode"
)

// To-device messages (API.md §7): a device's inbox keeps them until the
// device acknowledges them, and every new connection of the device is
// sent what is still there. A message for another node's user goes
// through the durable outbox (outbox.go) and is stored once on arrival,
// whatever the retries.

// Pokes tell a device's connections what to read again; see NoteDevice.
const (
	PokeToDevice    = 1 << iota // its to-device inbox
	PokeDeviceLists             // its device-list entries
	PokeKeyCounts               // its one-time key counts
)

// ToDeviceEvent is a to-device event as a device receives it: sender in
// Matrix form, since the OlmMachine checks it against the Olm message.
type ToDeviceEvent struct {
	Sender  string          `json:"sender"`
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
}

// pokeDevice tells the connections of u's device d (every device when d
// is empty) to read what kinds of things again.
func (n *Node) pokeDevice(u UserID, d DeviceID, kinds int) {
	n.notify.Notify([]UserID{u}, &Notification{Kind: NoteDevice, Device: d, Poke: kinds})
}

func validEventType(t string) error {
	if t == "" || len(t) > MaxToDeviceTypeLen {
		return errorf(ErrInvalid, fmt.Sprintf("event type must be 1 to %d characters", MaxToDeviceTypeLen))
	}
	for _, r := range t {
		if !unicode.IsPrint(r) || r == ' ' || r == '/' {
			return errorf(ErrInvalid, "event type must be printable, without spaces or slashes")
		}
	}
	return nil
}

// messageID is the idempotency key of a to-device message on its way to
// another node: the same send, retried, has the same ID.
func messageID(sender UserID, dev DeviceID, txn, evType string, to UserID, toDevice string) string {
	h := sha256.Sum256([]byte("hearth/todevice/1\x00" + string(sender) + "\x00" + string(dev) + "\x00" + txn + "\x00" + evType + "\x00" + string(to) + "\x00" + toDevice))
	return b64.EncodeToString(h[:16])
}

// SendToDevice queues a sendToDevice request of u's device dev (PUT
// /sendToDevice/{eventType}/{txnId}): messages maps Matrix user IDs to
// device IDs (or "*" for every device) to contents. A repeated txn from
// the same device is accepted and delivers nothing again. The request is
// refused whole when an inbox or the outbox to a node is full, so that a
// retry delivers it whole.
func (n *Node) SendToDevice(ctx context.Context, u UserID, dev DeviceID, evType, txn string, messages map[string]map[string]json.RawMessage) error {
	if err := validEventType(evType); err != nil {
		return err
	}
	if txn == "" || len(txn) > MaxToDeviceTxnLen {
		return errorf(ErrInvalid, fmt.Sprintf("txnId must be 1 to %d characters", MaxToDeviceTxnLen))
	}
	type target struct {
		to     UserID
		device string
		c      json.RawMessage
	}
	var targets []target
	for mu, devs := range messages {
		to, ok := UserFromMatrix(mu)
		if !ok {
			return errorf(ErrInvalid, "messages must be keyed by Matrix user IDs (@name:node)")
		}
		for d, c := range devs {
			if d != "*" && !ValidDeviceID(d) {
				return errorf(ErrInvalid, "messages must be keyed by device IDs or \"*\"")
			}
			if len(c) > MaxToDeviceBytes {
				return errorf(ErrTooLarge, fmt.Sprintf("a to-device message is over %d bytes", MaxToDeviceBytes))
			}
			if _, err := object(c, MaxToDeviceBytes, "a to-device message"); err != nil {
				return err
			}
			targets = append(targets, target{to, d, c})
		}
	}
	if len(targets) > MaxToDeviceRecipients {
		return errorf(ErrTooLarge, fmt.Sprintf("at most %d devices per request", MaxToDeviceRecipients))
	}
	var poked []devRef
	remote := false
	now := n.now().UnixMilli()
	err := n.store.Update(ctx, func(tx Tx) error {
		poked, remote = poked[:0], false
		if seen, err := tx.ToDeviceTxn(u, dev, txn); err != nil || seen {
			return err
		}
		for _, t := range targets {
			if n.IsLocal(t.to) {
				got, err := n.deliverLocal(tx, u, t.to, t.device, evType, t.c)
				if err != nil {
					return err
				}
				poked = append(poked, got...)
				continue
			}
			out := &Outbound{
				To: t.to.Node(), ID: messageID(u, dev, txn, evType, t.to, t.device), Sender: u, Type: evType,
				Content: t.c, ToUser: t.to, ToDevice: t.device, CreatedAt: now,
			}
			if err := queueOutbound(tx, out); err != nil {
				return err
			}
			remote = true
		}
		return tx.PutToDeviceTxn(u, dev, txn, ToDeviceTxnTTL)
	})
	if err != nil {
		return fmt.Errorf("send to device: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return err
	}
	for _, p := range poked {
		n.pokeDevice(p.u, p.d, PokeToDevice)
	}
	if remote {
		n.e2ee.wakeOutbox()
	}
	return nil
}

type devRef struct {
	u UserID
	d DeviceID
}

// deliverLocal puts a message into the inboxes of a local user's device
// (or every device for "*"), all or none: a full inbox refuses it with
// ErrRateLimited. An unknown device gets nothing (as in Matrix).
func (n *Node) deliverLocal(tx Tx, sender, to UserID, device, evType string, content json.RawMessage) ([]devRef, error) {
	var devs []DeviceID
	if device == "*" {
		if err := tx.EachDevice(to, func(d *Device) bool {
			devs = append(devs, d.ID)
			return true
		}); err != nil {
			return nil, err
		}
	} else if _, err := tx.Device(to, DeviceID(device)); err == nil {
		devs = []DeviceID{DeviceID(device)}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	boxes := make([]*Mailbox, len(devs))
	for i, d := range devs {
		m, err := mailbox(tx, to, d)
		if err != nil {
			return nil, err
		}
		if m.Count+1 > MaxInboxMessages || m.Bytes+len(content) > MaxInboxBytes {
			return nil, errorf(ErrRateLimited, fmt.Sprintf("the to-device inbox of %s device %s is full; try again later", MatrixUserID(to), d))
		}
		boxes[i] = m
	}
	out := make([]devRef, 0, len(devs))
	for _, m := range boxes {
		m.NextToDevice++
		m.Count++
		m.Bytes += len(content)
		if err := tx.PutToDevice(to, m.Device, &ToDeviceMessage{Seq: m.NextToDevice, Sender: sender, Type: evType, Content: content}); err != nil {
			return nil, err
		}
		if err := tx.PutMailbox(m); err != nil {
			return nil, err
		}
		out = append(out, devRef{to, m.Device})
	}
	return out, nil
}

// mailbox reads a device's mailbox bookkeeping, new when absent.
func mailbox(tx Tx, u UserID, d DeviceID) (*Mailbox, error) {
	m, err := tx.Mailbox(u, d)
	if errors.Is(err, ErrNotFound) {
		return &Mailbox{User: u, Device: d}, nil
	}
	return m, err
}

// queueOutbound adds a message to the outbox towards its node, within
// the outbox's caps.
func queueOutbound(tx Tx, m *Outbound) error {
	st, err := tx.OutboxState(m.To)
	if errors.Is(err, ErrNotFound) {
		st, err = &OutboxState{Node: m.To}, nil
	}
	if err != nil {
		return err
	}
	if st.Count+1 > MaxOutboxMessages || st.Bytes+len(m.Content) > MaxOutboxBytes {
		return errorf(ErrRateLimited, fmt.Sprintf("too many messages wait for node %s; try again later", m.To))
	}
	st.Next++
	st.Count++
	st.Bytes += len(m.Content)
	m.Seq = st.Next
	if err := tx.PutOutbound(m); err != nil {
		return err
	}
	return tx.PutOutboxState(st)
}

// Delivery results of ReceiveToDevice, per message.
const (
	ReceivedOK   = ""
	ReceivedFull = "full"
)

// ReceiveToDevice stores to-device messages that another node sends for
// this node's users and answers, per message, ReceivedOK once it is
// durably stored (or was before: the IDs are remembered), or why not. A
// node speaks only for its own users: a message whose sender is not a
// user of from is refused.
func (n *Node) ReceiveToDevice(ctx context.Context, from NodeID, msgs []*Outbound) ([]string, error) {
	results := make([]string, len(msgs))
	for i, m := range msgs {
		switch {
		case m.Sender.Node() != from:
			results[i] = "the sender is not a user of the sending node"
		case !n.IsLocal(m.ToUser):
			results[i] = "the recipient does not live on this node"
		case m.ID == "" || len(m.ID) > MaxIDLen:
			results[i] = "bad message id"
		case m.ToDevice != "*" && !ValidDeviceID(m.ToDevice):
			results[i] = "bad device id"
		case validEventType(m.Type) != nil || len(m.Content) > MaxToDeviceBytes:
			results[i] = "bad type or content"
		}
		if results[i] == "" {
			if _, err := object(m.Content, MaxToDeviceBytes, "content"); err != nil {
				results[i] = "content is not a JSON object"
			}
		}
	}
	var poked []devRef
	err := n.store.Update(ctx, func(tx Tx) error {
		poked = poked[:0]
		for i, m := range msgs {
			if results[i] != "" && results[i] != ReceivedFull {
				continue
			}
			results[i] = ReceivedOK
			if seen, err := tx.Received(from, m.ID); err != nil {
				return err
			} else if seen {
				continue
			}
			got, err := n.deliverLocal(tx, m.Sender, m.ToUser, m.ToDevice, m.Type, m.Content)
			if errors.Is(err, ErrRateLimited) {
				results[i] = ReceivedFull
				continue
			} else if err != nil {
				return err
			}
			poked = append(poked, got...)
			if err := tx.PutReceived(from, m.ID, ReceivedIDTTL); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("receive to-device: %w", err)
	}
	// The sender forgets a message once it is acknowledged: the
	// acknowledgement waits for the disk.
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	for _, p := range poked {
		n.pokeDevice(p.u, p.d, PokeToDevice)
	}
	return results, nil
}

// ToDeviceInbox reads a device's undelivered messages after seq after,
// at most limit of them and about maxBytes of content, and the seq of the
// last one returned.
func (n *Node) ToDeviceInbox(ctx context.Context, u UserID, d DeviceID, after uint64, limit, maxBytes int) ([]ToDeviceEvent, uint64, error) {
	var msgs []*ToDeviceMessage
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		msgs, err = tx.ToDeviceAfter(u, d, after, limit)
		return err
	})
	if err != nil {
		return nil, after, fmt.Errorf("to-device inbox: %w", err)
	}
	out := make([]ToDeviceEvent, 0, len(msgs))
	last, size := after, 0
	for _, m := range msgs {
		if size > 0 && size+len(m.Content) > maxBytes {
			break
		}
		size += len(m.Content)
		out = append(out, ToDeviceEvent{Sender: MatrixUserID(m.Sender), Type: m.Type, Content: m.Content})
		last = m.Seq
	}
	return out, last, nil
}

// AckToDevice removes the device's messages up to seq upTo: the client
// has handed them to its OlmMachine.
func (n *Node) AckToDevice(ctx context.Context, u UserID, d DeviceID, upTo uint64) error {
	err := n.store.Update(ctx, func(tx Tx) error {
		msgs, err := tx.ToDeviceAfter(u, d, 0, MaxInboxMessages+1)
		if err != nil {
			return err
		}
		m, err := mailbox(tx, u, d)
		if err != nil {
			return err
		}
		done := 0
		for _, msg := range msgs {
			if msg.Seq > upTo {
				break
			}
			if err := tx.DeleteToDevice(u, d, msg.Seq); err != nil {
				return err
			}
			m.Count = max(m.Count-1, 0)
			m.Bytes = max(m.Bytes-len(msg.Content), 0)
			done++
		}
		if done == 0 {
			return nil
		}
		if _, err := tx.Device(u, d); err != nil {
			return nil // deleted meanwhile: nothing to keep
		}
		return tx.PutMailbox(m)
	})
	if err != nil {
		return fmt.Errorf("ack to-device: %w", err)
	}
	return nil
}

// DeviceListInbox reads a device's pending device-list entries after seq
// after: the users whose devices changed, those who share no encrypted
// room with it any more, and the seq of the last entry returned.
func (n *Node) DeviceListInbox(ctx context.Context, u UserID, d DeviceID, after uint64, limit int) (changed, left []UserID, last uint64, err error) {
	var entries []*DeviceListEntry
	err = n.store.View(ctx, func(tx Tx) error {
		var err error
		entries, err = tx.DeviceListEntries(u, d, after, limit)
		return err
	})
	if err != nil {
		return nil, nil, after, fmt.Errorf("device lists: %w", err)
	}
	last = after
	for _, e := range entries {
		if e.Left {
			left = append(left, e.User)
		} else {
			changed = append(changed, e.User)
		}
		last = max(last, e.Seq)
	}
	return changed, left, last, nil
}

// AckDeviceLists removes the device's device-list entries up to seq
// upTo; an entry rewritten since has a higher seq and stays.
func (n *Node) AckDeviceLists(ctx context.Context, u UserID, d DeviceID, upTo uint64) error {
	err := n.store.Update(ctx, func(tx Tx) error {
		entries, err := tx.DeviceListEntries(u, d, 0, MaxDeviceListEntries+1)
		if err != nil {
			return err
		}
		m, err := mailbox(tx, u, d)
		if err != nil {
			return err
		}
		done := 0
		for _, e := range entries {
			if e.Seq > upTo {
				break
			}
			if err := tx.DeleteDeviceListEntry(u, d, e.User); err != nil {
				return err
			}
			m.DeviceLists = max(m.DeviceLists-1, 0)
			done++
		}
		if done == 0 {
			return nil
		}
		if _, err := tx.Device(u, d); err != nil {
			return nil
		}
		return tx.PutMailbox(m)
	})
	if err != nil {
		return fmt.Errorf("ack device lists: %w", err)
	}
	return nil
}

// addDeviceListEntries records in tx, for every device of local user l,
// that about's devices changed (or that they share no encrypted room any
// more). It returns whether there was a device to tell.
func addDeviceListEntries(tx Tx, l, about UserID, left bool) (bool, error) {
	var devs []DeviceID
	if err := tx.EachDevice(l, func(d *Device) bool {
		devs = append(devs, d.ID)
		return true
	}); err != nil {
		return false, err
	}
	for _, d := range devs {
		m, err := mailbox(tx, l, d)
		if err != nil {
			return false, err
		}
		old, err := tx.DeviceListEntry(l, d, about)
		if errors.Is(err, ErrNotFound) {
			if m.DeviceLists >= MaxDeviceListEntries {
				continue // the device has not read its entries for long; see docs/e2ee.md
			}
			m.DeviceLists++
		} else if err != nil {
			return false, err
		} else if old.Left == left && left {
			continue
		}
		m.NextDeviceList++
		if err := tx.PutDeviceListEntry(l, d, &DeviceListEntry{User: about, Left: left, Seq: m.NextDeviceList}); err != nil {
			return false, err
		}
		if err := tx.PutMailbox(m); err != nil {
			return false, err
		}
	}
	return len(devs) > 0, nil
}

// sortedUsers returns a set's members in order.
func sortedUsers(set map[UserID]bool) []UserID {
	out := make([]UserID, 0, len(set))
	for u := range set {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}
