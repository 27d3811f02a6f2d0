package p2p

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/hearth-chat/hearth/node"
)

// Topic names (FEDERATION.md §2).
const (
	roomTopicPrefix = "hearth/room/1/"
	presenceTopic   = "hearth/presence/1"
	directoryTopic  = "hearth/directory/1"
)

func roomTopic(id node.RoomID) string { return roomTopicPrefix + string(id) }

func topicRoom(topic string) (node.RoomID, bool) {
	id, ok := strings.CutPrefix(topic, roomTopicPrefix)
	return node.RoomID(id), ok && node.ValidOpaqueID(id)
}

// Gossip payloads start with a kind byte. An event is sent as its wire
// form unchanged, whose first byte is the event version (1), so a stock
// pubsub client reads room events without knowing anything else.
const (
	kindEvent     byte = node.EventVersion // the event wire form itself
	kindTyping    byte = 'T'               // 'T' | JSON typingSignal
	kindPresence  byte = 'P'               // 'P' | JSON heartbeat
	kindDirectory byte = 'D'               // 'D' | JSON announcement
)

// maxGossipMessage bounds a pubsub message: more than an event may be, so
// that an oversized event reaches the validator and is rejected there,
// which penalises the peer that sent it.
const maxGossipMessage = 256 << 10

// messageID is the pubsub message ID: the event ID for events, so that a
// replayed event is recognised as the same message on every node, and a
// hash of the payload for everything else.
func messageID(m *pb.Message) string {
	d := m.GetData()
	if len(d) > 65 && d[0] == kindEvent {
		return messageIDOf(d)
	}
	sum := sha256.Sum256(append(bytes.Clone(m.GetFrom()), d...))
	return "x" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// messageIDOf is the message ID of a payload whose author is unknown.
func messageIDOf(d []byte) string {
	if len(d) > 65 && d[0] == kindEvent {
		sum := sha256.Sum256(d[65:])
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	sum := sha256.Sum256(d)
	return "x" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// typingSignal is an ephemeral typing indicator. The pubsub signature
// (strict signing) authenticates the node that sent it; the user must live
// on that node.
type typingSignal struct {
	Room   node.RoomID `json:"room"`
	User   node.UserID `json:"user"`
	Typing bool        `json:"typing"`
	TS     int64       `json:"ts"`
}

// heartbeat is a node's presence report: its online users at a time.
type heartbeat struct {
	Online []node.UserID `json:"online"`
	TS     int64         `json:"ts"`
}

// announcement is a node's list of public rooms for the directory, with
// its addresses so that a node that wants to join can dial it.
type announcement struct {
	Rooms []*node.Room `json:"rooms"`
	Addrs []string     `json:"addrs,omitempty"`
	TS    int64        `json:"ts"`
}

func encodeKind(kind byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode gossip: %w", err)
	}
	return append([]byte{kind}, b...), nil
}
