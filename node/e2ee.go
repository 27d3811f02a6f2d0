package node

import (
	"encoding/json"
	"time"
)

// End-to-end encryption (API.md §7, docs/e2ee.md). Encryption happens in
// the clients with Olm/Megolm; the node is a key directory and a mailbox,
// never a party: it keeps devices and their public keys, hands out
// one-time keys once each, carries to-device messages, tells users whose
// devices changed, keeps an opaque key backup, and refuses plaintext in
// encrypted rooms. The request and response bodies are the Matrix
// client-server API's (matrix.go maps the identifiers), so an OlmMachine's
// requests pass through unchanged.

// DeviceID names one device of a user: every session belongs to one.
type DeviceID string

// Limits of the key directory and the mailbox. Everything a user or a
// remote node controls is bounded (docs/security.md).
const (
	MaxDeviceIDLen        = 64
	MaxDevicesPerUser     = 100      // a new login past it retires the least recently seen device
	MaxOneTimeKeys        = 200      // unclaimed one-time keys per device
	MaxKeyObjectBytes     = 4 << 10  // one key object (device keys, a one-time key, a cross-signing key)
	MaxAlgorithms         = 8        // key algorithms per device, fallback keys per device
	MaxToDeviceBytes      = 60 << 10 // one to-device message's content
	MaxToDeviceRecipients = 1000     // devices named in one sendToDevice request
	MaxInboxMessages      = 1000     // undelivered to-device messages per device
	MaxInboxBytes         = 4 << 20  // their contents' bytes
	MaxOutboxMessages     = 10000    // to-device messages queued for one other node
	MaxOutboxBytes        = 32 << 20 // their contents' bytes
	MaxQueryUsers         = 1000     // users in one keys/query or keys/claim
	MaxBackupVersions     = 16       // backup versions a user may keep at once
	MaxBackupKeys         = 50000    // keys in one backup version
	MaxBackupKeyBytes     = 16 << 10 // one backed-up session key
	MaxAuthDataBytes      = 16 << 10 // a backup's auth_data
	MaxEncryptedBytes     = 48 << 10 // the m.room.encrypted content of a message
	ToDeviceTxnTTL        = 7 * 24 * time.Hour
	OutboxMaxAge          = 7 * 24 * time.Hour
	ReceivedIDTTL         = OutboxMaxAge + 24*time.Hour // longer than a sender retries
	MaxToDeviceTypeLen    = 128
	MaxToDeviceTxnLen     = 128
	MaxDeviceDisplayName  = 64
	MaxBackupIDLen        = 255 // room and session IDs in the backup (opaque to the node)
	MegolmAlgorithm       = "m.megolm.v1.aes-sha2"
	BackupAlgorithm       = "m.megolm_backup.v1.curve25519-aes-sha2"
	SignedCurve25519      = "signed_curve25519"
	MaxDeviceListEntries  = 5000 // pending device-list entries per device
)

// Device is one login of a user, with the keys its client published.
type Device struct {
	User        UserID   `json:"user"`
	ID          DeviceID `json:"id"`
	DisplayName string   `json:"displayName,omitempty"`
	CreatedAt   int64    `json:"createdAt"`
	LastSeen    int64    `json:"lastSeen,omitempty"`
	// Keys is the signed device_keys object as the client uploaded it
	// (plus signatures added later by the user's self-signing key); nil
	// until the client uploads it.
	Keys json.RawMessage `json:"keys,omitempty"`
	// Fallback holds the device's fallback key per algorithm.
	Fallback map[string]*FallbackKey `json:"fallback,omitempty"`
	// NextKeySeq numbers one-time keys in upload order.
	NextKeySeq uint64 `json:"nextKeySeq,omitempty"`
}

// DeviceInfo is a device as GET /api/v1/devices shows it.
type DeviceInfo struct {
	DeviceID    DeviceID `json:"deviceId"`
	DisplayName string   `json:"displayName,omitempty"`
	LastSeen    int64    `json:"lastSeen,omitempty"`
}

// OneTimeKey is one unclaimed one-time key of a device. Seq orders keys
// in upload order: the oldest is handed out first.
type OneTimeKey struct {
	Algorithm string          `json:"alg"`
	KeyID     string          `json:"id"`
	Seq       uint64          `json:"seq"`
	Key       json.RawMessage `json:"key"`
}

