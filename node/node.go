package node

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Node. Zero fields take the documented defaults.
type Config struct {
	// Store persists everything. Required.
	Store Store
	// Key is the node's Ed25519 key; its peer ID is the node ID. Required.
	Key ed25519.PrivateKey
	// Name is a human label for the node (not unique, not an identity).
	Name string
	// Version is reported by the API.
	Version string
	// Logger receives structured logs; slog.Default() when nil.
	Logger *slog.Logger
	// Now reads the wall clock; time.Now when nil. Tests move it.
	Now func() time.Time
	// Notifier delivers live notifications to local connections.
	Notifier Notifier
	// TypingTimeout ends a typing indicator that was not renewed; 6s.
	TypingTimeout time.Duration
	// SessionTTL is how long a session lives without a refresh; 30 days.
	SessionTTL time.Duration
	// HashConcurrency bounds concurrent password hashes; 2.
	HashConcurrency int

	// Media is the file store for uploads and fetched files; nil turns
	// media off (uploads answer ErrUnavailable). See media.go.
	Media MediaFiles
	// MaxUpload bounds one file, in bytes; 50 MiB.
	MaxUpload int64
	// UserQuota bounds the bytes of a user's uploads; 1 GiB.
	UserQuota int64
	// MediaGrace is how long an unreferenced file is kept; 24 h.
	MediaGrace time.Duration
	// MediaGCInterval is how often unreferenced files are collected;
	// a quarter of MediaGrace, between 1 s and 1 h.
	MediaGCInterval time.Duration
	// MaxUploadsPerUser and MaxUploads bound uploads in progress per user
	// (4) and on the node (16), and so the temporary files.
	MaxUploadsPerUser int
	MaxUploads        int
	// MediaFetches bounds concurrent fetches from other nodes; 4.
	MediaFetches int
	// MediaFetchTimeout bounds one file's fetch from other nodes; 2 min.
	MediaFetchTimeout time.Duration
	// HashQueue bounds the callers waiting for a hash slot; 64.
	HashQueue int
	// RoomsPerUser bounds the rooms (DMs included) a local user may
	// create; DefaultRoomsPerUser. JoinedRoomsPerUser bounds the rooms a
	// local user is in, joined or invited; DefaultJoinedRoomsPerUser.
	RoomsPerUser       int
	JoinedRoomsPerUser int
	// SessionsPerUser bounds a user's sessions: a new login past it ends
	// the oldest; DefaultSessionsPerUser.
	SessionsPerUser int
	// What other nodes can make this one hold while it waits to decide
	// their events: HeldEvents (8192) and HeldBytes (32 MiB) in all, and
	// StrangeRooms (1024), entries for rooms not held here.
	HeldEvents   int
	HeldBytes    int64
	StrangeRooms int
	// RemoteProfiles bounds the profiles of other nodes' users kept here;
	// 100,000.
	RemoteProfiles int
	// SearchScan bounds the profiles one user search reads, so a query
	// that matches nothing costs the same on a node that knows many
	// users; 20,000.
	SearchScan int
	// Admin configures registration, the federation policy and the
	// audit log (admin.go).
	Admin AdminConfig
	// Push configures Web Push (push.go); off without Push.Sender.
	Push PushConfig
	// Search is the full-text index of messages (search.go); nil turns
	// search off. SearchDelay is how long changes gather before they are
	// indexed together, 50 ms; batches are at least 20 delays (at most a
	// second) apart.
	Search      SearchIndex
	SearchDelay time.Duration
	// Searches bounds the searches running at once on the node (4), and
	// a user runs one at a time; past either a search is refused with
	// ErrRateLimited rather than queued behind the others.
	Searches int
}

