package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// The key directory (API.md §7): device keys, one-time and fallback keys,
// cross-signing keys and signatures, in the Matrix client-server shapes.
// The node checks what it can without being a party: that a device's
// keys are signed by the device's own Ed25519 key and name the right user
// and device; that one-time and fallback keys are signed by the device;
// that cross-signing keys are signed by the user's master key; and that
// a signature added later verifies. It cannot check that a device is
// really the user's: that is what cross-signing and verification in the
// clients are for (docs/e2ee.md).

// KeysUploadRequest is the body of POST /keys/upload.
type KeysUploadRequest struct {
	DeviceKeys   json.RawMessage            `json:"device_keys,omitempty"`
	OneTimeKeys  map[string]json.RawMessage `json:"one_time_keys,omitempty"`
	FallbackKeys map[string]json.RawMessage `json:"fallback_keys,omitempty"`
}

// KeysUploadResponse is its answer.
type KeysUploadResponse struct {
	OneTimeKeyCounts map[string]int `json:"one_time_key_counts"`
}

// KeysQueryRequest is the body of POST /keys/query.
type KeysQueryRequest struct {
	Timeout    int                 `json:"timeout,omitempty"`
	DeviceKeys map[string][]string `json:"device_keys"`
}

// KeysQueryResponse is its answer, keyed by Matrix user IDs.
type KeysQueryResponse struct {
	Failures        map[string]json.RawMessage            `json:"failures"`
	DeviceKeys      map[string]map[string]json.RawMessage `json:"device_keys"`
	MasterKeys      map[string]json.RawMessage            `json:"master_keys"`
	SelfSigningKeys map[string]json.RawMessage            `json:"self_signing_keys"`
	UserSigningKeys map[string]json.RawMessage            `json:"user_signing_keys"`
}

// KeysClaimRequest is the body of POST /keys/claim.
type KeysClaimRequest struct {
	Timeout     int                          `json:"timeout,omitempty"`
	OneTimeKeys map[string]map[string]string `json:"one_time_keys"`
}

// KeysClaimResponse is its answer.
type KeysClaimResponse struct {
	Failures    map[string]json.RawMessage                       `json:"failures"`
	OneTimeKeys map[string]map[string]map[string]json.RawMessage `json:"one_time_keys"`
}

// CrossSigningUpload is the body of POST /keys/device_signing/upload.
// The password may come at the top level (API.md) or in a Matrix
// m.login.password auth dict.
type CrossSigningUpload struct {
	MasterKey      json.RawMessage `json:"master_key,omitempty"`
	SelfSigningKey json.RawMessage `json:"self_signing_key,omitempty"`
	UserSigningKey json.RawMessage `json:"user_signing_key,omitempty"`
	Password       string          `json:"password,omitempty"`
	Auth           *struct {
		Type     string `json:"type"`
		Password string `json:"password"`
	} `json:"auth,omitempty"`
}

// KeyQuery is what one node asks another about the other's users.
type KeyQuery struct {
	Users map[UserID][]DeviceID `json:"users"`
}

// KeyQueryResult is the answer: the devices' keys, the cross-signing
// keys other users may see, and each user's device-list version.
type KeyQueryResult struct {
	DeviceKeys  map[UserID]map[DeviceID]json.RawMessage `json:"deviceKeys,omitempty"`
	Master      map[UserID]json.RawMessage              `json:"master,omitempty"`
	SelfSigning map[UserID]json.RawMessage              `json:"selfSigning,omitempty"`
	Versions    map[UserID]int64                        `json:"versions,omitempty"`
}

// KeyClaim asks a node for one-time keys of its users' devices.
type KeyClaim struct {
	Claims map[UserID]map[DeviceID]string `json:"claims"`
}

// KeyClaimResult is the answer: per user and device, key ID → key.
type KeyClaimResult struct {
	Keys map[UserID]map[DeviceID]map[string]json.RawMessage `json:"keys,omitempty"`
}

// KeyFederation is what the node needs from the transport for keys and
// to-device messages of other nodes' users. The p2p host implements it;
// without it those users' keys are failures and their messages wait in
// the outbox.
type KeyFederation interface {
	QueryKeys(ctx context.Context, to NodeID, q *KeyQuery) (*KeyQueryResult, error)
	ClaimKeys(ctx context.Context, to NodeID, c *KeyClaim) (*KeyClaimResult, error)
	// SendToDevice delivers messages to the node they are for and
	// returns, per message in order, "" when the receiver has stored it
	// durably (or had already), else why not.
	SendToDevice(ctx context.Context, to NodeID, msgs []*Outbound) ([]string, error)
	// SendDeviceLists tells a node of users' new device-list versions.
	SendDeviceLists(ctx context.Context, to NodeID, versions map[UserID]int64) error
	// DeviceListVersions asks a node for its users' device-list versions.
	DeviceListVersions(ctx context.Context, to NodeID, users []UserID) (map[UserID]int64, error)
}

func (n *Node) keyFederation() (KeyFederation, bool) {
	kf, ok := n.federation().(KeyFederation)
	return kf, ok
}

// splitKeyID splits "<algorithm>:<id>".
func splitKeyID(s string) (alg, id string, ok bool) {
	alg, id, ok = strings.Cut(s, ":")
	ok = ok && alg != "" && id != "" && len(alg) <= 64 && len(id) <= 128 && !strings.ContainsAny(alg, "/\x00") && !strings.ContainsRune(id, 0)
	return alg, id, ok
}

