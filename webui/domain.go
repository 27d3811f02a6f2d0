package webui

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// Domain is what the API needs from the domain service, declared here, by
// its consumer (like p2p.Domain): webui decodes requests, checks tokens
// and frames, and asks the domain every question of rule. The domain's
// types (node.Message, node.Room, the errors of node/errors.go) stay the
// vocabulary; only the service is an interface. *node.Node satisfies it;
// cmd/hearth is where the two are wired together.
//
// One method a line, grouped by concern, so that a new endpoint adds one
// line to its group.
type Domain interface {
	// ID, Name and Version describe the node (GET /api/node).
	ID() node.NodeID
	Name() string
	Version() string
	// Now is the domain's clock (tests move it).
	Now() time.Time
	Accounts
	Rooms
	Messages
	Live
	Media
	Keys
	Backups
	Moderation
	Admin
	Notifications
}

// Accounts signs users up and in, keeps their sessions and devices, and
// edits their profiles.
type Accounts interface {
	RegisterWith(ctx context.Context, r node.Registration) (*node.User, error)
	Login(ctx context.Context, username, password string) (*node.User, error)
	NewSession(ctx context.Context, u node.UserID, device node.DeviceID) (*node.Session, string, error)
	Refresh(ctx context.Context, token string) (*node.Session, string, error)
	CheckSession(ctx context.Context, sid string, u node.UserID) error
	SessionDevice(ctx context.Context, sid string, u node.UserID) (node.DeviceID, error)
	Logout(ctx context.Context, sid string) error
	User(ctx context.Context, id node.UserID) (*node.User, error)
	UpdateMe(ctx context.Context, u node.UserID, c node.ProfileChange) (*node.User, error)
	SearchUsers(ctx context.Context, q string, limit int) ([]*node.User, error)
	Devices(ctx context.Context, u node.UserID) ([]node.DeviceInfo, error)
	SeenDevice(ctx context.Context, u node.UserID, id node.DeviceID)
	DeleteDevice(ctx context.Context, u node.UserID, id node.DeviceID, password string) ([]string, error)
}

// Rooms creates, lists and edits rooms and their membership.
type Rooms interface {
	Rooms(ctx context.Context, u node.UserID) ([]*node.Room, error)
	Room(ctx context.Context, u node.UserID, id node.RoomID) (*node.Room, error)
	CreateRoomWith(ctx context.Context, u node.UserID, name, topic, visibility string, o node.RoomOptions) (*node.Room, error)
	DMWith(ctx context.Context, u, other node.UserID, o node.RoomOptions) (*node.Room, error)
	UpdateRoom(ctx context.Context, u node.UserID, id node.RoomID, p node.RoomPatch) (*node.Room, error)
	EnableEncryption(ctx context.Context, u node.UserID, id node.RoomID) (*node.Room, error)
	Join(ctx context.Context, u node.UserID, id node.RoomID) (*node.Room, error)
	Leave(ctx context.Context, u node.UserID, id node.RoomID) error
	Invite(ctx context.Context, u node.UserID, id node.RoomID, target node.UserID) error
	Members(ctx context.Context, u node.UserID, id node.RoomID, after node.UserID, limit int) ([]*node.User, bool, error)
	PublicRoomsPage(ctx context.Context, q node.DirectoryQuery) (*node.DirectoryPage, error)
}