// FallbackKey is the key handed out when a device's one-time keys of its
// algorithm are gone, until the device uploads a new one.
type FallbackKey struct {
	KeyID string          `json:"id"`
	Key   json.RawMessage `json:"key"`
	Used  bool            `json:"used,omitempty"`
}

// CrossSigning holds a user's cross-signing keys (signed Matrix objects).
type CrossSigning struct {
	User        UserID          `json:"user"`
	Master      json.RawMessage `json:"master,omitempty"`
	SelfSigning json.RawMessage `json:"selfSigning,omitempty"`
	UserSigning json.RawMessage `json:"userSigning,omitempty"`
}

// UserSignature is a signature by one user (Signer, with their
// user-signing key) on another user's master key. Only the signer sees
// it, so it is kept on the signer's node only.
type UserSignature struct {
	Target UserID `json:"target"`
	Signer UserID `json:"signer"`
	// MasterKey is the public master key that was signed; Signature the
	// signature and KeyID the signer's user-signing key ID.
	MasterKey string `json:"masterKey"`
	KeyID     string `json:"keyId"`
	Signature string `json:"sig"`
}

// Mailbox is the bookkeeping of one device's inbox: the next sequence
// numbers of its to-device messages and device-list entries, and what
// the undelivered messages weigh.
type Mailbox struct {
	User           UserID   `json:"user"`
	Device         DeviceID `json:"device"`
	NextToDevice   uint64   `json:"nextTd"`
	Count          int      `json:"count"`
	Bytes          int      `json:"bytes"`
	NextDeviceList uint64   `json:"nextDl"`
	DeviceLists    int      `json:"dls"`
}

// ToDeviceMessage is one to-device event waiting in a device's inbox.
type ToDeviceMessage struct {
	Seq     uint64          `json:"seq"`
	Sender  UserID          `json:"sender"`
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
}

// DeviceListEntry tells a device that User's devices changed (or that
// they share no encrypted room any more, Left), at Seq of the device's
// device-list stream. There is at most one entry per (device, User).
type DeviceListEntry struct {
	User UserID `json:"user"`
	Left bool   `json:"left,omitempty"`
	Seq  uint64 `json:"seq"`
}

// Outbound is a to-device message waiting in the outbox for another node.
// ID is its idempotency key there.
type Outbound struct {
	To        NodeID          `json:"to"`
	Seq       uint64          `json:"seq"`
	ID        string          `json:"id"`
	Sender    UserID          `json:"sender"`
	Type      string          `json:"type"`
	Content   json.RawMessage `json:"content"`
	ToUser    UserID          `json:"toUser"`
	ToDevice  string          `json:"toDevice"` // a device ID or "*"
	CreatedAt int64           `json:"createdAt"`
}

// OutboxState is the bookkeeping of the outbox towards one node.
type OutboxState struct {
	Node  NodeID `json:"node"`
	Next  uint64 `json:"next"`
	Count int    `json:"count"`
	Bytes int    `json:"bytes"`
	// DeviceLists is set while device-list updates wait for the node.
	DeviceLists bool `json:"dl,omitempty"`
}