// deviceKeysCheck validates uploaded device keys for (u, d): the right
// user and device, an Ed25519 and a Curve25519 key, a valid signature by
// the device's own Ed25519 key. It returns that Ed25519 key.
func deviceKeysCheck(raw json.RawMessage, u UserID, d DeviceID) (map[string]json.RawMessage, string, error) {
	obj, err := object(raw, MaxKeyObjectBytes, "device_keys")
	if err != nil {
		return nil, "", err
	}
	mu := MatrixUserID(u)
	if uid, _ := stringField(obj, "user_id"); uid != mu {
		return nil, "", errorf(ErrForbidden, "device_keys.user_id must be "+mu)
	}
	if did, _ := stringField(obj, "device_id"); did != string(d) {
		return nil, "", errorf(ErrForbidden, "device_keys.device_id must be the session's device, "+string(d))
	}
	var algs []string
	if err := json.Unmarshal(obj["algorithms"], &algs); err != nil || len(algs) == 0 || len(algs) > MaxAlgorithms {
		return nil, "", errorf(ErrInvalid, fmt.Sprintf("device_keys.algorithms must list 1 to %d algorithms", MaxAlgorithms))
	}
	keys, ok := keysField(obj)
	ed, curve := keys["ed25519:"+string(d)], keys["curve25519:"+string(d)]
	if !ok || ed == "" || curve == "" || len(keys) > MaxAlgorithms {
		return nil, "", errorf(ErrInvalid, "device_keys.keys must hold ed25519:"+string(d)+" and curve25519:"+string(d))
	}
	if err := verifySignature(obj, mu, "ed25519:"+string(d), ed); err != nil {
		return nil, "", fmt.Errorf("device keys are not self-signed: %w", err)
	}
	return obj, ed, nil
}

// edKeyOf returns the Ed25519 key of stored device keys.
func edKeyOf(d *Device) string {
	if d.Keys == nil {
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(d.Keys, &obj) != nil {
		return ""
	}
	keys, _ := keysField(obj)
	return keys["ed25519:"+string(d.ID)]
}

// signedKeyCheck validates a one-time or fallback key: a signed object
// with a "key", signed by the device, or a bare string key for the
// unsigned algorithms.
func signedKeyCheck(raw json.RawMessage, u UserID, d DeviceID, ed string, alg string) error {
	if len(raw) > MaxKeyObjectBytes {
		return errorf(ErrTooLarge, fmt.Sprintf("a key is over %d bytes", MaxKeyObjectBytes))
	}
	var bare string
	if json.Unmarshal(raw, &bare) == nil {
		if strings.HasPrefix(alg, "signed_") || bare == "" {
			return errorf(ErrInvalid, alg+" keys must be signed objects")
		}
		return nil
	}
	obj, err := object(raw, MaxKeyObjectBytes, "a key")
	if err != nil {
		return err
	}
	if k, _ := stringField(obj, "key"); k == "" {
		return errorf(ErrInvalid, "a signed key needs a \"key\"")
	}
	if ed == "" {
		return errorf(ErrInvalid, "upload the device keys before signed one-time or fallback keys")
	}
	if err := verifySignature(obj, MatrixUserID(u), "ed25519:"+string(d), ed); err != nil {
		return fmt.Errorf("key %s: %w", alg, err)
	}
	return nil
}

// UploadKeys stores a device's keys (POST /keys/upload). New or changed
// device keys are announced to everyone sharing an encrypted room with
// u; a device's Ed25519 key never changes (log in as a new device).
func (n *Node) UploadKeys(ctx context.Context, u UserID, d DeviceID, req *KeysUploadRequest) (*KeysUploadResponse, error) {
	var newKeys map[string]json.RawMessage
	if req.DeviceKeys != nil && string(req.DeviceKeys) != "null" {
		obj, _, err := deviceKeysCheck(req.DeviceKeys, u, d)
		if err != nil {
			return nil, err
		}
		newKeys = obj
	}
	if len(req.OneTimeKeys) > MaxOneTimeKeys {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("at most %d one-time keys at once", MaxOneTimeKeys))
	}
	if len(req.FallbackKeys) > MaxAlgorithms {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("at most %d fallback keys", MaxAlgorithms))
	}
	var counts map[string]int
	changed := false
	err := n.store.Update(ctx, func(tx Tx) error {
		changed = false
		dev, err := tx.Device(u, d)
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrNotFound, "the session's device was deleted")
		} else if err != nil {
			return err
		}
		if newKeys != nil {
			if changed, err = setDeviceKeys(dev, d, newKeys); err != nil {
				return err
			}
		}
		ed := edKeyOf(dev)
		if err := putOneTimeKeysTx(tx, u, d, dev, ed, req.OneTimeKeys); err != nil {
			return err
		}
		if err := setFallbackKeys(u, d, dev, ed, req.FallbackKeys); err != nil {
			return err
		}
		if len(dev.Fallback) > MaxAlgorithms {
			return errorf(ErrTooLarge, fmt.Sprintf("at most %d fallback keys", MaxAlgorithms))
		}
		if err := tx.PutDevice(dev); err != nil {
			return err
		}
		counts, err = tx.CountOneTimeKeys(u, d)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upload keys: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	if changed {
		n.deviceListChanged(ctx, u)
	}
	n.pokeDevice(u, d, PokeKeyCounts)
	return &KeysUploadResponse{OneTimeKeyCounts: withZero(counts)}, nil
}