// Node is the Hearth domain service: every use case of the API goes
// through it. It is safe for concurrent use.
//
// Lock order: a roomEntry.mu before Node.mu (applying a membership change
// re-indexes users under the room's lock), so never lock a room while
// holding Node.mu; quotas.mu sits between the two (it reads userRooms);
// presence.mu and dirState.mu are leaves; dirCache.mu comes before any
// room lock (building the directory locks rooms one at a time).
type Node struct {
	cfg    Config
	log    *slog.Logger
	store  Store
	signer *Signer
	clock  *Clock
	now    func() time.Time
	notify Notifier
	hashes chan struct{} // semaphore for argon2 work
	dummy  string        // a hash to check against for unknown users

	hashWaiting atomic.Int32 // callers waiting for a hash slot

	hashMu      sync.Mutex
	hashRelease *time.Timer // returns hashing memory after a burst; guarded by hashMu
	hashClosed  bool        // guarded by hashMu

	fedMu sync.RWMutex
	fed   Federation

	heldEvents atomic.Int32 // events in every roomEntry.pending
	heldBytes  atomic.Int64 // their wire size
	strangers  atomic.Int32 // entries with stranger set

	mu        sync.RWMutex
	rooms     map[RoomID]*roomEntry
	userRooms map[UserID]map[RoomID]struct{} // local users' joined and invited rooms
	// joinedRooms is every user's (local or not) joined rooms, so that a
	// presence change finds the rooms it concerns without visiting all.
	joinedRooms map[UserID]map[RoomID]struct{}
	// localRooms counts each room's local members and invitees (the
	// entries of userRooms), so LocalRooms need not visit every user.
	localRooms map[RoomID]int
	closed     bool

	authMu      sync.Mutex // serialises refresh-token rotation
	closeMedia  sync.Once
	closeSearch sync.Once

	profMu         sync.Mutex // serialises remote profile writes
	remoteProfiles int        // remote profiles stored; -1 until counted; guarded by profMu

	presence *presence
	dir      dirState
	e2ee     *e2eeWorker // the outbox and device-list jobs (outbox.go)
	media    *mediaState // nil without cfg.Media
	dirCache dirCache
	quota    quotas
	admin    *adminState   // registration, federation policy, audit (admin.go)
	push     *pushWorker   // the push outbox (pushout.go); nil when Web Push is off
	search   *searchWorker // nil without cfg.Search (searchwork.go)
}

type roomEntry struct {
	mu      sync.Mutex
	state   *RoomState
	pending []*Event // held until their authorisation is decidable
	keys    roomKeys // private rooms' keys, cached from the store's index
	// version counts the changes of state (which changes in place), so
	// that applyLocked can tell whether an event changed the room.
	version uint64

	// lateness bounds back-dated events from other nodes (late.go).
	lateness lateState

	// idx is what fan-out, typing and presence read without the room's
	// lock. It is replaced under r.mu on each membership change, never
	// changed, so a reader may keep its slices.
	idx atomic.Pointer[roomIndex]

	// stranger marks an entry that Ingest made for a room not held here,
	// counted in Node.strangers until the room's creation arrives.
	stranger bool
}

// roomIndex is a room's membership as fan-out needs it.
type roomIndex struct {
	count int      // joined members
	local []UserID // joined members of this node, sorted; read-only
}

// index returns the room's current roomIndex (empty before creation).
func (r *roomEntry) index() *roomIndex {
	if x := r.idx.Load(); x != nil {
		return x
	}
	return &roomIndex{}
}

// localMembers lists the joined members who live on this node. The slice
// is shared: callers must not change it.
func (r *roomEntry) localMembers() []UserID { return r.index().local }

// maxPending bounds the held events of one room; Config bounds them in
// all. Past either the oldest or the new one is not held (Ingest still
// answers ErrPending), and history sync brings it back once it can be
// decided.
const maxPending = 1024

