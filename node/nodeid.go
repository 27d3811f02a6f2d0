package node

import (
	"crypto/ed25519"
	"fmt"

	"github.com/mr-tron/base58"
)

// A libp2p peer ID for an Ed25519 key is the identity multihash of the
// protobuf-encoded public key, in base58btc:
//
//	0x00 0x24 | 0x08 0x01 0x12 0x20 | 32 key bytes
//
// (identity hash, length 36 | KeyType=Ed25519, Data length 32 | key).
// Decoding it here keeps the domain free of libp2p while letting any node
// verify an event's signature from its origin alone. p2p checks that its
// own host's peer ID agrees with NodeIDFromKey. The base58 codec is
// mr-tron/base58, the one libp2p's peer IDs use.
var peerIDPrefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

// NodeIDFromKey returns the peer ID of an Ed25519 public key.
func NodeIDFromKey(pub ed25519.PublicKey) NodeID {
	b := make([]byte, 0, len(peerIDPrefix)+ed25519.PublicKeySize)
	b = append(b, peerIDPrefix...)
	b = append(b, pub...)
	return NodeID(base58.Encode(b))
}

// PublicKey returns the Ed25519 key that n names.
func (n NodeID) PublicKey() (ed25519.PublicKey, error) {
	if len(n) == 0 || len(n) > 64 {
		return nil, fmt.Errorf("node id %q: %w", n, ErrInvalid)
	}
	b, err := base58.Decode(string(n))
	if err != nil || len(b) != len(peerIDPrefix)+ed25519.PublicKeySize || string(b[:len(peerIDPrefix)]) != string(peerIDPrefix) {
		return nil, fmt.Errorf("node id %q is not an ed25519 peer id: %w", n, ErrInvalid)
	}
	return ed25519.PublicKey(b[len(peerIDPrefix):]), nil
}