// setDeviceKeys sets a device's signed keys, whose Ed25519 key may not
// change once stored, and reports whether they changed.
func setDeviceKeys(dev *Device, d DeviceID, newKeys map[string]json.RawMessage) (changed bool, err error) {
	stored := edKeyOf(dev)
	newEd := ""
	if ks, ok := keysField(newKeys); ok {
		newEd = ks["ed25519:"+string(d)]
	}
	if stored != "" && stored != newEd {
		return false, errorf(ErrConflict, "this device's identity key cannot change: log in as a new device")
	}
	enc := encodeObject(newKeys)
	changed = !sameSigned(dev.Keys, enc)
	if dev.Keys == nil || changed {
		dev.Keys = enc
	}
	return changed, nil
}

// putOneTimeKeysTx stores new one-time keys signed by the device's key
// ed, within MaxOneTimeKeys unclaimed; a key uploaded again must be the
// same.
func putOneTimeKeysTx(tx Tx, u UserID, d DeviceID, dev *Device, ed string, keys map[string]json.RawMessage) error {
	have, err := tx.CountOneTimeKeys(u, d)
	if err != nil {
		return err
	}
	total := 0
	for _, c := range have {
		total += c
	}
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		raw := keys[id]
		alg, keyID, ok := splitKeyID(id)
		if !ok {
			return errorf(ErrInvalid, "one-time key IDs are <algorithm>:<id>")
		}
		if err := signedKeyCheck(raw, u, d, ed, alg); err != nil {
			return err
		}
		old, err := tx.OneTimeKey(u, d, alg, keyID)
		if err == nil {
			if !sameSigned(old.Key, raw) {
				return errorf(ErrConflict, "one-time key "+id+" already exists with other content")
			}
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if total++; total > MaxOneTimeKeys {
			return errorf(ErrTooLarge, fmt.Sprintf("a device may hold at most %d unclaimed one-time keys", MaxOneTimeKeys))
		}
		dev.NextKeySeq++ // keys of one upload are equivalent; uploads are ordered
		if err := tx.PutOneTimeKey(u, d, &OneTimeKey{Algorithm: alg, KeyID: keyID, Seq: dev.NextKeySeq, Key: raw}); err != nil {
			return err
		}
	}
	return nil
}

// setFallbackKeys sets the device's fallback key per algorithm, each
// signed by the device's key ed.
func setFallbackKeys(u UserID, d DeviceID, dev *Device, ed string, keys map[string]json.RawMessage) error {
	for id, raw := range keys {
		alg, keyID, ok := splitKeyID(id)
		if !ok {
			return errorf(ErrInvalid, "fallback key IDs are <algorithm>:<id>")
		}
		if err := signedKeyCheck(raw, u, d, ed, alg); err != nil {
			return err
		}
		if dev.Fallback == nil {
			dev.Fallback = map[string]*FallbackKey{}
		}
		if old := dev.Fallback[alg]; old == nil || old.KeyID != keyID || !sameSigned(old.Key, raw) {
			dev.Fallback[alg] = &FallbackKey{KeyID: keyID, Key: raw}
		}
	}
	return nil
}

// withZero reports signed_curve25519 even when none are left, so that
// a client sees it must upload more.
func withZero(c map[string]int) map[string]int {
	if c == nil {
		c = map[string]int{}
	}
	if _, ok := c[SignedCurve25519]; !ok {
		c[SignedCurve25519] = 0
	}
	return c
}

