package p2p

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hearth-chat/hearth/node"
)

// Private rooms on gossip. Their events are pushed to the room's nodes
// over streams (the path that guarantees delivery) and, in addition,
// published on the room topic inside an envelope that only the room's
// nodes can open:
//
//	'E' | JSON {"room", "epoch", "nonce", "box"}
//
// box = XChaCha20-Poly1305(room key of epoch, nonce, event wire form,
// ad = "hearth/envelope/1\x00" || room || uint32be(epoch)). The domain
// owns the room keys (which exist, which is current, when to rotate): it
// hands the current one over with each event's delivery, and the key of
// an epoch on request (Ingester.RoomKey) to open what arrives. See
// docs/protocol.md §6.

const kindEnvelope byte = 'E'

type envelope struct {
	Room  node.RoomID `json:"room"`
	Epoch uint32      `json:"epoch"`
	Nonce []byte      `json:"nonce"`
	Box   []byte      `json:"box"`
}

func envelopeAD(room node.RoomID, epoch uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("hearth/envelope/1\x00"+string(room)), epoch)
}

// sealEnvelope puts an event of a private room in an envelope under key.
func sealEnvelope(e *node.Event, key *node.RoomKey) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key.Key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return encodeKind(kindEnvelope, envelope{
		Room: e.Room, Epoch: key.Epoch, Nonce: nonce, Box: aead.Seal(nil, nonce, e.Raw, envelopeAD(e.Room, key.Epoch)),
	})
}

// publishSealed publishes a private room's event on its topic, sealed
// under the room key its delivery carries.
func (h *Host) publishSealed(ctx context.Context, e *node.Event, key *node.RoomKey) {
	b, err := sealEnvelope(e, key)
	if err != nil {
		h.log.Debug("seal envelope", "event", e.ID, "err", err)
		return
	}
	if t, err := h.roomTopicToPublish(e.Room); err == nil {
		if err := t.Publish(ctx, b); err != nil {
			h.log.Debug("publish envelope", "event", e.ID, "err", err)
		}
	}
}

// openEnvelope returns the event inside an envelope of a room this node
// holds the epoch's key for.
func (h *Host) openEnvelope(ctx context.Context, room node.RoomID, d []byte) (*envelope, []byte, error) {
	var env envelope
	if len(d) > maxGossipMessage || json.Unmarshal(d[1:], &env) != nil || env.Room != room {
		return nil, nil, errBadEnvelope
	}
	key, ok := h.node.RoomKey(ctx, room, env.Epoch)
	if !ok {
		return &env, nil, errNoKey
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil || len(env.Nonce) != aead.NonceSize() {
		return nil, nil, errBadEnvelope
	}
	raw, err := aead.Open(nil, env.Nonce, env.Box, envelopeAD(room, env.Epoch))
	if err != nil {
		return nil, nil, errBadEnvelope
	}
	return &env, raw, nil
}

var (
	errBadEnvelope = errors.New("bad envelope")
	errNoKey       = errors.New("no key for envelope")
)
