package node

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/crypto/canonicaljson"
)

// Matrix identifiers and signed JSON, for the key directory's Matrix
// shapes (API.md §7).
//
// The one mapping between Hearth and Matrix user IDs lives here:
// "<name>@<nodeID>" is "@<name>:<nodeID>" (a base58 node ID is a valid
// Matrix server name, and a Hearth username a valid localpart).

// MatrixUserID writes a Hearth user ID in Matrix form.
func MatrixUserID(u UserID) string {
	name, node, ok := u.Split()
	if !ok {
		return ""
	}
	return "@" + name + ":" + string(node)
}

// UserFromMatrix reads a Matrix user ID as a Hearth one; ok is false when
// it is not the Matrix form of a valid Hearth user ID.
func UserFromMatrix(s string) (UserID, bool) {
	rest, ok := strings.CutPrefix(s, "@")
	if !ok {
		return "", false
	}
	name, node, ok := strings.Cut(rest, ":")
	if !ok || node == "" || strings.ContainsAny(node, ":@/") {
		return "", false
	}
	u := NewUserID(name, NodeID(node))
	if _, _, ok := u.Split(); !ok {
		return "", false
	}
	return u, true
}

// unpadded is the base64 of Matrix keys and signatures.
var unpadded = base64.RawStdEncoding

// decodeB64 reads Matrix base64, padded or not.
func decodeB64(s string) ([]byte, error) {
	return unpadded.DecodeString(strings.TrimRight(s, "="))
}

// canonical is the Matrix canonical JSON of obj without its "signatures"
// and "unsigned" members: the bytes a signature covers. mautrix's
// encoder is the one its bridges verify Synapse's and clients' keys with;
// it sorts keys by code point and undoes the escapes Go's encoder adds.
func canonical(obj map[string]json.RawMessage) ([]byte, error) {
	c := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		if k != "signatures" && k != "unsigned" {
			c[k] = v
		}
	}
	b, err := json.Marshal(c) // valid JSON, as Canonicalize assumes
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(b)
	if err := canonicaljson.Canonicalize(&raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// signatures reads the signatures member of a signed object.
func signaturesOf(obj map[string]json.RawMessage) (map[string]map[string]string, error) {
	raw, ok := obj["signatures"]
	if !ok {
		return map[string]map[string]string{}, nil
	}
	var sigs map[string]map[string]string
	if err := json.Unmarshal(raw, &sigs); err != nil {
		return nil, errorf(ErrInvalid, "signatures must map user IDs to key IDs to signatures")
	}
	if sigs == nil {
		sigs = map[string]map[string]string{}
	}
	return sigs, nil
}

// verifySignature checks that obj carries a valid Ed25519 signature by
// signer (a Matrix user ID) under keyID ("ed25519:…") made with pub (its
// unpadded base64).
func verifySignature(obj map[string]json.RawMessage, signer, keyID, pub string) error {
	sigs, err := signaturesOf(obj)
	if err != nil {
		return err
	}
	sig, ok := sigs[signer][keyID]
	if !ok {
		return errorf(ErrInvalid, fmt.Sprintf("missing signature by %s %s", signer, keyID))
	}
	key, err := decodeB64(pub)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return errorf(ErrInvalid, "signing key is not an unpadded base64 Ed25519 key")
	}
	sb, err := decodeB64(sig)
	if err != nil || len(sb) != ed25519.SignatureSize {
		return errorf(ErrInvalid, "signature is not an unpadded base64 Ed25519 signature")
	}
	msg, err := canonical(obj)
	if err != nil {
		return errorf(ErrInvalid, "signed object is not canonicalisable JSON")
	}
	if !ed25519.Verify(ed25519.PublicKey(key), msg, sb) {
		return errorf(ErrForbidden, fmt.Sprintf("signature by %s %s does not verify", signer, keyID))
	}
	return nil
}

// SignObject signs obj as signer with the Ed25519 key priv under keyID,
// adding to its signatures. The node signs nothing of its users'; this
// is for tests and tools that play a client.
func SignObject(obj map[string]json.RawMessage, signer, keyID string, priv ed25519.PrivateKey) error {
	msg, err := canonical(obj)
	if err != nil {
		return err
	}
	sigs, err := signaturesOf(obj)
	if err != nil {
		return err
	}
	if sigs[signer] == nil {
		sigs[signer] = map[string]string{}
	}
	sigs[signer][keyID] = unpadded.EncodeToString(ed25519.Sign(priv, msg))
	b, err := json.Marshal(sigs)
	if err != nil {
		return err
	}
	obj["signatures"] = b
	return nil
}

// object parses a JSON object of at most max bytes.
func object(raw json.RawMessage, max int, what string) (map[string]json.RawMessage, error) {
	if len(raw) > max {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("%s is over %d bytes", what, max))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errorf(ErrInvalid, what+" must be a JSON object")
	}
	return obj, nil
}

// stringField reads a string member.
func stringField(obj map[string]json.RawMessage, name string) (string, bool) {
	var s string
	raw, ok := obj[name]
	if !ok || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// keysField reads the "keys" member: key ID → unpadded base64 key.
func keysField(obj map[string]json.RawMessage) (map[string]string, bool) {
	var keys map[string]string
	raw, ok := obj["keys"]
	if !ok || json.Unmarshal(raw, &keys) != nil {
		return nil, false
	}
	return keys, true
}

// encodeObject writes an object back (its members as they were).
func encodeObject(obj map[string]json.RawMessage) json.RawMessage {
	b, _ := json.Marshal(obj) // RawMessage members are valid JSON already
	return b
}