// BackupVersion is one version of a user's server-side key backup.
type BackupVersion struct {
	User      UserID          `json:"user"`
	Version   int64           `json:"version"`
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"authData"`
	Count     int             `json:"count"`
	Etag      int64           `json:"etag"`
}

// BackupKey is one backed-up Megolm session: Data is the Matrix
// KeyBackupData object, opaque but for its ranking fields.
type BackupKey struct {
	Room    string          `json:"room"`
	Session string          `json:"session"`
	Data    json.RawMessage `json:"data"`
}

// KeyTx is the part of a transaction that keeps the key directory and
// the mailboxes (docs/storage.md, the e2ee tables). Getters return an
// error wrapping ErrNotFound for absent records.
type KeyTx interface {
	// Devices, with their identity keys and fallback keys.
	Device(u UserID, id DeviceID) (*Device, error)
	PutDevice(d *Device) error
	// DeleteDevice removes a device and everything kept for it: its
	// one-time keys, mailbox, to-device messages, device-list entries and
	// the sent transaction IDs it used.
	DeleteDevice(u UserID, id DeviceID) error
	// EachDevice visits a user's devices in ID order until fn returns
	// false.
	EachDevice(u UserID, fn func(*Device) bool) error

	// One-time keys of a device.
	OneTimeKey(u UserID, d DeviceID, algorithm, keyID string) (*OneTimeKey, error)
	PutOneTimeKey(u UserID, d DeviceID, k *OneTimeKey) error
	// TakeOneTimeKey removes and returns the device's oldest key (lowest
	// Seq) of an algorithm; ErrNotFound when none is left.
	TakeOneTimeKey(u UserID, d DeviceID, algorithm string) (*OneTimeKey, error)
	// CountOneTimeKeys counts the device's keys per algorithm.
	CountOneTimeKeys(u UserID, d DeviceID) (map[string]int, error)

	// Cross-signing keys, and signatures on other users' master keys.
	CrossSigning(u UserID) (*CrossSigning, error)
	PutCrossSigning(c *CrossSigning) error
	UserSignature(target, signer UserID) (*UserSignature, error)
	PutUserSignature(s *UserSignature) error

	// DeviceListVersion is a user's device-list version: for a local
	// user the current one, for a remote user the newest one heard of.
	DeviceListVersion(u UserID) (int64, error)
	PutDeviceListVersion(u UserID, v int64) error

	// A device's mailbox: its bookkeeping, to-device messages in Seq
	// order and device-list entries (one per user they are about).
	Mailbox(u UserID, d DeviceID) (*Mailbox, error)
	PutMailbox(m *Mailbox) error
	PutToDevice(u UserID, d DeviceID, m *ToDeviceMessage) error
	// ToDeviceAfter returns up to limit messages with Seq > after, in
	// Seq order.
	ToDeviceAfter(u UserID, d DeviceID, after uint64, limit int) ([]*ToDeviceMessage, error)
	DeleteToDevice(u UserID, d DeviceID, seq uint64) error
	DeviceListEntry(u UserID, d DeviceID, about UserID) (*DeviceListEntry, error)
	PutDeviceListEntry(u UserID, d DeviceID, e *DeviceListEntry) error
	// DeviceListEntries returns up to limit entries with Seq > after,
	// in Seq order.
	DeviceListEntries(u UserID, d DeviceID, after uint64, limit int) ([]*DeviceListEntry, error)
	DeleteDeviceListEntry(u UserID, d DeviceID, about UserID) error

	// Idempotency: transaction IDs of sendToDevice per sending device,
	// and message IDs received from other nodes per origin; both expire.
	ToDeviceTxn(u UserID, d DeviceID, txn string) (bool, error)
	PutToDeviceTxn(u UserID, d DeviceID, txn string, ttl time.Duration) error
	Received(origin NodeID, id string) (bool, error)
	PutReceived(origin NodeID, id string, ttl time.Duration) error

	// The outbox: to-device messages for other nodes in Seq order per
	// node, its bookkeeping per node, and pending device-list updates
	// (the newest version per user) per node.
	OutboxState(to NodeID) (*OutboxState, error)
	PutOutboxState(s *OutboxState) error
	// EachOutboxState visits the nodes with outbox bookkeeping.
	EachOutboxState(fn func(*OutboxState) bool) error
	PutOutbound(m *Outbound) error
	// OutboundAfter returns up to limit messages for a node with Seq >
	// after, in Seq order.
	OutboundAfter(to NodeID, after uint64, limit int) ([]*Outbound, error)
	DeleteOutbound(to NodeID, seq uint64) error
	PutDeviceListOut(to NodeID, u UserID, version int64) error
	// DeviceListOut returns up to limit pending device-list updates for
	// a node.
	DeviceListOut(to NodeID, limit int) (map[UserID]int64, error)
	DeleteDeviceListOut(to NodeID, u UserID) error

	// Key backup: versions (the latest is current) and their keys.
	BackupVersion(u UserID, version int64) (*BackupVersion, error)
	// LatestBackupVersion returns the user's highest version.
	LatestBackupVersion(u UserID) (*BackupVersion, error)
	PutBackupVersion(b *BackupVersion) error
	// DeleteBackupVersion removes a version's record, not its keys:
	// there may be too many for one transaction (DeleteBackupKey).
	DeleteBackupVersion(u UserID, version int64) error
	// EachBackupVersion visits a user's versions in order.
	EachBackupVersion(u UserID, fn func(*BackupVersion) bool) error
	BackupKey(u UserID, version int64, room, session string) (*BackupKey, error)
	PutBackupKey(u UserID, version int64, k *BackupKey) error
	DeleteBackupKey(u UserID, version int64, room, session string) error
	// EachBackupKey visits the keys of a version (of one room when room
	// is not empty) in (room, session) order until fn returns false.
	EachBackupKey(u UserID, version int64, room string, fn func(*BackupKey) bool) error
}
