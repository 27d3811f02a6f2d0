package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Media (API.md §6): files that users upload and attach to messages or
// set as avatars. The bytes live in a content-addressed file store
// (MediaFiles, implemented by the media package) and the metadata and
// references in the Store. This file holds the types and the rules:
// who may read a media ID, what an attachment may carry, and what is
// worth keeping; mediaupload.go, mediafetch.go and mediagc.go carry them
// out.

// MediaID is the content address of a file: base64url(sha256(bytes))
// without padding, over the bytes as stored (after location metadata was
// removed at upload), so that the same file has the same ID on every
// node and any node can check bytes against it.
type MediaID string

// mediaIDLen is the length of a MediaID: 32 bytes in base64url.
const mediaIDLen = 43

// Valid reports whether id has the form of a media ID.
func (id MediaID) Valid() bool {
	if len(id) != mediaIDLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(string(id))
	return err == nil
}

// Media is the API view of a file (API.md §6).
type Media struct {
	ID       MediaID `json:"id"`
	Type     string  `json:"type"`
	Size     int64   `json:"size"`
	Name     string  `json:"name,omitempty"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	Blurhash string  `json:"blurhash,omitempty"`
}

// MediaRecord is what a node knows of a media ID: its metadata (as this
// node sniffed and measured the bytes once it holds them; as an
// attachment claimed before that) and whether the bytes are here.
type MediaRecord struct {
	Media
	// Stored is set once the bytes are in the file store.
	Stored bool `json:"stored,omitempty"`
	// At is when the record was made or the bytes last arrived (ms).
	At int64 `json:"at"`
}

// Kinds of MediaRef.
const (
	// RefUpload: Target (a local user) uploaded the file; it counts
	// against their quota and keeps the file for the grace period.
	RefUpload = "up"
	// RefMessage: message Target of Room attaches the file.
	RefMessage = "msg"
	// RefAvatar: user Target has it as their avatar.
	RefAvatar = "av"
	// RefRoomAvatar: room Target (= Room) has it as its avatar; those who
	// may read the room may read it.
	RefRoomAvatar = "rav"
)

// MediaRef is one reason to keep (and to grant access to) a media ID.
type MediaRef struct {
	Media  MediaID `json:"media"`
	Kind   string  `json:"kind"`
	Target string  `json:"target"`
	// Room is the attaching message's room (RefMessage) or the room
	// whose avatar it is (RefRoomAvatar).
	Room RoomID `json:"room,omitempty"`
	// Node is where the bytes came from first: the message's origin or
	// the avatar owner's node; the first node asked for them.
	Node NodeID `json:"node,omitempty"`
	// Size is the bytes charged to the uploader (RefUpload).
	Size int64 `json:"size,omitempty"`
	// At is when the reference was made (ms).
	At int64 `json:"at"`
}

// MediaFiles is the content-addressed file store the node keeps media
// in. media.Store implements it.
type MediaFiles interface {
	// Write streams src into a temporary file and learns what it is:
	// the type sniffed from the bytes, the size, the content hash and,
	// for images, the dimensions and a blurhash. With scrub, location
	// metadata is removed from images first (the hash is of what is
	// stored). An image over the pixel limit is refused with ErrTooLarge
	// when scrub is set (an upload), and kept without a preview when it
	// is not (a copy of another node's file, whose ID is fixed). Errors
	// of src are returned as they are.
	Write(ctx context.Context, src io.Reader, scrub bool) (PendingMedia, error)
	// Open opens a stored file; ErrNotFound when it is not here.
	Open(id MediaID) (io.ReadSeekCloser, error)
	// Has reports whether the file is stored.
	Has(id MediaID) bool
	// Thumbnail returns a cached preview of a stored image that fits in
	// box×box pixels, making it on first use, and its type.
	Thumbnail(ctx context.Context, id MediaID, box int) (io.ReadSeekCloser, string, error)
	// Remove deletes a file and its previews.
	Remove(id MediaID) error
	// Each lists stored files with their modification times.
	Each(fn func(id MediaID, modified time.Time) bool) error
}

// PendingMedia is a fully written temporary file, not yet in the store.
type PendingMedia interface {
	// Info is what Write learned; Name is empty.
	Info() Media
	// Commit moves the file into the store under Info().ID (a file
	// already there with that ID has the same bytes and is kept).
	Commit() error
	// Discard removes the temporary file.
	Discard()
}

// MediaFetcher gets media this node lacks from other nodes. p2p.Host
// implements it.
type MediaFetcher interface {
	// FetchMedia asks the nodes in order for a file until accept takes
	// it from one of them. accept reads the bytes as they arrive, at
	// most max; when it returns an error wrapping ErrInvalid the node
	// sent bytes that are not the file, and the transport holds that
	// against it.
	FetchMedia(ctx context.Context, id MediaID, from []NodeID, max int64, accept func(r io.Reader) error) error
}

// Media limits (docs/security.md, resource table).
const (
	// MaxAttachments bounds a message's attachments (API.md §6).
	MaxAttachments = 10
	// maxMediaName bounds a file name, in bytes.
	maxMediaName = 255
	// maxBlurhash bounds a blurhash string (9×9 components take 4+2+4+80×2).
	maxBlurhash = 170
	// maxMediaType bounds a MIME type string.
	maxMediaType = 127
	// maxRefsChecked bounds the references read to decide access.
	maxRefsChecked = 256
	// maxFetchNodes bounds the nodes asked for one file.
	maxFetchNodes = 16
)

// ThumbnailSizes are the preview boxes a node makes (the largest that
// fits a request is served), so that no one can make it store unbounded
// variants of a file.
var ThumbnailSizes = []int{32, 64, 128, 256, 512, 1024}

// mediaState is the node's live media bookkeeping. mu is a leaf lock;
// a media ID's lock (lockMedia) is taken before a store Update, never
// under a room's lock.
type mediaState struct {
	mu        sync.Mutex
	uploading map[UserID]int   // uploads in progress per user
	reserved  map[UserID]int64 // bytes reserved by uploads in progress
	total     int              // uploads in progress on the node
	fetching  map[MediaID]*mediaFetch
	fetchSem  chan struct{}
	fetcher   MediaFetcher

	ids [64]sync.Mutex // per media ID (striped): file and record change together

	stop chan struct{} // closes the collector
	done chan struct{}
}

type mediaFetch struct {
	done chan struct{}
	err  error
}

func newMediaState(fetches int) *mediaState {
	return &mediaState{
		uploading: map[UserID]int{}, reserved: map[UserID]int64{},
		fetching: map[MediaID]*mediaFetch{}, fetchSem: make(chan struct{}, fetches),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// lockMedia serialises the changes of one media ID's file and record:
// an upload or fetch committing it, and the collector deleting it.
func (m *mediaState) lockMedia(id MediaID) func() {
	var h uint32
	for i := 0; i < len(id); i++ {
		h = h*31 + uint32(id[i])
	}
	mu := &m.ids[h%uint32(len(m.ids))]
	mu.Lock()
	return mu.Unlock
}

// SetMediaFetcher attaches the transport that fetches media from other
// nodes. Call it before serving.
func (n *Node) SetMediaFetcher(f MediaFetcher) {
	if n.media == nil {
		return
	}
	n.media.mu.Lock()
	n.media.fetcher = f
	n.media.mu.Unlock()
}

func (n *Node) mediaFiles() (MediaFiles, error) {
	if n.media == nil || n.cfg.Media == nil {
		return nil, errorf(ErrUnavailable, "this node stores no media")
	}
	return n.cfg.Media, nil
}

// cleanMediaName makes a client's file name safe to keep and show: the
// last path element, valid UTF-8 without control characters, at most 255
// bytes.
func cleanMediaName(s string) string {
	s = strings.ToValidUTF8(s, "")
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return -1 // controls and bidirectional overrides
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "." || s == ".." {
		s = ""
	}
	for len(s) > maxMediaName {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// validMediaType checks a MIME type's shape (type/subtype, printable
// ASCII without spaces), as claimed by another node.
func validMediaType(t string) bool {
	if t == "" || len(t) > maxMediaType || strings.Count(t, "/") != 1 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f || c == '"' || c == ';' || c == ',' {
			return false
		}
	}
	return true
}

// validBlurhash checks a blurhash's shape: base83 characters, bounded.
func validBlurhash(s string) bool {
	if len(s) < 6 || len(s) > maxBlurhash {
		return false
	}
	const base83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(base83, s[i]) < 0 {
			return false
		}
	}
	return true
}

// parseAttachment reads one attachment of a message as this node keeps
// it: every field checked, anything malformed refused (a content rule
// of every node, docs/protocol.md §2.4), optional fields that do not fit
// dropped.
func parseAttachment(raw json.RawMessage) (*Media, error) {
	var a Media
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, errorf(ErrInvalid, "an attachment is not a media object")
	}
	if !a.ID.Valid() {
		return nil, errorf(ErrInvalid, "an attachment has no valid media id")
	}
	if a.Size < 0 {
		a.Size = 0
	}
	if !validMediaType(a.Type) {
		a.Type = "application/octet-stream"
	}
	a.Name = cleanMediaName(a.Name)
	if a.Width < 0 || a.Height < 0 || a.Width > 1<<20 || a.Height > 1<<20 {
		a.Width, a.Height = 0, 0
	}
	if a.Blurhash != "" && !validBlurhash(a.Blurhash) {
		a.Blurhash = ""
	}
	return &a, nil
}

// parseAttachments checks a message's attachments: at most
// MaxAttachments, each a media object with a valid ID.
func parseAttachments(raws []json.RawMessage) ([]*Media, error) {
	if len(raws) > MaxAttachments {
		return nil, errorf(ErrInvalid, fmt.Sprintf("a message has at most %d attachments", MaxAttachments))
	}
	out := make([]*Media, 0, len(raws))
	for _, raw := range raws {
		a, err := parseAttachment(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func encodeAttachments(as []*Media) ([]json.RawMessage, error) {
	if len(as) == 0 {
		return nil, nil
	}
	out := make([]json.RawMessage, len(as))
	for i, a := range as {
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encode attachment: %w", err)
		}
		out[i] = b
	}
	return out, nil
}

// prepareAttachments turns the attachments a local user sends into what
// the message carries: each must name a media ID the user may read (an
// upload of theirs, or a file they can see elsewhere), and its type,
// size, dimensions and blurhash are this node's, not the client's; only
// the name is the client's (or the upload's when absent). In an
// end-to-end encrypted room an attachment is its ID, type and size only:
// its name and preview travel inside the encrypted content.
func (n *Node) prepareAttachments(ctx context.Context, u UserID, raws []json.RawMessage, encrypted bool) ([]json.RawMessage, error) {
	if len(raws) == 0 {
		return nil, nil
	}
	as, err := parseAttachments(raws)
	if err != nil {
		return nil, err
	}
	seen := map[MediaID]bool{}
	for _, a := range as {
		if seen[a.ID] {
			return nil, errorf(ErrInvalid, "the same file is attached twice")
		}
		seen[a.ID] = true
		rec, err := n.readableMedia(ctx, u, a.ID)
		if err != nil {
			return nil, fmt.Errorf("attachment %s: %w", a.ID, err)
		}
		name := a.Name
		if name == "" {
			name = rec.Name
		}
		*a = rec.Media
		a.Name = name
		if encrypted {
			a.Name, a.Width, a.Height, a.Blurhash = "", 0, 0, ""
		}
	}
	return encodeAttachments(as)
}

// indexAttachments records a stored message's attachments: a reference
// per file (which keeps it and grants the room's readers access) and a
// record for files not known here yet, with what the message claims of
// them until the bytes arrive. A local sender's attachment must name a
// file known here (it was checked when sent; the collector may have
// removed it since). It returns the attachments as the message view
// keeps them.
func (n *Node) indexAttachments(tx Tx, e *Event, raws []json.RawMessage) ([]json.RawMessage, error) {
	if len(raws) == 0 {
		return nil, nil
	}
	as, err := parseAttachments(raws)
	if err != nil {
		return nil, err
	}
	now := n.now().UnixMilli()
	for _, a := range as {
		if _, err := tx.MediaRecord(a.ID); errors.Is(err, ErrNotFound) {
			if n.IsLocal(e.Sender) {
				return nil, errorf(ErrNotFound, "an attached file is no longer stored; upload it again")
			}
			stub := &MediaRecord{Media: *a, At: now}
			stub.Name = ""
			if err := tx.PutMediaRecord(stub); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
		ref := &MediaRef{Media: a.ID, Kind: RefMessage, Target: string(e.ID), Room: e.Room, Node: e.Origin, At: now}
		if err := tx.PutMediaRef(ref); err != nil {
			return nil, err
		}
	}
	return encodeAttachments(as)
}

// unindexAttachments drops a deleted message's references.
func unindexAttachments(tx Tx, m *Message) error {
	for _, raw := range m.Attachments {
		a, err := parseAttachment(raw)
		if err != nil {
			continue
		}
		if err := tx.DeleteMediaRef(a.ID, RefMessage, string(m.ID)); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// setAvatarRef moves a user's avatar reference from old to avatar.
func (n *Node) setAvatarRef(tx Tx, u UserID, old, avatar string) error {
	if old == avatar {
		return nil
	}
	return n.moveAvatarRef(tx, old, avatar, MediaRef{Kind: RefAvatar, Target: string(u), Node: u.Node()})
}

// setRoomAvatarRef moves a room's avatar reference from old to avatar (a
// room.update applied here, from this node or another: origin is where
// the bytes are first asked for).
func (n *Node) setRoomAvatarRef(tx Tx, room RoomID, origin NodeID, old, avatar string) error {
	return n.moveAvatarRef(tx, old, avatar, MediaRef{Kind: RefRoomAvatar, Target: string(room), Room: room, Node: origin})
}

// moveAvatarRef drops ref (its Kind and Target) from the file old and
// gives it to the file avatar, recording that file as claimed when this
// node has not heard of it yet (the bytes are fetched on first read).
func (n *Node) moveAvatarRef(tx Tx, old, avatar string, ref MediaRef) error {
	if old != "" && MediaID(old).Valid() {
		if err := tx.DeleteMediaRef(MediaID(old), ref.Kind, ref.Target); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	id := MediaID(avatar)
	if avatar == "" || !id.Valid() {
		return nil
	}
	now := n.now().UnixMilli()
	if _, err := tx.MediaRecord(id); errors.Is(err, ErrNotFound) {
		if err := tx.PutMediaRecord(&MediaRecord{Media: Media{ID: id, Type: "application/octet-stream"}, At: now}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	ref.Media, ref.At = id, now
	return tx.PutMediaRef(&ref)
}

// checkAvatar checks that a user may set a media ID as their avatar: one
// they may read, and an image that browsers show inline.
func (n *Node) checkAvatar(ctx context.Context, u UserID, avatar string) error {
	if avatar == "" {
		return nil
	}
	id := MediaID(avatar)
	if !id.Valid() {
		return errorf(ErrInvalid, "avatar must be a media id")
	}
	rec, err := n.readableMedia(ctx, u, id)
	if errors.Is(err, ErrNotFound) {
		return errorf(ErrInvalid, "avatar names no file you uploaded or can see")
	}
	if err != nil {
		return err
	}
	if !InlineImage(rec.Type) {
		return errorf(ErrInvalid, "avatar must be a PNG, JPEG, GIF, WebP or AVIF image")
	}
	return nil
}

// InlineImage reports whether a type is an image that browsers show and
// cannot run (so no SVG).
func InlineImage(t string) bool {
	switch t {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/vnd.mozilla.apng":
		return true
	}
	return false
}

// readableMedia returns a media record if u may read it (API.md §6): u
// uploaded it, it is attached to a message in a room u may read or is
// that room's avatar, or it is someone's avatar. Anything else is ErrNotFound, so knowing a file's
// hash tells nothing.
func (n *Node) readableMedia(ctx context.Context, u UserID, id MediaID) (*MediaRecord, error) {
	notFound := errorf(ErrNotFound, "no such media")
	if !id.Valid() {
		return nil, notFound
	}
	var (
		rec   *MediaRecord
		rooms []RoomID
		ok    bool
	)
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		if rec, err = tx.MediaRecord(id); err != nil {
			return err
		}
		if _, err := tx.MediaRef(id, RefUpload, string(u)); err == nil {
			ok = true
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		seen := 0
		return tx.EachMediaRef(id, func(r *MediaRef) bool {
			switch r.Kind {
			case RefAvatar:
				ok = true
			case RefMessage, RefRoomAvatar:
				rooms = append(rooms, r.Room)
			}
			seen++
			return !ok && seen < maxRefsChecked
		})
	})
	if errors.Is(err, ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("read media %s: %w", id, err)
	}
	for _, room := range rooms {
		if ok {
			break
		}
		if _, err := n.readableRoom(u, room); err == nil {
			ok = true
		}
	}
	if !ok {
		return nil, notFound
	}
	return rec, nil
}

// mediaReadableByNode reports whether another node may fetch a file from
// this one: it is someone's avatar, or attached to a message of a room
// (or the avatar of a room) that node may read (ReadableBy: any node for a public room, member
// nodes for a private room or DM).
func (n *Node) mediaReadableByNode(ctx context.Context, id MediaID, reader NodeID) (bool, error) {
	var (
		rooms []RoomID
		ok    bool
	)
	err := n.store.View(ctx, func(tx Tx) error {
		seen := 0
		return tx.EachMediaRef(id, func(r *MediaRef) bool {
			switch r.Kind {
			case RefAvatar:
				ok = true
			case RefMessage, RefRoomAvatar:
				rooms = append(rooms, r.Room)
			}
			seen++
			return !ok && seen < maxRefsChecked
		})
	})
	if err != nil {
		return false, err
	}
	for _, room := range rooms {
		if ok {
			break
		}
		ok = n.ReadableBy(room, reader)
	}
	return ok, nil
}

// mediaSources lists the nodes to ask for a file, best first: where each
// reference says the bytes came from, then the other nodes of the rooms
// that attach it. For a private room these are its member nodes only.
func (n *Node) mediaSources(ctx context.Context, id MediaID) ([]NodeID, error) {
	var refs []*MediaRef
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachMediaRef(id, func(r *MediaRef) bool {
			refs = append(refs, r)
			return len(refs) < maxRefsChecked
		})
	})
	if err != nil {
		return nil, err
	}
	var out []NodeID
	seen := map[NodeID]bool{n.ID(): true}
	add := func(id NodeID) {
		if id != "" && !seen[id] && len(out) < maxFetchNodes {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, r := range refs {
		add(r.Node)
	}
	for _, r := range refs {
		if r.Kind == RefMessage || r.Kind == RefRoomAvatar {
			for _, id := range n.RoomNodes(r.Room) {
				add(id)
			}
		}
	}
	return out, nil
}

// mediaFileName is the name a download gets: the record's, or the ID
// with an extension for its type.
func mediaFileName(m *Media) string {
	if m.Name != "" {
		return m.Name
	}
	ext := ""
	if _, sub, ok := strings.Cut(m.Type, "/"); ok && len(sub) <= 8 && !strings.ContainsAny(sub, "+.-") {
		ext = "." + sub
	}
	return path.Base(string(m.ID)) + ext
}

// MediaFileName is the file name to offer when a file is downloaded.
func MediaFileName(m *Media) string { return mediaFileName(m) }