// sameSigned reports whether two key objects are the same JSON value.
func sameSigned(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// KeyCounts returns a device's unclaimed one-time keys per algorithm and
// the algorithms of its unused fallback keys (the key_counts frame).
func (n *Node) KeyCounts(ctx context.Context, u UserID, d DeviceID) (map[string]int, []string, error) {
	var counts map[string]int
	unused := []string{}
	err := n.store.View(ctx, func(tx Tx) error {
		dev, err := tx.Device(u, d)
		if err != nil {
			return err
		}
		for alg, fk := range dev.Fallback {
			if !fk.Used {
				unused = append(unused, alg)
			}
		}
		counts, err = tx.CountOneTimeKeys(u, d)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("key counts: %w", err)
	}
	slices.Sort(unused)
	return withZero(counts), unused, nil
}

// queryTimeout bounds how long a key query or claim waits for other
// nodes.
func queryTimeout(ms int) time.Duration {
	if ms <= 0 || ms > 10000 {
		return 10 * time.Second
	}
	return time.Duration(ms) * time.Millisecond
}

// QueryKeys answers POST /keys/query for requester: local users from the
// store, other nodes' users from their nodes (failures name the nodes
// that did not answer).
func (n *Node) QueryKeys(ctx context.Context, requester UserID, req *KeysQueryRequest) (*KeysQueryResponse, error) {
	if len(req.DeviceKeys) > MaxQueryUsers {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("at most %d users per query", MaxQueryUsers))
	}
	resp := &KeysQueryResponse{
		Failures: map[string]json.RawMessage{}, DeviceKeys: map[string]map[string]json.RawMessage{},
		MasterKeys: map[string]json.RawMessage{}, SelfSigningKeys: map[string]json.RawMessage{},
		UserSigningKeys: map[string]json.RawMessage{},
	}
	byNode := keyQueriesByNode(req)
	results := map[NodeID]*KeyQueryResult{}
	if q := byNode[n.ID()]; q != nil {
		res, err := n.localKeys(ctx, q, requester)
		if err != nil {
			return nil, err
		}
		results[n.ID()] = res
		delete(byNode, n.ID())
	}
	n.queryRemoteKeys(ctx, byNode, queryTimeout(req.Timeout), results, resp.Failures)
	for _, res := range results {
		for u, devs := range res.DeviceKeys {
			m := map[string]json.RawMessage{}
			for d, k := range devs {
				m[string(d)] = k
			}
			resp.DeviceKeys[MatrixUserID(u)] = m
		}
		for u, k := range res.Master {
			resp.MasterKeys[MatrixUserID(u)] = n.withUserSignature(ctx, u, requester, k)
		}
		for u, k := range res.SelfSigning {
			resp.SelfSigningKeys[MatrixUserID(u)] = k
		}
	}
	if _, ok := req.DeviceKeys[MatrixUserID(requester)]; ok {
		_ = n.store.View(ctx, func(tx Tx) error {
			if xs, err := tx.CrossSigning(requester); err == nil && xs.UserSigning != nil {
				resp.UserSigningKeys[MatrixUserID(requester)] = xs.UserSigning
			}
			return nil
		})
	}
	return resp, nil
}

// keyQueriesByNode groups a key query's users by their home node.
func keyQueriesByNode(req *KeysQueryRequest) map[NodeID]*KeyQuery {
	byNode := map[NodeID]*KeyQuery{}
	for mu, devs := range req.DeviceKeys {
		u, ok := UserFromMatrix(mu)
		if !ok {
			continue // unknown users are simply absent (Matrix)
		}
		q := byNode[u.Node()]
		if q == nil {
			q = &KeyQuery{Users: map[UserID][]DeviceID{}}
			byNode[u.Node()] = q
		}
		ids := make([]DeviceID, 0, len(devs))
		for _, d := range devs {
			ids = append(ids, DeviceID(d))
		}
		q.Users[u] = ids
	}
	return byNode
}

// queryRemoteKeys asks each other node for its users' keys, at once,
// within timeout: answers go to results, nodes that did not answer to
// failures.
func (n *Node) queryRemoteKeys(ctx context.Context, byNode map[NodeID]*KeyQuery, timeout time.Duration, results map[NodeID]*KeyQueryResult, failures map[string]json.RawMessage) {
	if len(byNode) == 0 {
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	kf, ok := n.keyFederation()
	for to, q := range byNode {
		if !ok {
			failures[string(to)] = json.RawMessage(`{}`)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := kf.QueryKeys(qctx, to, q)
			if err == nil {
				res, err = n.checkKeyAnswer(qctx, to, q, res)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				n.log.Debug("key query", "node", to, "err", err)
				failures[string(to)] = failure(err)
				return
			}
			results[to] = res
		}()
	}
	wg.Wait()
}

// failure is the Matrix failure object for a node that did not answer.
func failure(err error) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"errcode": "M_UNAVAILABLE", "error": "the node did not answer"})
	if errors.Is(err, ErrForbidden) {
		b, _ = json.Marshal(map[string]string{"errcode": "M_FORBIDDEN", "error": "the node's answer was refused"})
	}
	return b
}