// New opens the node's state from cfg.Store.
//
// Long (over 80 lines): defaults and loading in the order they depend on
// each other.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Store == nil || len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("new node: store and key are required: %w", ErrInvalid)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Notifier == nil {
		cfg.Notifier = nopNotifier{}
	}
	if cfg.TypingTimeout == 0 {
		cfg.TypingTimeout = 6 * time.Second
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.HashConcurrency == 0 {
		cfg.HashConcurrency = 2
	}
	cfg.MaxUpload = cmp.Or(cfg.MaxUpload, DefaultMaxUpload)
	cfg.UserQuota = cmp.Or(cfg.UserQuota, DefaultUserQuota)
	cfg.MediaGrace = cmp.Or(cfg.MediaGrace, defaultMediaGrace)
	cfg.MediaGCInterval = cmp.Or(cfg.MediaGCInterval, min(max(cfg.MediaGrace/4, time.Second), time.Hour))
	cfg.MaxUploadsPerUser = cmp.Or(cfg.MaxUploadsPerUser, defaultUploadsPerUser)
	cfg.MaxUploads = cmp.Or(cfg.MaxUploads, defaultUploads)
	cfg.MediaFetches = cmp.Or(cfg.MediaFetches, defaultMediaFetches)
	cfg.MediaFetchTimeout = cmp.Or(cfg.MediaFetchTimeout, defaultMediaFetchTimeout)
	if cfg.HashQueue == 0 {
		cfg.HashQueue = 64
	}
	if cfg.RoomsPerUser == 0 {
		cfg.RoomsPerUser = DefaultRoomsPerUser
	}
	if cfg.JoinedRoomsPerUser == 0 {
		cfg.JoinedRoomsPerUser = DefaultJoinedRoomsPerUser
	}
	if cfg.SessionsPerUser == 0 {
		cfg.SessionsPerUser = DefaultSessionsPerUser
	}
	if cfg.HeldEvents == 0 {
		cfg.HeldEvents = 8192
	}
	if cfg.HeldBytes == 0 {
		cfg.HeldBytes = 32 << 20
	}
	if cfg.StrangeRooms == 0 {
		cfg.StrangeRooms = 1024
	}
	if cfg.RemoteProfiles == 0 {
		cfg.RemoteProfiles = 100_000
	}
	if cfg.SearchScan == 0 {
		cfg.SearchScan = 20_000
	}
	cfg.SearchDelay = cmp.Or(cfg.SearchDelay, defaultSearchDelay)
	cfg.Searches = cmp.Or(cfg.Searches, defaultSearches)
	n := &Node{
		cfg:         cfg,
		log:         cfg.Logger,
		store:       cfg.Store,
		signer:      NewSigner(cfg.Key),
		clock:       NewClock(cfg.Now),
		now:         cfg.Now,
		notify:      cfg.Notifier,
		hashes:      make(chan struct{}, cfg.HashConcurrency),
		fed:         nopFederation{},
		rooms:       map[RoomID]*roomEntry{},
		userRooms:   map[UserID]map[RoomID]struct{}{},
		joinedRooms: map[UserID]map[RoomID]struct{}{},
		localRooms:  map[RoomID]int{},
		quota:       quotas{created: map[UserID]int{}, pending: map[UserID]int{}},

		remoteProfiles: -1,
	}
	n.presence = newPresence(n)
	n.dummy = hashPassword("hearth-dummy-password")
	if err := n.load(ctx); err != nil {
		return nil, err
	}
	if err := n.loadAdmin(ctx); err != nil {
		return nil, err
	}
	push, err := newPushWorker(ctx, n, cfg.Push)
	if err != nil {
		return nil, fmt.Errorf("load push outbox: %w", err)
	}
	n.push = push
	n.e2ee = newE2EEWorker(n)
	if err := n.startSearch(ctx); err != nil {
		n.e2ee.close()
		if n.push != nil {
			n.push.close()
		}
		return nil, fmt.Errorf("start search: %w", err)
	}
	if cfg.Media != nil {
		n.media = newMediaState(n.cfg.MediaFetches)
		go n.collectMediaLoop()
	}
	return n, nil
}

