package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
)

// Room keys are sealed for each room node with X25519 keys derived from
// the nodes' Ed25519 identities (docs/protocol.md §6.1), so that a node
// ID alone is enough to seal a key for that node:
//
//	sealed = nonce (24) || XChaCha20-Poly1305(K_pair, nonce, roomKey, ad)
//	K_pair = HKDF-SHA256(X25519(x_priv(origin), x_pub(recipient)),
//	                     salt = room, info = "hearth/roomkey/1\x00" || uint32be(epoch))
//	ad     = "hearth/roomkey/1\x00" || room || "\x00" || recipient || "\x00" || uint32be(epoch)
//
// testdata/roomkey_vectors.json pins the format with fixed vectors.

// roomKeySize is the size of a room key (an XChaCha20-Poly1305 key).
const roomKeySize = chacha20poly1305.KeySize

// x25519Private derives a node's X25519 private key from its Ed25519 key:
// the first half of SHA-512(seed), which X25519 clamps, as RFC 8032 does
// for the Ed25519 scalar itself.
func x25519Private(key ed25519.PrivateKey) []byte {
	h := sha512.Sum512(key.Seed())
	return h[:32]
}

// x25519Public maps an Ed25519 public key to its X25519 form, the
// Montgomery u = (1+y)/(1-y) of the point, refusing encodings that are
// not points on the curve.
func x25519Public(pub ed25519.PublicKey) ([]byte, error) {
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, fmt.Errorf("ed25519 public key: %w", err)
	}
	return p.BytesMontgomery(), nil
}

// pairKey is the key that seals room keys between the holder of key and
// another node for one room and epoch; both sides compute the same.
func pairKey(key ed25519.PrivateKey, other NodeID, room RoomID, epoch uint32) ([]byte, error) {
	pub, err := other.PublicKey()
	if err != nil {
		return nil, err
	}
	xpub, err := x25519Public(pub)
	if err != nil {
		return nil, err
	}
	shared, err := curve25519.X25519(x25519Private(key), xpub)
	if err != nil {
		return nil, fmt.Errorf("x25519 with %s: %w", other, err)
	}
	info := binary.BigEndian.AppendUint32([]byte("hearth/roomkey/1\x00"), epoch)
	k := make([]byte, roomKeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, shared, []byte(room), info), k); err != nil {
		return nil, fmt.Errorf("hkdf: %w", err)
	}
	return k, nil
}

// roomKeyAD binds a sealed room key to its room, recipient and epoch.
func roomKeyAD(room RoomID, epoch uint32, to NodeID) []byte {
	b := []byte("hearth/roomkey/1\x00" + string(room) + "\x00" + string(to) + "\x00")
	return binary.BigEndian.AppendUint32(b, epoch)
}

// sealRoomKey seals roomKey for node to, from the holder of key.
func sealRoomKey(key ed25519.PrivateKey, roomKey []byte, to NodeID, room RoomID, epoch uint32) ([]byte, error) {
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("room key nonce: %w", err)
	}
	return sealRoomKeyWithNonce(key, roomKey, to, room, epoch, nonce)
}

func sealRoomKeyWithNonce(key ed25519.PrivateKey, roomKey []byte, to NodeID, room RoomID, epoch uint32, nonce []byte) ([]byte, error) {
	pk, err := pairKey(key, to, room, epoch)
	if err != nil {
		return nil, fmt.Errorf("seal room key for %s: %w", to, err)
	}
	aead, err := chacha20poly1305.NewX(pk)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(nonce)+len(roomKey)+aead.Overhead())
	out = append(out, nonce...)
	return aead.Seal(out, nonce, roomKey, roomKeyAD(room, epoch, to)), nil
}

// openRoomKey opens the entry that node self (holding key) was sent by
// node from.
func openRoomKey(key ed25519.PrivateKey, self, from NodeID, room RoomID, epoch uint32, sealed []byte) ([]byte, error) {
	pk, err := pairKey(key, from, room, epoch)
	if err != nil {
		return nil, fmt.Errorf("open room key from %s: %w", from, err)
	}
	aead, err := chacha20poly1305.NewX(pk)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errorf(ErrInvalid, "sealed room key is truncated")
	}
	k, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], roomKeyAD(room, epoch, self))
	if err != nil || len(k) != roomKeySize {
		return nil, errorf(ErrInvalid, "sealed room key does not open")
	}
	return k, nil
}
