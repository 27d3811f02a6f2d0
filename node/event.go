package node

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// EventType names what an event changes.
type EventType string

// The event types. Each has a Content struct below; unknown types are
// rejected so that every node applies the same rules.
const (
	EventCreate   EventType = "room.create"    // CreateContent; first event of a room
	EventUpdate   EventType = "room.update"    // RoomUpdateContent; name, topic and avatar
	EventMember   EventType = "member"         // MemberContent; join, invite, leave, kick, ban, role
	EventMessage  EventType = "message"        // MessageContent
	EventEdit     EventType = "message.edit"   // EditContent
	EventDelete   EventType = "message.delete" // DeleteContent
	EventReaction EventType = "reaction"       // ReactionContent
	EventReceipt  EventType = "receipt"        // ReceiptContent; read markers
	EventProfile  EventType = "profile"        // ProfileContent; Room is empty
	EventRoomKey  EventType = "room.key"       // RoomKeyContent; sealed room keys for member nodes
	// EventEncryption turns end-to-end encryption on (EncryptionContent);
	// nothing turns it off (encryption.go).
	EventEncryption EventType = "room.encryption"
	// EventPowers sets the room's powers table (PowersContent, powers.go).
	EventPowers EventType = "room.powers"
	// EventPin pins or unpins a message (PinContent).
	EventPin EventType = "room.pin"
)

// Event limits from FEDERATION.md.
const (
	EventVersion   = 1
	MaxEventSize   = 64 << 10
	MaxFutureSkew  = 5 * time.Minute
	MaxBodyBytes   = 16 << 10
	sigContextText = "hearth/event/1\x00"
)

// Event is one signed change to the shared world. Its wire form (Raw) is
//
//	version byte (1) | Ed25519 signature (64 bytes) | body (JSON)
//
// where the signature covers "hearth/event/1\x00" followed by body, and the
// ID is base64url(sha256(body)). Verifying the bytes as received means no
// canonical JSON is needed: the origin's encoding is the one that counts.
type Event struct {
	V       int             `json:"v"`
	Type    EventType       `json:"type"`
	Room    RoomID          `json:"room,omitempty"`
	Sender  UserID          `json:"sender"`
	Origin  NodeID          `json:"origin"`
	TS      int64           `json:"ts"`
	LC      uint32          `json:"lc,omitempty"`
	Content json.RawMessage `json:"content"`

	ID  EventID `json:"-"`
	Raw []byte  `json:"-"`

	// parsed is the content Content was encoded from (a *T of one of the
	// content types), for events built here; nil for events decoded from
	// the wire.
	parsed any
}

// Stamp is the event's hybrid logical clock reading.
func (e *Event) Stamp() Stamp { return Stamp{Wall: e.TS, Logical: e.LC} }

// Order is the event's position in its room.
func (e *Event) Order() OrderKey { return MakeOrderKey(e.Stamp(), e.ID) }

// Signer signs event bodies with the node key.
type Signer struct {
	key ed25519.PrivateKey
	id  NodeID
}

// NewSigner wraps a node key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, id: NodeIDFromKey(key.Public().(ed25519.PublicKey))}
}

// NodeID is the ID of the signing node.
func (s *Signer) NodeID() NodeID { return s.id }

// Seal encodes, signs and addresses e, filling V, Origin, ID and Raw.
func (s *Signer) Seal(e *Event) error {
	e.V = EventVersion
	e.Origin = s.id
	body, ok := appendBody(make([]byte, 0, 192+len(e.Content)), e)
	if !ok {
		var err error
		if body, err = json.Marshal(e); err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
	}
	if len(body)+1+ed25519.SignatureSize > MaxEventSize {
		return errorf(ErrTooLarge, "event is over 64 KiB")
	}
	sig := ed25519.Sign(s.key, signedBytes(body))
	raw := make([]byte, 0, 1+len(sig)+len(body))
	raw = append(raw, EventVersion)
	raw = append(raw, sig...)
	raw = append(raw, body...)
	e.Raw = raw
	e.ID = eventIDOf(body)
	return nil
}