// load reads the room snapshots and, per room, the position of its newest
// message (one index seek: a page of one), so start-up costs O(rooms)
// whatever the history's size. Room views read their last message when
// they are built (viewFor).
func (n *Node) load(ctx context.Context) error {
	return n.store.View(ctx, func(tx Tx) error {
		var states []*RoomState
		if err := tx.EachRoomState(func(s *RoomState) bool {
			states = append(states, s)
			return true
		}); err != nil {
			return fmt.Errorf("load rooms: %w", err)
		}
		for _, s := range states {
			msgs, _, err := tx.Messages(s.ID, nil, 1)
			if err != nil {
				return fmt.Errorf("load room %s: %w", s.ID, err)
			}
			if len(msgs) == 1 {
				s.LastActivity = max(s.LastActivity, msgs[0].TS)
			}
			r := &roomEntry{state: s}
			n.rooms[s.ID] = r
			var local []UserID
			for _, u := range s.Members() {
				if n.IsLocal(u) {
					local = append(local, u)
				}
			}
			r.idx.Store(&roomIndex{count: s.MemberCount(), local: local})
			for u := range s.History {
				n.indexUserLocked(s, u)
			}
			n.countCreated(s)
		}
		return nil
	})
}

// SetFederation attaches the transport to other nodes. Call it before
// serving; it may be called once.
func (n *Node) SetFederation(f Federation) {
	n.fedMu.Lock()
	n.fed = f
	n.fedMu.Unlock()
	n.e2ee.wakeOutbox()
}

func (n *Node) federation() Federation {
	n.fedMu.RLock()
	defer n.fedMu.RUnlock()
	return n.fed
}

// ID is the node's ID (its libp2p peer ID).
func (n *Node) ID() NodeID { return n.signer.NodeID() }

// Name is the node's human label.
func (n *Node) Name() string { return n.cfg.Name }

// Version is the software version.
func (n *Node) Version() string { return n.cfg.Version }

// Signer signs events with the node key.
func (n *Node) Signer() *Signer { return n.signer }

// Now is the node's wall clock.
func (n *Node) Now() time.Time { return n.now() }

// Close stops timers. The store is closed by its owner.
func (n *Node) Close() error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.hashMu.Lock()
	n.hashClosed = true
	if n.hashRelease != nil {
		n.hashRelease.Stop()
	}
	n.hashMu.Unlock()
	n.presence.close()
	n.e2ee.close()
	if n.push != nil {
		n.push.close()
	}
	if n.search != nil {
		n.closeSearch.Do(n.search.close)
	}
	if n.media != nil {
		n.closeMedia.Do(func() { close(n.media.stop) })
		<-n.media.done
	}
	return nil
}

// IsLocal reports whether u lives on this node.
func (n *Node) IsLocal(u UserID) bool { return u.Node() == n.ID() }

