package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"

	"github.com/hearth-chat/hearth/node"
)

// Private rooms on gossip. Their events are pushed to member nodes over
// streams (the path that guarantees delivery) and, in addition, published
// on the room topic inside an envelope that only member nodes can open:
//
//	'E' | JSON {"room", "epoch", "nonce", "box"}
//
// box = XChaCha20-Poly1305(room key of epoch, nonce, event wire form,
// ad = "hearth/envelope/1\x00" || room || uint32be(epoch)). Room keys are
// random 32-byte keys carried by room.key events, sealed for each member
// node (see sealKey). See docs/protocol.md §6.

const kindEnvelope byte = 'E'

type envelope struct {
	Room  node.RoomID `json:"room"`
	Epoch uint32      `json:"epoch"`
	Nonce []byte      `json:"nonce"`
	Box   []byte      `json:"box"`
}

// keyRing holds the room keys this node can open, per room and epoch.
type keyRing struct {
	rotate sync.Mutex // serialises currentKey; taken before mu
	mu     sync.Mutex
	rooms  map[node.RoomID]*roomKeys
}

type roomKeys struct {
	loaded bool
	keys   map[uint32][]byte
	nodes  map[uint32][]node.NodeID // the nodes each epoch was sealed for
	latest uint32
}

func (k *keyRing) room(id node.RoomID) *roomKeys {
	if k.rooms == nil {
		k.rooms = map[node.RoomID]*roomKeys{}
	}
	r := k.rooms[id]
	if r == nil {
		r = &roomKeys{keys: map[uint32][]byte{}, nodes: map[uint32][]node.NodeID{}}
		k.rooms[id] = r
	}
	return r
}

// x25519Private derives a node's X25519 private key from its Ed25519 key
// (the standard conversion: the clamped first half of SHA-512(seed)).
func x25519Private(key ed25519.PrivateKey) []byte {
	h := sha512.Sum512(key.Seed())
	return h[:32]
}

var curveP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

// x25519Public maps an Ed25519 public key to its X25519 form with the
// birational map u = (1+y)/(1-y) mod p. Written here because x/crypto has
// no exported conversion; it needs no secret, so constant time is moot.
func x25519Public(pub ed25519.PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("bad ed25519 public key")
	}
	le := slices.Clone([]byte(pub))
	le[31] &= 0x7f
	slices.Reverse(le)
	y := new(big.Int).SetBytes(le)
	num := new(big.Int).Add(big.NewInt(1), y)
	den := new(big.Int).Sub(big.NewInt(1), y)
	den.Mod(den, curveP)
	if den.Sign() == 0 {
		return nil, errors.New("ed25519 key has no x25519 form")
	}
	u := num.Mul(num, den.ModInverse(den, curveP))
	u.Mod(u, curveP)
	out := make([]byte, 32)
	u.FillBytes(out)
	slices.Reverse(out)
	return out, nil
}

// pairKey is the key that seals room keys between this node and another:
// HKDF-SHA256 over their X25519 shared secret, bound to room and epoch.
// It is the same computed from either side.
func (h *Host) pairKey(other node.NodeID, room node.RoomID, epoch uint32) ([]byte, error) {
	pub, err := other.PublicKey()
	if err != nil {
		return nil, err
	}
	xpub, err := x25519Public(pub)
	if err != nil {
		return nil, err
	}
	shared, err := curve25519.X25519(x25519Private(h.cfg.Key), xpub)
	if err != nil {
		return nil, fmt.Errorf("x25519: %w", err)
	}
	info := binary.BigEndian.AppendUint32([]byte("hearth/roomkey/1\x00"), epoch)
	k := make([]byte, chacha20poly1305.KeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, shared, []byte(room), info), k); err != nil {
		return nil, err
	}
	return k, nil
}

func keyAD(room node.RoomID, epoch uint32, to node.NodeID) []byte {
	b := append([]byte("hearth/roomkey/1\x00"+string(room)+"\x00"+string(to)+"\x00"), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(b)-4:], epoch)
	return b
}

// sealKey seals a room key for one node: nonce (24) | ciphertext.
func (h *Host) sealKey(key []byte, to node.NodeID, room node.RoomID, epoch uint32) ([]byte, error) {
	pk, err := h.pairKey(to, room, epoch)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(pk)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(key)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, key, keyAD(room, epoch, to)), nil
}

// learnKey opens this node's entry of a room.key event.
func (h *Host) learnKey(e *node.Event) {
	var c node.RoomKeyContent
	if e.Type != node.EventRoomKey || json.Unmarshal(e.Content, &c) != nil {
		return
	}
	self := h.node.ID()
	sealed, ok := c.Keys[self]
	if !ok {
		return
	}
	pk, err := h.pairKey(e.Origin, e.Room, c.Epoch)
	if err != nil {
		return
	}
	aead, err := chacha20poly1305.NewX(pk)
	if err != nil || len(sealed) < aead.NonceSize() {
		return
	}
	key, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], keyAD(e.Room, c.Epoch, self))
	if err != nil {
		h.log.Debug("room key does not open", "room", e.Room, "epoch", c.Epoch)
		return
	}
	nodes := make([]node.NodeID, 0, len(c.Keys))
	for n := range c.Keys {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	h.keys.mu.Lock()
	rk := h.keys.room(e.Room)
	rk.keys[c.Epoch], rk.nodes[c.Epoch] = key, nodes
	rk.latest = max(rk.latest, c.Epoch)
	h.keys.mu.Unlock()
}