// Messages sends, edits and reads a room's messages and receipts.
type Messages interface {
	Send(ctx context.Context, u node.UserID, p node.SendParams) (*node.Message, error)
	// SendAsync returns once the message is accepted; durable runs once
	// it is on disk (the WebSocket's ack). See node.Node.SendAsync.
	SendAsync(ctx context.Context, u node.UserID, p node.SendParams, durable func(*node.Message, error)) error
	Edit(ctx context.Context, u node.UserID, room node.RoomID, id node.EventID, body string) (*node.Message, error)
	EditEncrypted(ctx context.Context, u node.UserID, room node.RoomID, id node.EventID, encrypted json.RawMessage) (*node.Message, error)
	Delete(ctx context.Context, u node.UserID, room node.RoomID, id node.EventID) error
	React(ctx context.Context, u node.UserID, room node.RoomID, id node.EventID, emoji string, on bool) (*node.Message, error)
	Message(ctx context.Context, u node.UserID, room node.RoomID, id node.EventID) (*node.Message, error)
	History(ctx context.Context, u node.UserID, room node.RoomID, before, thread node.EventID, limit int) ([]*node.Message, bool, error)
	Timeline(ctx context.Context, u node.UserID, room node.RoomID, q node.TimelineQuery) ([]*node.TimelineEvent, bool, error)
	MarkRead(ctx context.Context, u node.UserID, room node.RoomID, upTo node.EventID) error
	Receipts(ctx context.Context, u node.UserID, room node.RoomID) ([]*node.Receipt, error)
	Search(ctx context.Context, u node.UserID, p node.SearchParams) ([]*node.Message, bool, error)
}

// Live is what a WebSocket tells the domain about its user: presence and
// typing.
type Live interface {
	// Connect and Disconnect count a user's open sockets (presence).
	Connect(u node.UserID)
	Disconnect(u node.UserID)
	SetTyping(u node.UserID, room node.RoomID, typing bool) error
}

// Media stores and serves attachments.
type Media interface {
	Upload(ctx context.Context, u node.UserID, p node.UploadParams) (*node.Media, error)
	OpenMedia(ctx context.Context, u node.UserID, id node.MediaID) (*node.Media, io.ReadSeekCloser, error)
	Thumbnail(ctx context.Context, u node.UserID, id node.MediaID, w, h int) (*node.Media, io.ReadSeekCloser, string, error)
}

// Keys carries end-to-end encryption's keys and device messages; the
// node stores and routes them and never reads them.
type Keys interface {
	UploadKeys(ctx context.Context, u node.UserID, d node.DeviceID, req *node.KeysUploadRequest) (*node.KeysUploadResponse, error)
	QueryKeys(ctx context.Context, requester node.UserID, req *node.KeysQueryRequest) (*node.KeysQueryResponse, error)
	ClaimKeys(ctx context.Context, claimer node.UserID, req *node.KeysClaimRequest) (*node.KeysClaimResponse, error)
	KeyCounts(ctx context.Context, u node.UserID, d node.DeviceID) (map[string]int, []string, error)
	UploadCrossSigning(ctx context.Context, u node.UserID, req *node.CrossSigningUpload) error
	UploadSignatures(ctx context.Context, u node.UserID, req map[string]map[string]json.RawMessage) (map[string]map[string]json.RawMessage, error)
	SendToDevice(ctx context.Context, u node.UserID, dev node.DeviceID, evType, txn string, messages map[string]map[string]json.RawMessage) error
	ToDeviceInbox(ctx context.Context, u node.UserID, d node.DeviceID, after uint64, limit, maxBytes int) ([]node.ToDeviceEvent, uint64, error)
	AckToDevice(ctx context.Context, u node.UserID, d node.DeviceID, upTo uint64) error
	DeviceListInbox(ctx context.Context, u node.UserID, d node.DeviceID, after uint64, limit int) (changed, left []node.UserID, last uint64, err error)
	AckDeviceLists(ctx context.Context, u node.UserID, d node.DeviceID, upTo uint64) error
}

// Backups keeps users' encrypted room-key backups.
type Backups interface {
	CreateBackup(ctx context.Context, u node.UserID, req *node.BackupVersionRequest) (string, error)
	Backup(ctx context.Context, u node.UserID, version string) (*node.BackupInfo, error)
	UpdateBackup(ctx context.Context, u node.UserID, version string, req *node.BackupVersionRequest) error
	DeleteBackup(ctx context.Context, u node.UserID, version string) error
	PutBackupKeys(ctx context.Context, u node.UserID, version string, keys *node.BackupKeys) (*node.BackupCount, error)
	EachBackupKey(ctx context.Context, u node.UserID, version, room, session string, fn func(*node.BackupKey) bool) error
	DeleteBackupKeys(ctx context.Context, u node.UserID, version, room, session string) (*node.BackupCount, error)
}