// room returns the entry for id, creating an empty one when create is set.
func (n *Node) room(id RoomID, create bool) *roomEntry {
	n.mu.RLock()
	r := n.rooms[id]
	n.mu.RUnlock()
	if r != nil || !create {
		return r
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if r = n.rooms[id]; r == nil {
		r = &roomEntry{state: NewRoomState(id)}
		n.rooms[id] = r
	}
	return r
}

// reindexLocked brings the room's fan-out index and the node's per-user
// room indexes up to date after the membership of users changed. r.mu
// must be held (not n.mu: it is taken here, in lock order). The work is
// in the number of users changed, not the room's size, but for a copy
// of the local member list when a local user joins or leaves.
func (n *Node) reindexLocked(r *roomEntry, users []UserID) {
	s := r.state
	old := r.index()
	local := old.local
	copied := false
	for _, u := range users {
		if !n.IsLocal(u) {
			continue
		}
		_, was := slices.BinarySearch(local, u)
		if is := s.IsMember(u); is != was {
			if !copied {
				local, copied = slices.Clone(local), true
			}
			if is {
				local = insertSorted(local, u)
			} else {
				local = removeSorted(local, u)
			}
		}
	}
	r.idx.Store(&roomIndex{count: s.MemberCount(), local: local})
	n.mu.Lock()
	for _, u := range users {
		n.indexUserLocked(s, u)
	}
	n.mu.Unlock()
}

// indexUserLocked updates userRooms and joinedRooms for u in room s.
// n.mu must be held for writing (or the node not yet shared).
func (n *Node) indexUserLocked(s *RoomState, u UserID) {
	st, _ := s.At(u, nil)
	// setIn puts s.ID in or out of u's set in m and reports whether
	// that changed anything.
	setIn := func(m map[UserID]map[RoomID]struct{}, in bool) bool {
		set := m[u]
		_, was := set[s.ID]
		if in && !was {
			if set == nil {
				set = map[RoomID]struct{}{}
				m[u] = set
			}
			set[s.ID] = struct{}{}
		} else if !in && was {
			delete(set, s.ID)
			if len(set) == 0 {
				delete(m, u)
			}
		}
		return in != was
	}
	setIn(n.joinedRooms, st == MemberJoin)
	if n.IsLocal(u) {
		in := st == MemberJoin || st == MemberInvite
		if setIn(n.userRooms, in) {
			if in {
				n.localRooms[s.ID]++
			} else if n.localRooms[s.ID]--; n.localRooms[s.ID] <= 0 {
				delete(n.localRooms, s.ID)
			}
		}
	}
}

// result is what applying an event produced, for the caller to return.
type result struct {
	msg  *Message
	room *Room
}

// emit signs an event of this node and applies it. It returns once the
// event is durable.
func (n *Node) emit(ctx context.Context, r *roomEntry, e *Event) (*result, error) {
	done := make(chan error, 1)
	res, err := n.emitThen(ctx, r, e, func(_ *result, err error) { done <- err })
	if err != nil {
		return nil, err
	}
	if err := awaitDurable(ctx, done); err != nil {
		return nil, err
	}
	return res, nil
}

// awaitDurable waits for the error a durability callback sends on done,
// or for ctx to end.
func awaitDurable(ctx context.Context, done <-chan error) error {
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitDurable returns once every write made before the call is on disk.
func (n *Node) WaitDurable(ctx context.Context) error {
	done := make(chan error, 1)
	n.store.Durable(func(err error) { done <- err })
	if err := awaitDurable(ctx, done); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

// emitThen signs an event of this node and applies it, releasing r.mu. It
// returns as soon as the event is written and ordered; durable runs with
// the same result once it is on disk (nil error) or could not be made so,
// on the store's sync goroutine, so it must not block; it may run before
// emitThen returns. durable is not called when emitThen returns an error.
func (n *Node) emitThen(ctx context.Context, r *roomEntry, e *Event, durable func(*result, error)) (*result, error) {
	res, err := n.emitLocked(ctx, r, e, durable)
	r.mu.Unlock()
	return res, err
}

// emitLocked is emitThen for callers that keep r.mu (a key rotation in
// the middle of applying another event).
func (n *Node) emitLocked(ctx context.Context, r *roomEntry, e *Event, durable func(*result, error)) (*result, error) {
	e.Origin = n.ID()
	st := n.clock.Now()
	e.TS, e.LC = st.Wall, st.Logical
	if err := n.signer.Seal(e); err != nil {
		return nil, err
	}
	res, err := n.applyLocked(ctx, r, e, true, func(res *result, err error) {
		if err != nil {
			err = fmt.Errorf("sync event %s: %w", e.ID, err)
		}
		durable(res, err)
	})
	n.settledLocked(r)
	if err != nil {
		if errors.Is(err, ErrPending) {
			return nil, errorf(ErrForbidden, "not allowed in this room")
		}
		return nil, err
	}
	return res, nil
}

// emitNew builds an event of a local user in r's room and emits it. r.mu
// must be held; emitNew releases it.
func (n *Node) emitNew(ctx context.Context, r *roomEntry, t EventType, sender UserID, content any) (*result, error) {
	e, err := newEvent(t, r.state.ID, sender, content)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	return n.emit(ctx, r, e)
}

// Ingest applies an event that arrived from another node (by gossip or
// history sync) and returns once it is durable. It returns ErrDuplicate
// for events already held and ErrPending for events held until their
// authorisation is decidable.
func (n *Node) Ingest(ctx context.Context, e *Event) error {
	done := make(chan error, 1)
	if err := n.IngestAsync(ctx, e, func(err error) { done <- err }); err != nil {
		return err
	}
	return awaitDurable(ctx, done)
}

// IngestAsync is Ingest for callers that need not wait for the disk (a
// gossip validator forwarding the event, history sync fetching a batch):
// it returns once the event is judged and written, and durable runs when
// it is on disk or could not be made so, on the store's sync goroutine.
// durable is not called when IngestAsync returns an error.
func (n *Node) IngestAsync(ctx context.Context, e *Event, durable func(error)) error {
	if !n.NodeAllowed(e.Origin) {
		return errNodeRefused(e.Origin)
	}
	if e.Room != "" && n.roomClosed(e.Room) {
		return errorf(ErrPolicy, "this room is closed on this node")
	}
	if e.Origin == n.ID() {
		// Our own events come back through gossip and sync; we already
		// hold every one we signed, and a copy we do not hold was forged
		// by someone replaying our key's output out of context.
		if ok, _ := n.hasEvent(ctx, e.ID); ok {
			return ErrDuplicate
		}
	}
	n.clock.Observe(e.Stamp())
	if e.Type == EventProfile {
		if err := n.ingestProfile(ctx, e); err != nil {
			return err
		}
		n.store.Durable(durable)
		return nil
	}
	r := n.room(e.Room, false)
	if r == nil {
		if e.Type != EventCreate && int(n.strangers.Load()) >= n.cfg.StrangeRooms {
			return ErrPending // too many rooms waiting already; not held
		}
		r = n.strangerRoom(e.Room)
	}
	r.mu.Lock()
	if err := n.admitLocked(r, e); err != nil {
		r.mu.Unlock()
		return err
	}
	allowedNow := !r.state.Created() || r.state.mayNow(e)
	_, err := n.applyLocked(ctx, r, e, false, func(_ *result, err error) {
		if err != nil {
			err = fmt.Errorf("sync event %s: %w", e.ID, err)
		}
		durable(err)
	})
	if err == nil {
		n.admittedLocked(r, e, allowedNow)
	}
	if errors.Is(err, ErrPending) {
		n.holdLocked(r, e)
	}
	n.settledLocked(r)
	r.mu.Unlock()
	return err
}

// strangerRoom returns the entry for a room not held here, making one
// counted in Node.strangers if there is none.
func (n *Node) strangerRoom(id RoomID) *roomEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.rooms[id]
	if r == nil {
		r = &roomEntry{state: NewRoomState(id), stranger: true}
		n.rooms[id] = r
		n.strangers.Add(1)
	}
	return r
}

// settledLocked stops counting r as a stranger once its room is created.
// r.mu must be held.
func (n *Node) settledLocked(r *roomEntry) {
	if r.stranger && r.state.Created() {
		r.stranger = false
		n.strangers.Add(-1)
	}
}

// holdLocked keeps e among r's held events, within the per-room and
// node-wide bounds. r.mu must be held.
func (n *Node) holdLocked(r *roomEntry, e *Event) {
	if len(r.pending) >= maxPending {
		n.unhold(r.pending[0])
		r.pending = r.pending[1:]
	}
	if int(n.heldEvents.Load()) >= n.cfg.HeldEvents || n.heldBytes.Load()+int64(len(e.Raw)) > n.cfg.HeldBytes {
		return
	}
	n.heldEvents.Add(1)
	n.heldBytes.Add(int64(len(e.Raw)))
	r.pending = append(r.pending, e)
}

// unhold stops counting a held event that was applied, refused or dropped.
func (n *Node) unhold(e *Event) {
	n.heldEvents.Add(-1)
	n.heldBytes.Add(-int64(len(e.Raw)))
}

// Held reports the events held in all rooms and the entries of rooms not
// held here, for tests and metrics.
func (n *Node) Held() (events int, bytes int64, strangeRooms int) {
	return int(n.heldEvents.Load()), n.heldBytes.Load(), int(n.strangers.Load())
}

func (n *Node) hasEvent(ctx context.Context, id EventID) (bool, error) {
	var ok bool
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		ok, err = tx.HasEvent(id)
		return err
	})
	return ok, err
}

