package node

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// NodeID is the libp2p peer ID of a node's Ed25519 key ("12D3KooW...").
type NodeID string

// UserID is "<username>@<nodeID>".
type UserID string

// RoomID is an opaque URL-safe room identifier.
type RoomID string

// EventID is the content address of an event: base64url(sha256(body)).
// A message's ID is the ID of the event that created it.
type EventID string

// Username validation limits from API.md §2.
const (
	MinUsernameLen = 3
	MaxUsernameLen = 32
	MaxIDLen       = 128
)

// NewUserID joins a username and its home node.
func NewUserID(username string, node NodeID) UserID {
	return UserID(username + "@" + string(node))
}

// Split returns the username and home node of u. ok is false when u is not
// of the form "<username>@<nodeID>" with a valid username.
func (u UserID) Split() (username string, node NodeID, ok bool) {
	name, n, found := strings.Cut(string(u), "@")
	if !found || ValidUsername(name) != nil || n == "" || len(u) > MaxIDLen+MaxUsernameLen+1 {
		return "", "", false
	}
	return name, NodeID(n), true
}

// Node returns the home node of u, or "" when u is malformed.
func (u UserID) Node() NodeID {
	_, n, _ := u.Split()
	return n
}

// NormalizeUsername lower-cases a username; validation is separate.
func NormalizeUsername(s string) string { return strings.ToLower(s) }

// ValidUsername checks the rules of API.md §2 on an already lower-cased name.
func ValidUsername(s string) error {
	if len(s) < MinUsernameLen || len(s) > MaxUsernameLen {
		return errorf(ErrInvalid, fmt.Sprintf("username must be %d to %d characters", MinUsernameLen, MaxUsernameLen))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return errorf(ErrInvalid, "username may contain only a-z, 0-9, '.', '_' and '-'")
		}
	}
	return nil
}

// ValidOpaqueID checks a room or event ID from outside: URL-safe and short.
func ValidOpaqueID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}

var b64 = base64.RawURLEncoding

// newGroupRoomID returns a fresh random room ID. 128 random bits make
// collisions across nodes negligible without coordination.
func newGroupRoomID() RoomID {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	return RoomID("r" + b64.EncodeToString(b[:]))
}

// DMRoomID is the one room ID of the direct conversation between a and b,
// the same on every node: a hash of the two user IDs in sorted order.
func DMRoomID(a, b UserID) RoomID {
	if b < a {
		a, b = b, a
	}
	h := sha256.Sum256([]byte("hearth/dm/1\x00" + string(a) + "\x00" + string(b)))
	return RoomID("d" + b64.EncodeToString(h[:24]))
}

// IsDM reports whether id has the shape of a DM room ID.
func (id RoomID) IsDM() bool { return strings.HasPrefix(string(id), "d") }

// eventIDOf is the content address of an event body.
func eventIDOf(body []byte) EventID {
	h := sha256.Sum256(body)
	return EventID(b64.EncodeToString(h[:]))
}
