// Package devicetest plays the key-holding side of a client device in
// tests: it makes Ed25519 identities and signs Matrix device keys,
// one-time and fallback keys and cross-signing keys the way an
// OlmMachine does (canonical JSON, unpadded base64), so that the node's
// checks are exercised with real signatures. The Curve25519 keys it
// publishes are random bytes: the node never uses them.
package devicetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/hearth-chat/hearth/node"
)

var b64 = base64.RawStdEncoding

// Device is one test device of a user.
type Device struct {
	User   string // Matrix user ID
	ID     string
	Priv   ed25519.PrivateKey
	Ed     string // unpadded base64 of the public key
	Curve  string
	nextID int
}

// New makes a device of a user (Matrix user ID) with a fresh identity.
func New(user, id string) *Device {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	curve := make([]byte, 32)
	_, _ = rand.Read(curve)
	return &Device{User: user, ID: id, Priv: priv, Ed: b64.EncodeToString(pub), Curve: b64.EncodeToString(curve)}
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// sign signs obj with this device's key and returns it encoded.
func (d *Device) sign(obj map[string]json.RawMessage) json.RawMessage {
	if err := node.SignObject(obj, d.User, "ed25519:"+d.ID, d.Priv); err != nil {
		panic(err)
	}
	return raw(obj)
}

// DeviceKeys returns the device's signed device_keys object.
func (d *Device) DeviceKeys() json.RawMessage {
	return d.sign(map[string]json.RawMessage{
		"user_id":    raw(d.User),
		"device_id":  raw(d.ID),
		"algorithms": raw([]string{"m.olm.v1.curve25519-aes-sha2", node.MegolmAlgorithm}),
		"keys":       raw(map[string]string{"ed25519:" + d.ID: d.Ed, "curve25519:" + d.ID: d.Curve}),
	})
}

// OneTimeKeys returns n new signed one-time keys, keyed
// "signed_curve25519:<id>".
func (d *Device) OneTimeKeys(n int) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for range n {
		d.nextID++
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		out[fmt.Sprintf("%s:AAAA%04d", node.SignedCurve25519, d.nextID)] = d.sign(map[string]json.RawMessage{"key": raw(b64.EncodeToString(k))})
	}
	return out
}

// FallbackKey returns one new signed fallback key.
func (d *Device) FallbackKey() map[string]json.RawMessage {
	d.nextID++
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return map[string]json.RawMessage{
		fmt.Sprintf("%s:FB%04d", node.SignedCurve25519, d.nextID): d.sign(map[string]json.RawMessage{"key": raw(b64.EncodeToString(k)), "fallback": raw(true)}),
	}
}

// CrossSigning is a user's three cross-signing keys.
type CrossSigning struct {
	User                             string
	Master, SelfSigning, UserSigning ed25519.PrivateKey
	MasterPub, SelfPub, UserPub      string
}

// NewCrossSigning makes cross-signing keys for a user.
func NewCrossSigning(user string) *CrossSigning {
	c := &CrossSigning{User: user}
	var pub ed25519.PublicKey
	pub, c.Master, _ = ed25519.GenerateKey(rand.Reader)
	c.MasterPub = b64.EncodeToString(pub)
	pub, c.SelfSigning, _ = ed25519.GenerateKey(rand.Reader)
	c.SelfPub = b64.EncodeToString(pub)
	pub, c.UserSigning, _ = ed25519.GenerateKey(rand.Reader)
	c.UserPub = b64.EncodeToString(pub)
	return c
}

func (c *CrossSigning) key(usage, pub string, signed bool) json.RawMessage {
	obj := map[string]json.RawMessage{
		"user_id": raw(c.User), "usage": raw([]string{usage}),
		"keys": raw(map[string]string{"ed25519:" + pub: pub}),
	}
	if signed {
		if err := node.SignObject(obj, c.User, "ed25519:"+c.MasterPub, c.Master); err != nil {
			panic(err)
		}
	}
	return raw(obj)
}

// Upload is the body of keys/device_signing/upload with all three keys.
func (c *CrossSigning) Upload() map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"master_key":       c.key("master", c.MasterPub, false),
		"self_signing_key": c.key("self_signing", c.SelfPub, true),
		"user_signing_key": c.key("user_signing", c.UserPub, true),
	}
}

// SignDevice returns device keys signed by the self-signing key, as
// keys/signatures/upload takes them.
func (c *CrossSigning) SignDevice(keys json.RawMessage) json.RawMessage {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(keys, &obj); err != nil {
		panic(err)
	}
	delete(obj, "unsigned")
	if err := node.SignObject(obj, c.User, "ed25519:"+c.SelfPub, c.SelfSigning); err != nil {
		panic(err)
	}
	return raw(obj)
}