// loadKeys reads a room's stored room.key events once per process.
func (h *Host) loadKeys(ctx context.Context, room node.RoomID) {
	h.keys.mu.Lock()
	rk := h.keys.room(room)
	done := rk.loaded
	rk.loaded = true
	h.keys.mu.Unlock()
	if done {
		return
	}
	var after node.OrderKey
	for {
		refs, more, err := h.node.EventRefsAfter(ctx, room, after, maxGet)
		if err != nil || len(refs) == 0 {
			return
		}
		evs, err := h.node.Events(ctx, room, refIDs(refs))
		if err != nil {
			return
		}
		for _, e := range evs {
			h.learnKey(e)
		}
		if !more {
			return
		}
		after = refs[len(refs)-1].Order
	}
}

// currentKey returns the room key to seal new events of a private room
// with: the newest epoch, when it was sealed for exactly the room's nodes
// now. When
// there is none (a node joined, or a node lost its last member), the
// smallest node ID among the nodes with a joined member rotates: it makes
// a new key and sends it as a room.key event. Every node checks after each
// membership change (runTopics) and before each private publish. Others wait for it and meanwhile rely on
// pushes alone.
func (h *Host) currentKey(ctx context.Context, room node.RoomID) (uint32, []byte, bool) {
	h.loadKeys(ctx, room)
	nodes := h.node.RoomNodes(room)
	slices.Sort(nodes)
	if len(nodes) == 0 {
		return 0, nil, false
	}
	// One rotation at a time, so two loops cannot mint the same epoch.
	h.keys.rotate.Lock()
	defer h.keys.rotate.Unlock()
	h.keys.mu.Lock()
	rk := h.keys.room(room)
	if ep := rk.latest; rk.keys[ep] != nil && slices.Equal(rk.nodes[ep], nodes) {
		k := rk.keys[ep]
		h.keys.mu.Unlock()
		return ep, k, true
	}
	next := rk.latest + 1
	h.keys.mu.Unlock()
	// The rotator is the smallest node ID among nodes with a joined
	// member (only they may send a room.key event).
	s, ok := h.node.RoomState(room)
	if !ok {
		return 0, nil, false
	}
	if joined := s.MemberNodes(); len(joined) == 0 || joined[0] != h.node.ID() {
		return 0, nil, false
	}
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(key); err != nil {
		return 0, nil, false
	}
	c := node.RoomKeyContent{Epoch: next, Keys: map[node.NodeID][]byte{}}
	for _, n := range nodes {
		sealed, err := h.sealKey(key, n, room, next)
		if err != nil {
			h.log.Debug("seal room key", "room", room, "node", n, "err", err)
			return 0, nil, false
		}
		c.Keys[n] = sealed
	}
	e, err := h.node.EmitRoomKey(ctx, room, c)
	if err != nil {
		h.log.Debug("emit room key", "room", room, "err", err)
		return 0, nil, false
	}
	h.learnKey(e)
	return next, key, true
}

func envelopeAD(room node.RoomID, epoch uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("hearth/envelope/1\x00"+string(room)), epoch)
}

// publishSealed publishes a private room's event on its topic inside an
// envelope under the current room key, when there is one.
func (h *Host) publishSealed(ctx context.Context, e *node.Event) {
	if e.Type == node.EventRoomKey {
		return // travels by push; it is itself sealed per node
	}
	epoch, key, ok := h.currentKey(ctx, e.Room)
	if !ok {
		return
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return
	}
	b, err := encodeKind(kindEnvelope, envelope{
		Room: e.Room, Epoch: epoch, Nonce: nonce, Box: aead.Seal(nil, nonce, e.Raw, envelopeAD(e.Room, epoch)),
	})
	if err != nil {
		return
	}
	if t, err := h.join(roomTopic(e.Room)); err == nil {
		if err := t.Publish(ctx, b); err != nil {
			h.log.Debug("publish envelope", "event", e.ID, "err", err)
		}
	}
}

// openEnvelope returns the event inside an envelope of a room this node
// holds the key for.
func (h *Host) openEnvelope(ctx context.Context, room node.RoomID, d []byte) (*envelope, []byte, error) {
	var env envelope
	if len(d) > maxGossipMessage || json.Unmarshal(d[1:], &env) != nil || env.Room != room {
		return nil, nil, errBadEnvelope
	}
	h.loadKeys(ctx, room)
	h.keys.mu.Lock()
	key, ok := h.keys.room(room).keys[env.Epoch]
	h.keys.mu.Unlock()
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

// RoomKeyEpoch reports the newest room key epoch this host can open for a
// private room.
func (h *Host) RoomKeyEpoch(ctx context.Context, room node.RoomID) (uint32, bool) {
	h.loadKeys(ctx, room)
	h.keys.mu.Lock()
	defer h.keys.mu.Unlock()
	rk := h.keys.room(room)
	_, ok := rk.keys[rk.latest]
	return rk.latest, ok
}