// appendBody appends e's body exactly as json.Marshal encodes it, without
// reflection, when that is sure to need no escaping: the ID fields are
// plain ASCII and the content was encoded here by json.Marshal (so it is
// compact and escaped already). ok is false otherwise, and the caller
// uses json.Marshal. Signing every local event goes through here.
func appendBody(b []byte, e *Event) ([]byte, bool) {
	if e.parsed == nil || len(e.Content) == 0 || !plain(string(e.Type)) || !plain(string(e.Room)) ||
		!plain(string(e.Sender)) || !plain(string(e.Origin)) {
		return nil, false
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(e.V), 10)
	b = append(b, `,"type":"`...)
	b = append(b, e.Type...)
	if e.Room != "" {
		b = append(b, `","room":"`...)
		b = append(b, e.Room...)
	}
	b = append(b, `","sender":"`...)
	b = append(b, e.Sender...)
	b = append(b, `","origin":"`...)
	b = append(b, e.Origin...)
	b = append(b, `","ts":`...)
	b = strconv.AppendInt(b, e.TS, 10)
	if e.LC != 0 {
		b = append(b, `,"lc":`...)
		b = strconv.AppendUint(b, uint64(e.LC), 10)
	}
	b = append(b, `,"content":`...)
	b = append(b, e.Content...)
	return append(b, '}'), true
}

// plain reports whether json.Marshal writes s as it is between quotes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func signedBytes(body []byte) []byte {
	b := make([]byte, 0, len(sigContextText)+len(body))
	return append(append(b, sigContextText...), body...)
}

// DecodeEvent parses and verifies an event's wire form: version, size,
// signature by the origin's key, that the sender lives on the origin node,
// and the basic shape of the fields. It does not decide authorisation,
// which needs room state. now bounds how far in the future ts may be.
func DecodeEvent(raw []byte, now time.Time) (*Event, error) {
	if len(raw) > MaxEventSize {
		return nil, errorf(ErrTooLarge, "event is over 64 KiB")
	}
	if len(raw) < 1+ed25519.SignatureSize+2 {
		return nil, errorf(ErrInvalid, "event is truncated")
	}
	if raw[0] != EventVersion {
		return nil, errorf(ErrInvalid, fmt.Sprintf("unknown event version %d", raw[0]))
	}
	sig, body := raw[1:1+ed25519.SignatureSize], raw[1+ed25519.SignatureSize:]
	if !utf8.Valid(body) {
		return nil, errorf(ErrInvalid, "event body is not valid UTF-8")
	}
	var e Event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return nil, errorf(ErrInvalid, "event body is not valid JSON")
	}
	if dec.More() {
		return nil, errorf(ErrInvalid, "trailing data after event body")
	}
	if e.V != EventVersion {
		return nil, errorf(ErrInvalid, fmt.Sprintf("unknown event version %d", e.V))
	}
	pub, err := e.Origin.PublicKey()
	if err != nil {
		return nil, errorf(ErrInvalid, "event origin is not a node id")
	}
	if !ed25519.Verify(pub, signedBytes(body), sig) {
		return nil, errorf(ErrForbidden, "bad event signature")
	}
	if e.Sender.Node() != e.Origin {
		return nil, errorf(ErrForbidden, "event sender does not live on its origin node")
	}
	if e.TS <= 0 || time.UnixMilli(e.TS).After(now.Add(MaxFutureSkew)) {
		return nil, errorf(ErrInvalid, "event timestamp is more than 5 minutes in the future")
	}
	if e.Room != "" && !ValidOpaqueID(string(e.Room)) {
		return nil, errorf(ErrInvalid, "bad room id")
	}
	if e.Room == "" && e.Type != EventProfile {
		return nil, errorf(ErrInvalid, "event has no room")
	}
	e.ID = eventIDOf(body)
	e.Raw = raw
	return &e, nil
}

