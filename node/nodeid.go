package node

import (
	"crypto/ed25519"
	"fmt"
	"math/big"
)

// A libp2p peer ID for an Ed25519 key is the identity multihash of the
// protobuf-encoded public key, in base58btc:
//
//	0x00 0x24 | 0x08 0x01 0x12 0x20 | 32 key bytes
//
// (identity hash, length 36 | KeyType=Ed25519, Data length 32 | key).
// Decoding it here keeps the domain free of libp2p while letting any node
// verify an event's signature from its origin alone. p2p checks that its
// own host's peer ID agrees with NodeIDFromKey.
var peerIDPrefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() [256]int8 {
	var idx [256]int8
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		idx[base58Alphabet[i]] = int8(i)
	}
	return idx
}()

// NodeIDFromKey returns the peer ID of an Ed25519 public key.
func NodeIDFromKey(pub ed25519.PublicKey) NodeID {
	b := make([]byte, 0, len(peerIDPrefix)+ed25519.PublicKeySize)
	b = append(b, peerIDPrefix...)
	b = append(b, pub...)
	return NodeID(base58Encode(b))
}

// PublicKey returns the Ed25519 key that n names.
func (n NodeID) PublicKey() (ed25519.PublicKey, error) {
	if len(n) == 0 || len(n) > 64 {
		return nil, fmt.Errorf("node id %q: %w", n, ErrInvalid)
	}
	b, ok := base58Decode(string(n))
	if !ok || len(b) != len(peerIDPrefix)+ed25519.PublicKeySize || string(b[:len(peerIDPrefix)]) != string(peerIDPrefix) {
		return nil, fmt.Errorf("node id %q is not an ed25519 peer id: %w", n, ErrInvalid)
	}
	return ed25519.PublicKey(b[len(peerIDPrefix):]), nil
}

func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	x := new(big.Int).SetBytes(b)
	radix, mod := big.NewInt(58), new(big.Int)
	var out []byte
	for x.Sign() > 0 {
		x.DivMod(x, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for i := 0; i < zeros; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func base58Decode(s string) ([]byte, bool) {
	x, radix := new(big.Int), big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return nil, false
		}
		x.Mul(x, radix)
		x.Add(x, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), x.Bytes()...), true
}