// HasEvent reports whether the event is stored here.
func (n *Node) HasEvent(ctx context.Context, id EventID) (bool, error) { return n.hasEvent(ctx, id) }

// applyLocked validates, stores and schedules notification of one event.
// r.mu must be held. durable runs on the store's sync goroutine once the
// write is on disk (nil) or failed to get there, before the event is fanned
// out; it is not called when applyLocked returns an error. After a
// state-changing event it retries the room's held events.
//
// It also keeps a private room's key current (rotateKeyLocked): after any
// change of the room's nodes, and before a local event is routed, so that
// the route carries a key sealed for exactly the nodes that may read it.
// A local event's route is fixed here, under the room's lock, and handed
// to federation once the event is durable.
func (n *Node) applyLocked(ctx context.Context, r *roomEntry, e *Event, local bool, durable func(*result, error)) (*result, error) {
	before := r.version
	res, notes, err := n.applyOneLocked(ctx, r, e)
	if err != nil {
		return nil, err
	}
	if len(r.pending) > 0 && (e.Type == EventCreate || e.Type == EventMember) {
		notes = append(notes, n.retryPendingLocked(ctx, r)...)
	}
	var d *Delivery
	if local {
		if r.version == before && e.Type != EventRoomKey {
			// The room's nodes did not change, but its key may still be
			// stale (a rotation that failed, or one the rotator missed).
			n.rotateKeyLocked(ctx, r)
		}
		d = n.deliveryLocked(ctx, r, e)
	}
	fed := n.federation()
	n.store.Durable(func(err error) {
		// Release the writer first: its acknowledgement needs only the
		// fsync, not the fan-out to every member's connections, which can
		// take milliseconds in a large room.
		durable(res, err)
		if err == nil {
			for _, note := range notes {
				n.notify.Notify(note.to, note.n)
				if note.push != nil {
					n.offerPush(note.push)
				}
			}
			if local {
				fed.Publish(d)
			}
		}
	})
	if r.version != before {
		// The room's nodes may have changed: the member event goes out
		// first (its Durable callback is queued above), then the new key.
		n.rotateKeyLocked(ctx, r)
	}
	return res, nil
}

// retryPendingLocked applies held events that have become decidable,
// until a pass makes no progress.
func (n *Node) retryPendingLocked(ctx context.Context, r *roomEntry) []note {
	var notes []note
	for progress := true; progress && len(r.pending) > 0; {
		progress = false
		keep := r.pending[:0]
		for _, p := range r.pending {
			_, more, err := n.applyOneLocked(ctx, r, p)
			switch {
			case err == nil:
				progress = true
				notes = append(notes, more...)
				n.unhold(p)
			case errors.Is(err, ErrPending):
				keep = append(keep, p)
			default:
				n.log.Debug("held event rejected", "event", p.ID, "room", p.Room, "err", err)
				n.unhold(p)
			}
		}
		clear(r.pending[len(keep):])
		r.pending = keep
	}
	return notes
}

type note struct {
	to []UserID
	n  *Notification
	// push is set on a new message's note: it may push to those of to
	// who have no connection open (push.go).
	push *pushOffer
}