// Content types, one per EventType.
type (
	// CreateContent opens a room. For a DM, Members names the two users and
	// the room ID must equal DMRoomID of them.
	CreateContent struct {
		Name       string   `json:"name,omitempty"`
		Topic      string   `json:"topic,omitempty"`
		Kind       string   `json:"kind"`       // "group" or "dm"
		Visibility string   `json:"visibility"` // "public" or "private"
		Members    []UserID `json:"members,omitempty"`
		// Encrypted creates the room end-to-end encrypted.
		Encrypted bool `json:"encrypted,omitempty"`
	}
	// RoomUpdateContent changes a room's name, topic or avatar (a media
	// ID; empty clears it). Each field needs its own power.
	RoomUpdateContent struct {
		Name   *string `json:"name,omitempty"`
		Topic  *string `json:"topic,omitempty"`
		Avatar *string `json:"avatar,omitempty"`
	}
	// MemberContent changes User's membership; Sender is the actor.
	MemberContent struct {
		User       UserID `json:"user"`
		Membership string `json:"membership"` // join, invite, leave, kick, ban, role
		Role       string `json:"role,omitempty"`
		Reason     string `json:"reason,omitempty"`
	}
	// MessageContent is a chat message. In an end-to-end encrypted room
	// Encrypted (the m.room.encrypted content) replaces Body; private
	// rooms are also sealed as whole events in transit (p2p's envelopes).
	MessageContent struct {
		Body        string            `json:"body,omitempty"`
		Encrypted   json.RawMessage   `json:"encrypted,omitempty"`
		ReplyTo     EventID           `json:"replyTo,omitempty"`
		Thread      EventID           `json:"thread,omitempty"`
		ClientID    string            `json:"clientId,omitempty"`
		Attachments []json.RawMessage `json:"attachments,omitempty"`
		// Mentions and MentionsRoom are the users the message mentions,
		// and whether it mentions the whole room (mentions.go).
		Mentions     []UserID `json:"mentions,omitempty"`
		MentionsRoom bool     `json:"mentionsRoom,omitempty"`
	}
	// EditContent replaces the body of Target, a message of the sender.
	EditContent struct {
		Target    EventID         `json:"target"`
		Body      string          `json:"body,omitempty"`
		Encrypted json.RawMessage `json:"encrypted,omitempty"`
	}
	// DeleteContent removes Target's body.
	DeleteContent struct {
		Target EventID `json:"target"`
	}
	// ReactionContent adds (On) or removes an emoji reaction.
	ReactionContent struct {
		Target EventID `json:"target"`
		Emoji  string  `json:"emoji"`
		On     bool    `json:"on"`
	}
	// ReceiptContent is a read marker.
	ReceiptContent struct {
		UpTo EventID `json:"upTo"`
	}
	// ProfileContent is a user's public profile.
	ProfileContent struct {
		DisplayName string `json:"displayName"`
		Avatar      string `json:"avatar,omitempty"`
	}
	// RoomKeyContent carries a new room key epoch, sealed separately for
	// each member node with X25519 derived from the node keys.
	RoomKeyContent struct {
		Epoch uint32            `json:"epoch"`
		Keys  map[NodeID][]byte `json:"keys"`
	}
)

// decodeContent parses e.Content strictly enough that every node reads it
// the same way. An event built here returns the content it was made
// from, which callers must not change.
func decodeContent[T any](e *Event) (*T, error) {
	if p, ok := e.parsed.(*T); ok {
		return p, nil
	}
	var c T
	if err := json.Unmarshal(e.Content, &c); err != nil {
		return nil, errorf(ErrInvalid, fmt.Sprintf("bad %s content", e.Type))
	}
	return &c, nil
}