// localKeys reads the keys of this node's users. requester, when set, is
// the local user asking (it sees its own user-signing key).
func (n *Node) localKeys(ctx context.Context, q *KeyQuery, requester UserID) (*KeyQueryResult, error) {
	res := &KeyQueryResult{
		DeviceKeys: map[UserID]map[DeviceID]json.RawMessage{}, Master: map[UserID]json.RawMessage{},
		SelfSigning: map[UserID]json.RawMessage{}, Versions: map[UserID]int64{},
	}
	err := n.store.View(ctx, func(tx Tx) error {
		for u, want := range q.Users {
			if !n.IsLocal(u) {
				continue
			}
			if _, err := tx.Profile(u); err != nil {
				continue // no such user: absent
			}
			devs := map[DeviceID]json.RawMessage{}
			if err := tx.EachDevice(u, func(d *Device) bool {
				if d.Keys != nil && (len(want) == 0 || slices.Contains(want, d.ID)) {
					devs[d.ID] = withDisplayName(d)
				}
				return true
			}); err != nil {
				return err
			}
			res.DeviceKeys[u] = devs
			if xs, err := tx.CrossSigning(u); err == nil {
				if xs.Master != nil {
					res.Master[u] = xs.Master
				}
				if xs.SelfSigning != nil {
					res.SelfSigning[u] = xs.SelfSigning
				}
			}
			if v, err := tx.DeviceListVersion(u); err == nil {
				res.Versions[u] = v
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query keys: %w", err)
	}
	return res, nil
}

// withDisplayName adds unsigned.device_display_name to device keys.
func withDisplayName(d *Device) json.RawMessage {
	if d.DisplayName == "" {
		return d.Keys
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(d.Keys, &obj) != nil {
		return d.Keys
	}
	unsigned, _ := json.Marshal(map[string]string{"device_display_name": d.DisplayName})
	obj["unsigned"] = unsigned
	return encodeObject(obj)
}

// checkKeyAnswer keeps what a node may say: keys of its own users that
// were asked for, each naming its user (and device) and self-signed; a
// node that answers for a user it does not host is refused whole.
// Device-list versions it reports above the known ones are changes this
// node missed, and are passed on to local users.
func (n *Node) checkKeyAnswer(ctx context.Context, from NodeID, q *KeyQuery, res *KeyQueryResult) (*KeyQueryResult, error) {
	out := &KeyQueryResult{
		DeviceKeys: map[UserID]map[DeviceID]json.RawMessage{}, Master: map[UserID]json.RawMessage{},
		SelfSigning: map[UserID]json.RawMessage{}, Versions: map[UserID]int64{},
	}
	foreign := func(u UserID) bool { return u.Node() != from }
	for u := range res.DeviceKeys {
		if foreign(u) {
			return nil, errorf(ErrForbidden, fmt.Sprintf("node %s answered for %s, whom it does not host", from, u))
		}
	}
	for u := range res.Master {
		if foreign(u) {
			return nil, errorf(ErrForbidden, fmt.Sprintf("node %s answered for %s, whom it does not host", from, u))
		}
	}
	for u := range res.SelfSigning {
		if foreign(u) {
			return nil, errorf(ErrForbidden, fmt.Sprintf("node %s answered for %s, whom it does not host", from, u))
		}
	}
	for u, devs := range res.DeviceKeys {
		want, asked := q.Users[u]
		if !asked {
			continue
		}
		m := map[DeviceID]json.RawMessage{}
		for d, raw := range devs {
			if len(want) > 0 && !slices.Contains(want, d) {
				continue
			}
			if _, _, err := deviceKeysCheck(raw, u, d); err != nil {
				n.log.Warn("refused device keys from a node", "node", from, "user", u, "device", d, "err", err)
				continue
			}
			m[d] = raw
		}
		out.DeviceKeys[u] = m
	}
	for u, raw := range res.Master {
		if _, asked := q.Users[u]; asked && crossKeyCheck(raw, u, "master") == nil {
			out.Master[u] = raw
		}
	}
	for u, raw := range res.SelfSigning {
		if _, asked := q.Users[u]; asked && crossKeyCheck(raw, u, "self_signing") == nil {
			out.SelfSigning[u] = raw
		}
	}
	for u, v := range res.Versions {
		if _, asked := q.Users[u]; asked {
			out.Versions[u] = v
		}
	}
	n.noteRemoteVersions(ctx, out.Versions)
	return out, nil
}

// AnswerKeyQuery answers another node's key query about this node's
// users (users of other nodes are left out).
func (n *Node) AnswerKeyQuery(ctx context.Context, from NodeID, q *KeyQuery) (*KeyQueryResult, error) {
	if len(q.Users) > MaxQueryUsers {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("at most %d users per query", MaxQueryUsers))
	}
	return n.localKeys(ctx, q, "")
}

// ClaimKeys answers POST /keys/claim: one key per (user, device), a
// one-time key while any is left, then the device's fallback key.
func (n *Node) ClaimKeys(ctx context.Context, claimer UserID, req *KeysClaimRequest) (*KeysClaimResponse, error) {
	resp := &KeysClaimResponse{Failures: map[string]json.RawMessage{}, OneTimeKeys: map[string]map[string]map[string]json.RawMessage{}}
	byNode := map[NodeID]*KeyClaim{}
	count := 0
	for mu, devs := range req.OneTimeKeys {
		u, ok := UserFromMatrix(mu)
		if !ok {
			continue
		}
		c := byNode[u.Node()]
		if c == nil {
			c = &KeyClaim{Claims: map[UserID]map[DeviceID]string{}}
			byNode[u.Node()] = c
		}
		m := map[DeviceID]string{}
		for d, alg := range devs {
			m[DeviceID(d)] = alg
			count++
		}
		c.Claims[u] = m
	}
	if count > MaxToDeviceRecipients {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("at most %d devices per claim", MaxToDeviceRecipients))
	}
	results := map[NodeID]*KeyClaimResult{}
	if c := byNode[n.ID()]; c != nil {
		res, err := n.claimLocal(ctx, c)
		if err != nil {
			return nil, err
		}
		results[n.ID()] = res
		delete(byNode, n.ID())
	}
	if len(byNode) > 0 {
		var mu sync.Mutex
		var wg sync.WaitGroup
		qctx, cancel := context.WithTimeout(ctx, queryTimeout(req.Timeout))
		defer cancel()
		kf, ok := n.keyFederation()
		for to, c := range byNode {
			if !ok {
				resp.Failures[string(to)] = json.RawMessage(`{}`)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := kf.ClaimKeys(qctx, to, c)
				if err == nil {
					res, err = checkClaimAnswer(to, c, res)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					n.log.Debug("key claim", "node", to, "err", err)
					resp.Failures[string(to)] = failure(err)
					return
				}
				results[to] = res
			}()
		}
		wg.Wait()
	}
	for _, res := range results {
		for u, devs := range res.Keys {
			m := map[string]map[string]json.RawMessage{}
			for d, keys := range devs {
				m[string(d)] = keys
			}
			resp.OneTimeKeys[MatrixUserID(u)] = m
		}
	}
	return resp, nil
}

// checkClaimAnswer keeps the keys of the devices that were asked for,
// of the answering node's own users.
func checkClaimAnswer(from NodeID, c *KeyClaim, res *KeyClaimResult) (*KeyClaimResult, error) {
	out := &KeyClaimResult{Keys: map[UserID]map[DeviceID]map[string]json.RawMessage{}}
	for u, devs := range res.Keys {
		if u.Node() != from {
			return nil, errorf(ErrForbidden, fmt.Sprintf("node %s answered for %s, whom it does not host", from, u))
		}
		for d, keys := range devs {
			alg, asked := c.Claims[u][d]
			if !asked || len(keys) != 1 {
				continue
			}
			for id, k := range keys {
				if a, _, ok := splitKeyID(id); !ok || a != alg || len(k) > MaxKeyObjectBytes {
					continue
				}
				if out.Keys[u] == nil {
					out.Keys[u] = map[DeviceID]map[string]json.RawMessage{}
				}
				out.Keys[u][d] = map[string]json.RawMessage{id: k}
			}
		}
	}
	return out, nil
}

// AnswerKeyClaim hands out keys of this node's users to another node.
func (n *Node) AnswerKeyClaim(ctx context.Context, from NodeID, c *KeyClaim) (*KeyClaimResult, error) {
	total := 0
	for _, devs := range c.Claims {
		total += len(devs)
	}
	if total > MaxToDeviceRecipients {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("at most %d devices per claim", MaxToDeviceRecipients))
	}
	return n.claimLocal(ctx, c)
}

// claimLocal takes one key per (user, device) of this node in one
// transaction. Updates run one at a time, so two claims, from here or
// from any number of nodes, never get the same one-time key.
func (n *Node) claimLocal(ctx context.Context, c *KeyClaim) (*KeyClaimResult, error) {
	res := &KeyClaimResult{Keys: map[UserID]map[DeviceID]map[string]json.RawMessage{}}
	var touched []struct {
		u UserID
		d DeviceID
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		clear(res.Keys)
		touched = touched[:0]
		for u, devs := range c.Claims {
			if !n.IsLocal(u) {
				continue
			}
			for d, alg := range devs {
				if alg == "" || len(alg) > 64 {
					continue
				}
				k, err := tx.TakeOneTimeKey(u, d, alg)
				var id string
				var key json.RawMessage
				switch {
				case err == nil:
					id, key = alg+":"+k.KeyID, k.Key
				case errors.Is(err, ErrNotFound):
					dev, err := tx.Device(u, d)
					if err != nil {
						continue
					}
					fk := dev.Fallback[alg]
					if fk == nil {
						continue
					}
					id, key = alg+":"+fk.KeyID, fk.Key
					if !fk.Used {
						fk.Used = true
						if err := tx.PutDevice(dev); err != nil {
							return err
						}
					}
				default:
					return err
				}
				if res.Keys[u] == nil {
					res.Keys[u] = map[DeviceID]map[string]json.RawMessage{}
				}
				res.Keys[u][d] = map[string]json.RawMessage{id: key}
				touched = append(touched, struct {
					u UserID
					d DeviceID
				}{u, d})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim keys: %w", err)
	}
	// A key handed out must never be handed out again, even after a
	// crash: the answer waits for the disk.
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	for _, t := range touched {
		n.pokeDevice(t.u, t.d, PokeKeyCounts)
	}
	return res, nil
}

// crossKeyCheck validates a cross-signing key object of u for a usage:
// user_id, usage, exactly one ed25519 key named by its own public key.
func crossKeyCheck(raw json.RawMessage, u UserID, usage string) error {
	obj, err := object(raw, MaxKeyObjectBytes, usage+" key")
	if err != nil {
		return err
	}
	if uid, _ := stringField(obj, "user_id"); uid != MatrixUserID(u) {
		return errorf(ErrForbidden, usage+" key must name "+MatrixUserID(u))
	}
	var usages []string
	if json.Unmarshal(obj["usage"], &usages) != nil || !slices.Contains(usages, usage) {
		return errorf(ErrInvalid, usage+" key must have usage "+usage)
	}
	if _, err := crossPublic(obj); err != nil {
		return err
	}
	return nil
}

// crossPublic returns the one public key of a cross-signing key object.
func crossPublic(obj map[string]json.RawMessage) (string, error) {
	keys, ok := keysField(obj)
	if !ok || len(keys) != 1 {
		return "", errorf(ErrInvalid, "a cross-signing key has exactly one key")
	}
	for id, pub := range keys {
		if id != "ed25519:"+pub {
			return "", errorf(ErrInvalid, "a cross-signing key's ID is ed25519:<its public key>")
		}
		return pub, nil
	}
	return "", nil
}

func publicOf(raw json.RawMessage) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	pub, _ := crossPublic(obj)
	return pub
}

// usesKeyID reports whether id is the public key of one of the keys.
func (c *CrossSigning) usesKeyID(id string) bool {
	for _, k := range []json.RawMessage{c.Master, c.SelfSigning, c.UserSigning} {
		if k != nil && publicOf(k) == id {
			return true
		}
	}
	return false
}

// UploadCrossSigning stores u's cross-signing keys (POST
// /keys/device_signing/upload). The first upload, and one that repeats
// the stored keys, needs no password; replacing keys does. Self-signing
// and user-signing keys must be signed by the master key.
func (n *Node) UploadCrossSigning(ctx context.Context, u UserID, req *CrossSigningUpload) error {
	password := req.Password
	if password == "" && req.Auth != nil {
		password = req.Auth.Password
	}
	var cur *CrossSigning
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		cur, err = tx.CrossSigning(u)
		if errors.Is(err, ErrNotFound) {
			cur, err = &CrossSigning{User: u}, nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("upload cross-signing keys: %w", err)
	}
	next, replaces, err := nextCrossSigning(u, cur, req)
	if err != nil {
		return err
	}
	if replaces {
		if password == "" {
			return errorf(ErrForbidden, "replacing cross-signing keys needs the account password")
		}
		if err := n.CheckPassword(ctx, u, password); err != nil {
			return err
		}
	}
	same := sameSigned(cur.Master, next.Master) && sameSigned(cur.SelfSigning, next.SelfSigning) && sameSigned(cur.UserSigning, next.UserSigning)
	if same {
		return nil
	}
	err = n.store.Update(ctx, func(tx Tx) error {
		var clash bool
		if err := tx.EachDevice(u, func(d *Device) bool {
			clash = clash || next.usesKeyID(string(d.ID))
			return !clash
		}); err != nil {
			return err
		}
		if clash {
			return errorf(ErrForbidden, "a cross-signing key's ID is one of the user's device IDs")
		}
		return tx.PutCrossSigning(&next)
	})
	if err != nil {
		return fmt.Errorf("upload cross-signing keys: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return err
	}
	n.deviceListChanged(ctx, u)
	return nil
}

// nextCrossSigning is u's cross-signing keys once req is applied to cur:
// each key checked, the sub-keys signed by the master key, and those of
// an old master dropped. replaces reports whether a stored key changes
// (which needs the password).
func nextCrossSigning(u UserID, cur *CrossSigning, req *CrossSigningUpload) (next CrossSigning, replaces bool, err error) {
	next = *cur
	for _, k := range []struct {
		raw   json.RawMessage
		usage string
		slot  *json.RawMessage
	}{{req.MasterKey, "master", &next.Master}, {req.SelfSigningKey, "self_signing", &next.SelfSigning}, {req.UserSigningKey, "user_signing", &next.UserSigning}} {
		if k.raw == nil || string(k.raw) == "null" {
			continue
		}
		if err := crossKeyCheck(k.raw, u, k.usage); err != nil {
			return next, false, err
		}
		if *k.slot != nil && !sameSigned(*k.slot, k.raw) {
			replaces = true
		}
		*k.slot = k.raw
	}
	if next.Master == nil {
		return next, false, errorf(ErrInvalid, "a master key is needed first")
	}
	mu, master := MatrixUserID(u), publicOf(next.Master)
	for _, sub := range []json.RawMessage{next.SelfSigning, next.UserSigning} {
		if sub == nil {
			continue
		}
		obj, _ := object(sub, MaxKeyObjectBytes, "key")
		if err := verifySignature(obj, mu, "ed25519:"+master, master); err != nil {
			return next, false, fmt.Errorf("self-signing and user-signing keys must be signed by the master key: %w", err)
		}
	}
	if cur.Master != nil && publicOf(cur.Master) != master {
		// A new master key: the old sub-keys were not signed by it.
		replaces = true
		if req.SelfSigningKey == nil {
			next.SelfSigning = nil
		}
		if req.UserSigningKey == nil {
			next.UserSigning = nil
		}
	}
	return next, replaces, nil
}

// UploadSignatures adds signatures (POST /keys/signatures/upload): by
// u's self-signing key on u's devices, by u's devices on u's master key,
// and by u's user-signing key on other users' master keys. It answers
// the failures per user and key ID.
func (n *Node) UploadSignatures(ctx context.Context, u UserID, req map[string]map[string]json.RawMessage) (map[string]map[string]json.RawMessage, error) {
	failures := map[string]map[string]json.RawMessage{}
	fail := func(mu, keyID string, err error) {
		if failures[mu] == nil {
			failures[mu] = map[string]json.RawMessage{}
		}
		code := "M_INVALID_SIGNATURE"
		if errors.Is(err, ErrNotFound) {
			code = "M_NOT_FOUND"
		}
		b, _ := json.Marshal(map[string]string{"errcode": code, "error": err.Error()})
		failures[mu][keyID] = b
	}
	total := 0
	for _, keys := range req {
		total += len(keys)
	}
	if total > MaxToDeviceRecipients {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("at most %d signed objects at once", MaxToDeviceRecipients))
	}
	changed := false
	var mine *CrossSigning
	_ = n.store.View(ctx, func(tx Tx) error {
		mine, _ = tx.CrossSigning(u)
		return nil
	})
	for mu, keys := range req {
		target, ok := UserFromMatrix(mu)
		if !ok {
			for id := range keys {
				fail(mu, id, errorf(ErrInvalid, "bad user id"))
			}
			continue
		}
		for keyID, raw := range keys {
			obj, err := object(raw, MaxKeyObjectBytes, "signed object")
			if err == nil {
				var ch bool
				if target == u {
					ch, err = n.signOwn(ctx, u, keyID, obj, mine)
				} else {
					err = n.signOther(ctx, u, target, keyID, obj, mine)
					ch = err == nil
				}
				changed = changed || ch
			}
			if err != nil {
				fail(mu, keyID, err)
			}
		}
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	if changed {
		n.deviceListChanged(ctx, u)
	}
	return failures, nil
}

// newSignatures returns the signatures in obj that stored lacks.
func newSignatures(obj map[string]json.RawMessage, stored json.RawMessage, signer string) (map[string]string, error) {
	sigs, err := signaturesOf(obj)
	if err != nil {
		return nil, err
	}
	var old map[string]json.RawMessage
	_ = json.Unmarshal(stored, &old)
	oldSigs, _ := signaturesOf(old)
	out := map[string]string{}
	for id, s := range sigs[signer] {
		if oldSigs[signer][id] != s {
			out[id] = s
		}
	}
	return out, nil
}

// sameExceptSignatures reports whether obj is the stored object but for
// its signatures and unsigned data.
func sameExceptSignatures(obj map[string]json.RawMessage, stored json.RawMessage) bool {
	var s map[string]json.RawMessage
	if json.Unmarshal(stored, &s) != nil {
		return false
	}
	a, err1 := canonical(obj)
	b, err2 := canonical(s)
	return err1 == nil && err2 == nil && string(a) == string(b)
}

// mergeSignatures adds sigs by signer to a stored object.
func mergeSignatures(stored json.RawMessage, signer string, sigs map[string]string) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(stored, &obj); err != nil {
		return nil, err
	}
	all, err := signaturesOf(obj)
	if err != nil {
		return nil, err
	}
	if all[signer] == nil {
		all[signer] = map[string]string{}
	}
	maps.Copy(all[signer], sigs)
	b, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	obj["signatures"] = b
	return encodeObject(obj), nil
}

// signOwn adds u's signatures to u's own device (by the self-signing
// key) or master key (by a device of u).
func (n *Node) signOwn(ctx context.Context, u UserID, keyID string, obj map[string]json.RawMessage, mine *CrossSigning) (bool, error) {
	me := MatrixUserID(u)
	changed := false
	err := n.store.Update(ctx, func(tx Tx) error {
		changed = false
		if mine != nil && mine.Master != nil && keyID == publicOf(mine.Master) {
			if !sameExceptSignatures(obj, mine.Master) {
				return errorf(ErrInvalid, "the signed object is not the stored master key")
			}
			sigs, err := newSignatures(obj, mine.Master, me)
			if err != nil {
				return err
			}
			for id := range sigs {
				alg, dev, _ := strings.Cut(id, ":")
				d, err := tx.Device(u, DeviceID(dev))
				if alg != "ed25519" || err != nil {
					return errorf(ErrNotFound, "the master key may be signed by the user's own devices only")
				}
				if err := verifySignature(obj, me, id, edKeyOf(d)); err != nil {
					return err
				}
			}
			if len(sigs) == 0 {
				return nil
			}
			merged, err := mergeSignatures(mine.Master, me, sigs)
			if err != nil {
				return err
			}
			cur, err := tx.CrossSigning(u)
			if err != nil {
				return err
			}
			cur.Master, changed = merged, true
			return tx.PutCrossSigning(cur)
		}
		d, err := tx.Device(u, DeviceID(keyID))
		if err != nil || d.Keys == nil {
			return errorf(ErrNotFound, "no such device or key")
		}
		if !sameExceptSignatures(obj, d.Keys) {
			return errorf(ErrInvalid, "the signed object is not the stored device keys")
		}
		if mine == nil || mine.SelfSigning == nil {
			return errorf(ErrInvalid, "upload a self-signing key first")
		}
		ssk := publicOf(mine.SelfSigning)
		if err := verifySignature(obj, me, "ed25519:"+ssk, ssk); err != nil {
			return err
		}
		sigs, err := newSignatures(obj, d.Keys, me)
		if err != nil || len(sigs) == 0 {
			return err
		}
		merged, err := mergeSignatures(d.Keys, me, map[string]string{"ed25519:" + ssk: sigs["ed25519:"+ssk]})
		if err != nil {
			return err
		}
		d.Keys, changed = merged, true
		return tx.PutDevice(d)
	})
	return changed, err
}

// signOther keeps u's signature (by its user-signing key) on another
// user's master key. It is shown to u alone, so it stays on this node.
func (n *Node) signOther(ctx context.Context, u, target UserID, keyID string, obj map[string]json.RawMessage, mine *CrossSigning) error {
	if err := crossKeyCheck(encodeObject(obj), target, "master"); err != nil {
		return err
	}
	if pub, _ := crossPublic(obj); pub != keyID {
		return errorf(ErrInvalid, "the key ID must be the master key's public key")
	}
	if mine == nil || mine.UserSigning == nil {
		return errorf(ErrInvalid, "upload a user-signing key first")
	}
	usk := publicOf(mine.UserSigning)
	me := MatrixUserID(u)
	if err := verifySignature(obj, me, "ed25519:"+usk, usk); err != nil {
		return err
	}
	sigs, _ := signaturesOf(obj)
	return n.store.Update(ctx, func(tx Tx) error {
		return tx.PutUserSignature(&UserSignature{Target: target, Signer: u, MasterKey: keyID, KeyID: "ed25519:" + usk, Signature: sigs[me]["ed25519:"+usk]})
	})
}

// withUserSignature adds requester's own signature on u's master key, if
// it signed this very key.
func (n *Node) withUserSignature(ctx context.Context, u, requester UserID, master json.RawMessage) json.RawMessage {
	if requester == "" || requester == u {
		return master
	}
	var sig *UserSignature
	_ = n.store.View(ctx, func(tx Tx) error {
		sig, _ = tx.UserSignature(u, requester)
		return nil
	})
	if sig == nil || sig.MasterKey != publicOf(master) {
		return master
	}
	merged, err := mergeSignatures(master, MatrixUserID(requester), map[string]string{sig.KeyID: sig.Signature})
	if err != nil {
		return master
	}
	return merged
}