// Moderation is what room moderators do (API.md §8) and users' reports
// to their node's admins; the domain decides who may.
type Moderation interface {
	Kick(ctx context.Context, actor node.UserID, id node.RoomID, target node.UserID, reason string) error
	Ban(ctx context.Context, actor node.UserID, id node.RoomID, target node.UserID, reason string) error
	Unban(ctx context.Context, actor node.UserID, id node.RoomID, target node.UserID) error
	SetRole(ctx context.Context, actor node.UserID, id node.RoomID, target node.UserID, role string) error
	Pin(ctx context.Context, actor node.UserID, id node.RoomID, msg node.EventID, on bool) error
	FileReport(ctx context.Context, reporter node.UserID, p node.ReportParams) (*node.Report, error)
}

// Notifications keeps users' notification settings and their browsers'
// push subscriptions (docs/notifications.md).
type Notifications interface {
	NotifySettings(ctx context.Context, u node.UserID) (*node.NotifySettings, error)
	SetNotifyPrefs(ctx context.Context, u node.UserID, p node.NotifyPrefs) (*node.NotifySettings, error)
	RoomNotify(ctx context.Context, u node.UserID, room node.RoomID) (*node.RoomNotify, error)
	SetRoomNotify(ctx context.Context, u node.UserID, room node.RoomID, level string) (*node.RoomNotify, error)
	PushKey() (string, error)
	Subscribe(ctx context.Context, u node.UserID, p node.PushSubscribe) (*node.PushSubscription, bool, error)
	PushSubscriptions(ctx context.Context, u node.UserID) ([]*node.PushSubscription, error)
	Unsubscribe(ctx context.Context, u node.UserID, id string) error
}

// Admin is the node admins' API (and the admin socket's): accounts,
// invite tokens, rooms closed here, the federation policy, reports and
// the audit log.
type Admin interface {
	RequireNodeAdmin(ctx context.Context, u node.UserID) error
	IsNodeAdmin(ctx context.Context, u node.UserID) (bool, error)
	RegistrationMode() string
	FederationMode() string
	AdminUsers(ctx context.Context, q, after string, limit int) ([]*node.AdminUser, bool, error)
	LockUser(ctx context.Context, actor, name string, locked bool, reason string) (node.UserID, error)
	ResetPassword(ctx context.Context, actor, name, password string) (node.UserID, string, error)
	SetNodeAdmin(ctx context.Context, actor, name string, admin bool) (node.UserID, error)
	DeleteUser(ctx context.Context, actor, name string) (*node.Erasure, error)
	Invites(ctx context.Context) ([]*node.InviteToken, error)
	CreateInvite(ctx context.Context, actor string, uses int, ttl time.Duration, note string) (string, *node.InviteToken, error)
	RevokeInvite(ctx context.Context, actor, id string) error
	AdminRooms(ctx context.Context) ([]*node.AdminRoom, error)
	CloseRoom(ctx context.Context, actor string, id node.RoomID, reason string) (int, error)
	ReopenRoom(ctx context.Context, actor string, id node.RoomID) error
	ClosedRooms(ctx context.Context) ([]*node.ClosedRoom, error)
	FederationPolicy(ctx context.Context) (*node.Policy, error)
	SetFederationMode(ctx context.Context, actor, mode string) error
	SetNodeRule(ctx context.Context, actor string, id node.NodeID, action, note string) error
	Reports(ctx context.Context, all bool, before int64, limit int) ([]*node.Report, bool, error)
	ResolveReport(ctx context.Context, actor string, id int64, note string) error
	Audit(ctx context.Context, before int64, limit int) ([]*node.AuditEntry, bool, error)
}
