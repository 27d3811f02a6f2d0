package node

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// MemberChange is one step in a user's membership history in a room.
type MemberChange struct {
	Order OrderKey `json:"o"`
	State string   `json:"s"` // join, invite, leave, kick, ban, role
	Role  string   `json:"r,omitempty"`
	// By is who made the change when it was not the user (an invite, a
	// kick, a ban, an unban, a role change), so that the change can be
	// judged again when an earlier event arrives late (revalidate.go).
	By UserID `json:"b,omitempty"`
}

// RoomState is the derived state of a room: its creation, metadata and the
// membership history of every user who ever had one. It is rebuilt from
// events by applying them, and persisted as a snapshot so that a node starts
// without replaying history.
//
// Authorisation is decided at the event's own position in room order, from
// the membership changes before it. So every node that holds the same
// events makes the same decision, whatever order they arrived in (an event
// whose deciding membership has not arrived yet is ErrPending).
//
// RoomState is not safe for concurrent use; the node guards each room with
// its own mutex.
type RoomState struct {
	ID          RoomID   `json:"id"`
	CreateID    EventID  `json:"createId,omitempty"`
	CreateOrder OrderKey `json:"createOrder,omitempty"`
	Name        string   `json:"name"`
	Topic       string   `json:"topic,omitempty"`
	MetaOrder   OrderKey `json:"metaOrder,omitempty"`
	Kind        string   `json:"kind"`
	Visibility  string   `json:"visibility"`
	CreatedBy   UserID   `json:"createdBy"`
	CreatedAt   int64    `json:"createdAt"`
	// History is every user's membership history in room order. The
	// store keeps it per member (one key each), not in the room's record,
	// so that a change costs the same in a room of ten or ten thousand.
	History map[UserID][]MemberChange `json:"history,omitempty"`
	// LastActivity orders the room list: the ts of the newest message or of
	// the user's own join when there is none.
	LastActivity int64 `json:"lastActivity"`
	// Complete is true when this node holds the room's whole history.
	Complete bool `json:"complete"`
	// KeyEpoch is the newest room key epoch of a private room.
	KeyEpoch uint32 `json:"keyEpoch,omitempty"`
	// Encrypted is set once the room is end-to-end encrypted, from
	// EncryptedOrder on: the create (CreateEncrypted) or the earliest
	// room.encryption event (EncryptionOrder), whichever comes first.
	Encrypted       bool     `json:"encrypted,omitempty"`
	EncryptedOrder  OrderKey `json:"encryptedOrder,omitempty"`
	CreateEncrypted bool     `json:"createEncrypted,omitempty"`
	EncryptionOrder OrderKey `json:"encryptionOrder,omitempty"`
	// Updates are the newest name, topic and avatar changes (at most
	// maxUpdateLog), so the timeline can show them (timeline.go) and a
	// late change can be judged again (revalidate.go).
	Updates []UpdateChange `json:"updates,omitempty"`
	// Avatar is the room's avatar, a media ID ("" for none).
	Avatar string `json:"avatar,omitempty"`
	// NameOrder, TopicOrder and AvatarOrder are the positions of the
	// changes in force, one per field, so that the newest change of each
	// field wins whatever order the changes arrive in.
	NameOrder   OrderKey `json:"nameOrder,omitempty"`
	TopicOrder  OrderKey `json:"topicOrder,omitempty"`
	AvatarOrder OrderKey `json:"avatarOrder,omitempty"`
	// PowersLog is the room's powers changes in room order (the newest
	// maxPowersLog); PowersBase is the table before the oldest of them
	// (nil: the defaults). powersAt reads the table at any position.
	PowersLog  []PowersChange `json:"powersLog,omitempty"`
	PowersBase Powers         `json:"powersBase,omitempty"`
	// Pins is the room's pin changes in room order (the newest
	// maxPinLog); Pinned derives the pinned messages from it.
	Pins []PinChange `json:"pins,omitempty"`
	// Removals are moderators' deletions of others' messages (the newest
	// maxRemovalLog), for the moderation log (timeline.go).
	Removals []RemovalChange `json:"removals,omitempty"`

	// The indexes below are derived from History and kept in step with
	// each change (setHistory), so that counting, listing a page of
	// members or the nodes they live on never walks the whole history.
	// They are built on first use after a load (ensureIndex).
	indexed bool
	joined  []UserID       // sorted
	invited []UserID       // sorted
	nodes   map[NodeID]int // joined or invited members per node
	joinedN map[NodeID]int // joined members per node
	// elevated maps the joined members above member to their role.
	elevated map[UserID]string
}

// MaxListedMembers is how many members a Room view lists: a room of more
// members lists only some of them (the viewer always, when a member) and
// says how many there are in memberCount (API.md §3).
const MaxListedMembers = 100

// NewRoomState returns the empty state of a room not yet created here.
func NewRoomState(id RoomID) *RoomState {
	return &RoomState{ID: id, History: map[UserID][]MemberChange{}}
}

// Created reports whether the room's create event has been applied.
func (s *RoomState) Created() bool { return s.CreateID != "" }

// At returns u's membership state and role just before order o ("" when
// none). A nil o means "now".
func (s *RoomState) At(u UserID, o OrderKey) (state, role string) {
	h := s.History[u]
	end := len(h)
	if o != nil {
		end = sort.Search(len(h), func(i int) bool { return bytes.Compare(h[i].Order, o) >= 0 })
	}
	for i := end - 1; i >= 0; i-- {
		if h[i].State != MemberRole {
			return h[i].State, roleAt(h[:end])
		}
	}
	return "", ""
}

// roleAt is the role in force after a history: the newest role change or
// role-bearing join (the creator's), reset to member by leaving, a kick or
// a ban.
func roleAt(h []MemberChange) string {
	for i := len(h) - 1; i >= 0; i-- {
		switch {
		case h[i].Role != "":
			return h[i].Role
		case h[i].State == MemberLeave, h[i].State == MemberKick, h[i].State == MemberBan:
			return RoleMember
		}
	}
	return RoleMember
}

// IsMember reports whether u is joined now.
func (s *RoomState) IsMember(u UserID) bool {
	s.ensureIndex()
	_, ok := slices.BinarySearch(s.joined, u)
	return ok
}

// IsInvited reports whether u has a pending invite now.
func (s *RoomState) IsInvited(u UserID) bool {
	s.ensureIndex()
	_, ok := slices.BinarySearch(s.invited, u)
	return ok
}

// Copy returns a deep copy of what a store keeps of the state (its
// metadata and History); the copy's indexes are
// rebuilt on first use. Stores that keep states in memory use it.
func (s *RoomState) Copy() *RoomState {
	c := *s
	c.indexed, c.joined, c.invited, c.nodes, c.joinedN, c.elevated = false, nil, nil, nil, nil, nil
	if s.History != nil {
		c.History = make(map[UserID][]MemberChange, len(s.History))
		for u, h := range s.History {
			c.History[u] = slices.Clone(h)
		}
	}
	return &c
}

// Snapshot copies the state for use outside the room's lock. The copy
// answers IsMember, Members, MemberCount and the node lists from copies
// of the indexes; it carries no membership history (At answers "" for
// everyone), which would make the copy cost as much as the room is big.
func (s *RoomState) Snapshot() *RoomState {
	s.ensureIndex()
	c := *s
	c.History = nil
	c.joined, c.invited = slices.Clone(s.joined), slices.Clone(s.invited)
	c.nodes, c.joinedN = maps.Clone(s.nodes), maps.Clone(s.joinedN)
	c.elevated = maps.Clone(s.elevated)
	return &c
}

// Members lists the joined users, sorted. It copies the whole list: hot
// paths use MemberCount, MembersPage or IsMember instead.
func (s *RoomState) Members() []UserID {
	s.ensureIndex()
	return slices.Clone(s.joined)
}

// Invited lists users with a pending invite, sorted.
func (s *RoomState) Invited() []UserID {
	s.ensureIndex()
	return slices.Clone(s.invited)
}

// MemberCount is the number of joined users.
func (s *RoomState) MemberCount() int {
	s.ensureIndex()
	return len(s.joined)
}

// MembersPage lists up to limit joined users whose IDs sort after after
// ("" for the first page), and whether more follow.
func (s *RoomState) MembersPage(after UserID, limit int) ([]UserID, bool) {
	s.ensureIndex()
	i := 0
	if after != "" {
		i, _ = slices.BinarySearch(s.joined, after)
		if i < len(s.joined) && s.joined[i] == after {
			i++
		}
	}
	end := min(len(s.joined), i+limit)
	return slices.Clone(s.joined[i:end]), end < len(s.joined)
}

// MemberNodes lists the nodes on which at least one joined member lives.
func (s *RoomState) MemberNodes() []NodeID {
	s.ensureIndex()
	return sortedKeys(s.joinedN)
}

// HostNodes lists the nodes with a joined member or an invitee.
func (s *RoomState) HostNodes() []NodeID {
	s.ensureIndex()
	return sortedKeys(s.nodes)
}

// HostsNode reports whether node id has a joined member or an invitee.
func (s *RoomState) HostsNode(id NodeID) bool {
	s.ensureIndex()
	return s.nodes[id] > 0
}

func sortedKeys(m map[NodeID]int) []NodeID {
	out := make([]NodeID, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ensureIndex builds the indexes from History once (after a load, or for
// a state built by hand); later changes keep them up to date.
func (s *RoomState) ensureIndex() {
	if s.indexed {
		return
	}
	s.indexed = true
	s.joined, s.invited = nil, nil
	s.nodes, s.joinedN = map[NodeID]int{}, map[NodeID]int{}
	s.elevated = map[UserID]string{}
	for u := range s.History {
		st, role := s.At(u, nil)
		s.indexAdd(u, st)
		s.indexRole(u, st, role)
	}
	slices.Sort(s.joined)
	slices.Sort(s.invited)
}

// indexAdd counts u, whose state is st, in the indexes. The member lists
// are appended to unsorted; callers sort or insert in place.
func (s *RoomState) indexAdd(u UserID, st string) {
	switch st {
	case MemberJoin:
		s.joined = append(s.joined, u)
		s.joinedN[u.Node()]++
	case MemberInvite:
		s.invited = append(s.invited, u)
	default:
		return
	}
	s.nodes[u.Node()]++
}

// indexRole keeps u in the elevated index when joined above member.
func (s *RoomState) indexRole(u UserID, st, role string) {
	if st == MemberJoin && Rank(role) > 0 {
		s.elevated[u] = role
	} else {
		delete(s.elevated, u)
	}
}

// reindex moves u from state before to state after in the indexes.
func (s *RoomState) reindex(u UserID, before, after string) {
	if before == after {
		return
	}
	dec := func(m map[NodeID]int, n NodeID) {
		if m[n]--; m[n] <= 0 {
			delete(m, n)
		}
	}
	switch before {
	case MemberJoin:
		s.joined = removeSorted(s.joined, u)
		dec(s.joinedN, u.Node())
		dec(s.nodes, u.Node())
	case MemberInvite:
		s.invited = removeSorted(s.invited, u)
		dec(s.nodes, u.Node())
	}
	switch after {
	case MemberJoin:
		s.joined = insertSorted(s.joined, u)
		s.joinedN[u.Node()]++
		s.nodes[u.Node()]++
	case MemberInvite:
		s.invited = insertSorted(s.invited, u)
		s.nodes[u.Node()]++
	}
}

func insertSorted(us []UserID, u UserID) []UserID {
	i, found := slices.BinarySearch(us, u)
	if found {
		return us
	}
	return slices.Insert(us, i, u)
}

func removeSorted(us []UserID, u UserID) []UserID {
	i, found := slices.BinarySearch(us, u)
	if !found {
		return us
	}
	return slices.Delete(us, i, i+1)
}

// setHistory replaces u's membership history (nil removes it) and keeps
// the indexes in step. The old slice is not changed, so a caller may keep
// it to undo the change.
func (s *RoomState) setHistory(u UserID, h []MemberChange) {
	before, _ := s.At(u, nil)
	if len(h) == 0 {
		delete(s.History, u)
	} else {
		if s.History == nil {
			s.History = map[UserID][]MemberChange{}
		}
		s.History[u] = h
	}
	if s.indexed {
		after, role := s.At(u, nil)
		s.reindex(u, before, after)
		s.indexRole(u, after, role)
	}
}

// record adds a change to u's history, in order; the same change twice
// is recorded once.
func (s *RoomState) record(u UserID, c MemberChange) {
	h := s.History[u]
	i := sort.Search(len(h), func(i int) bool { return bytes.Compare(h[i].Order, c.Order) >= 0 })
	if i < len(h) && bytes.Equal(h[i].Order, c.Order) {
		return // the same event applied twice
	}
	// A new slice, never the old one's array: undo keeps the old.
	next := make([]MemberChange, 0, len(h)+1)
	next = append(append(append(next, h[:i]...), c), h[i:]...)
	s.setHistory(u, next)
}

// touches lists the users whose membership history e would change.
func (s *RoomState) touches(e *Event) []UserID {
	switch e.Type {
	case EventCreate:
		c, err := decodeContent[CreateContent](e)
		if err != nil {
			return nil
		}
		if c.Kind == KindDM {
			return slices.Clone(c.Members)
		}
		return []UserID{e.Sender}
	case EventMember:
		c, err := decodeContent[MemberContent](e)
		if err != nil {
			return nil
		}
		return []UserID{c.User}
	}
	return nil
}

// Authorize decides whether e may be applied to the room, from the state
// before e's position in room order. It returns nil, ErrPending when the
// deciding events are missing, or an *Error of kind ErrForbidden or
// ErrInvalid (ErrSuperseded too when the sender lost the right shortly
// before e). Content-level checks that need messages (edit your own
// message, delete one of a lower rank) are made by the caller with
// MayDelete.
//
// This is the one place where a room's rules live: every node applies
// them to local and remote events alike, and revalidate.go applies them
// again to what follows a late event, so that nodes holding the same
// events hold the same room.
func (s *RoomState) Authorize(e *Event) error {
	o := e.Order()
	if e.Type == EventCreate {
		return s.authorizeCreate(e)
	}
	if !s.Created() {
		return ErrPending
	}
	if bytes.Compare(o, s.CreateOrder) <= 0 && s.Kind != KindDM {
		return errorf(ErrForbidden, "event precedes the room's creation")
	}
	state, role := s.At(e.Sender, o)
	switch e.Type {
	case EventMember:
		c, err := decodeContent[MemberContent](e)
		if err != nil {
			return err
		}
		return s.authorizeMember(e, c, state, role, o)
	case EventUpdate:
		return s.authorizeUpdate(e, o)
	case EventPowers:
		return s.authorizePowers(e, role, o)
	case EventPin:
		c, err := decodeContent[PinContent](e)
		if err != nil {
			return err
		}
		if !ValidOpaqueID(string(c.Target)) {
			return errorf(ErrInvalid, "pin target must be a message id")
		}
		return s.need(e.Sender, PowerPin, o, "not allowed to pin messages in this room")
	case EventEncryption:
		return s.authorizeEncryption(e, state, role)
	case EventMessage, EventEdit:
		if state == "" && s.pendingOrigin(e) {
			return ErrPending
		}
		if state != MemberJoin {
			return s.refuse(e.Sender, PowerPost, o, "sender is not a member of the room")
		}
		return s.need(e.Sender, PowerPost, o, "only "+plural(s.powersAt(o).Level(PowerPost))+" may post in this room")
	case EventDelete, EventReaction, EventReceipt, EventRoomKey:
		if state == "" && s.pendingOrigin(e) {
			return ErrPending
		}
		if state != MemberJoin {
			return s.refuseMember(e.Sender, o)
		}
		return nil
	default:
		return errorf(ErrInvalid, "unknown event type "+string(e.Type))
	}
}

// refuseMember is the error for a sender who is not joined at o:
// superseded when they were joined until shortly before.
func (s *RoomState) refuseMember(u UserID, o OrderKey) error {
	const msg = "sender is not a member of the room"
	if s.lostWithin(u, o, func(at OrderKey) bool { st, _ := s.At(u, at); return st == MemberJoin }) {
		return superseded(msg)
	}
	return errorf(ErrForbidden, msg)
}

// plural names the holders of a role and those above it, for messages.
func plural(role string) string {
	switch role {
	case RoleOwner:
		return "owners"
	case RoleAdmin:
		return "admins and owners"
	case RoleModerator:
		return "moderators and above"
	default:
		return "members"
	}
}

// MayDelete reports whether actor may delete a message of sender at
// position o: their own always (while joined), another's with the delete
// power over a lower rank.
func (s *RoomState) MayDelete(actor, sender UserID, o OrderKey) error {
	if actor == sender {
		return nil
	}
	if err := s.need(actor, PowerDelete, o, "only the sender or a moderator may delete a message"); err != nil {
		return err
	}
	_, ar := s.At(actor, o)
	if _, sr := s.At(sender, o); Rank(sr) >= Rank(ar) {
		return errorf(ErrForbidden, "cannot delete a message of a user of equal or higher rank")
	}
	return nil
}

func (s *RoomState) authorizeUpdate(e *Event, o OrderKey) error {
	if s.Kind == KindDM {
		return errorf(ErrForbidden, "direct message rooms have no name, topic or avatar")
	}
	c, err := decodeContent[RoomUpdateContent](e)
	if err != nil {
		return err
	}
	if c.Name == nil && c.Topic == nil && c.Avatar == nil {
		return errorf(ErrInvalid, "room update changes nothing")
	}
	if c.Name != nil {
		if err := validRoomName(*c.Name); err != nil {
			return err
		}
		if err := s.need(e.Sender, PowerName, o, "not allowed to rename this room"); err != nil {
			return err
		}
	}
	if c.Topic != nil {
		if err := validRoomTopic(*c.Topic); err != nil {
			return err
		}
		if err := s.need(e.Sender, PowerTopic, o, "not allowed to change this room's topic"); err != nil {
			return err
		}
	}
	if c.Avatar != nil {
		if *c.Avatar != "" && !ValidOpaqueID(*c.Avatar) {
			return errorf(ErrInvalid, "avatar must be a media id")
		}
		if err := s.need(e.Sender, PowerAvatar, o, "not allowed to change this room's avatar"); err != nil {
			return err
		}
	}
	return nil
}

// authorizePowers: the sender holds the powers power, and every power
// whose level changes was at most the sender's role before and is at most
// it after (nobody takes or hands out more than they hold).
func (s *RoomState) authorizePowers(e *Event, role string, o OrderKey) error {
	if s.Kind == KindDM {
		return errorf(ErrForbidden, "direct message rooms have no powers to set")
	}
	c, err := decodeContent[PowersContent](e)
	if err != nil {
		return err
	}
	if err := c.Powers.validate(); err != nil {
		return err
	}
	if err := s.need(e.Sender, PowerPowers, o, "not allowed to change who may do what in this room"); err != nil {
		return err
	}
	old := s.powersAt(o)
	for _, p := range AllPowers() {
		was, now := old.Level(p), c.Powers.Level(p)
		if was == now {
			continue
		}
		if Rank(was) > Rank(role) || Rank(now) > Rank(role) {
			return errorf(ErrForbidden, fmt.Sprintf("cannot change power %q: it would be, or was, above your role", p))
		}
	}
	return nil
}

// pendingOrigin reports whether an event from a user with no membership
// history at all might become valid once their join arrives. Only members
// of public rooms (or invitees) can ever join, so an event whose sender has
// no history is held rather than dropped.
func (s *RoomState) pendingOrigin(e *Event) bool {
	return len(s.History[e.Sender]) == 0
}

func (s *RoomState) authorizeCreate(e *Event) error {
	c, err := decodeContent[CreateContent](e)
	if err != nil {
		return err
	}
	switch c.Kind {
	case KindDM:
		if len(c.Members) != 2 || c.Members[0] == c.Members[1] {
			return errorf(ErrInvalid, "a direct message room has exactly two members")
		}
		for _, m := range c.Members {
			if _, _, ok := m.Split(); !ok {
				return errorf(ErrInvalid, "bad member id")
			}
		}
		if DMRoomID(c.Members[0], c.Members[1]) != e.Room {
			return errorf(ErrInvalid, "direct message room id does not match its members")
		}
		if c.Members[0] != e.Sender && c.Members[1] != e.Sender {
			return errorf(ErrForbidden, "only a member may create a direct message room")
		}
		if c.Visibility != Private {
			return errorf(ErrInvalid, "direct message rooms are private")
		}
	case KindGroup:
		if e.Room.IsDM() {
			return errorf(ErrInvalid, "group room id has the direct message prefix")
		}
		if c.Visibility != Public && c.Visibility != Private {
			return errorf(ErrInvalid, "visibility must be public or private")
		}
		if s.Created() && s.CreateID != e.ID {
			return errorf(ErrForbidden, "room already exists")
		}
	default:
		return errorf(ErrInvalid, "kind must be group or dm")
	}
	return nil
}

// authorizeMember decides a member event: kept whole (over 80 lines), one case per membership transition, read as a table of rules.
func (s *RoomState) authorizeMember(e *Event, c *MemberContent, state, role string, o OrderKey) error {
	if _, _, ok := c.User.Split(); !ok {
		return errorf(ErrInvalid, "bad user id")
	}
	if len(c.Reason) > MaxReasonLen || !utf8.ValidString(c.Reason) || strings.ContainsRune(c.Reason, 0) {
		return errorf(ErrInvalid, fmt.Sprintf("reason must be at most %d bytes of text", MaxReasonLen))
	}
	target, targetRole := s.At(c.User, o)
	if s.Kind == KindDM && c.Membership != MemberJoin && c.Membership != MemberLeave {
		return errorf(ErrForbidden, "direct message rooms have no invites, kicks or roles")
	}
	self := e.Sender == c.User
	switch c.Membership {
	case MemberJoin:
		if !self {
			return errorf(ErrForbidden, "users join only themselves")
		}
		if s.Kind == KindDM {
			if _, ok := s.dmMember(c.User); !ok {
				return errorf(ErrForbidden, "not a member of this direct message room")
			}
			return nil
		}
		switch {
		case target == MemberBan:
			return errorf(ErrForbidden, "banned from this room")
		case s.Visibility == Public, target == MemberInvite, target == MemberJoin:
			return nil
		case target == "":
			return ErrPending // an invite may still arrive
		default:
			return errorf(ErrForbidden, "this room is private: an invite is needed")
		}
	case MemberInvite:
		if state == "" {
			return ErrPending
		}
		if err := s.need(e.Sender, PowerInvite, o, "not allowed to invite to this room"); err != nil {
			return err
		}
		switch target {
		case MemberBan:
			return errorf(ErrForbidden, "user is banned from this room")
		case MemberJoin:
			return errorf(ErrConflict, "user is already a member")
		}
		return nil
	case MemberLeave:
		if !self {
			// Lifting a ban: the user may then be invited or join again.
			if state == "" {
				return ErrPending
			}
			if err := s.need(e.Sender, PowerBan, o, "not allowed to lift bans in this room"); err != nil {
				return err
			}
			if target != MemberBan {
				return errorf(ErrForbidden, "users leave only themselves; only a ban can be lifted")
			}
			return nil
		}
		if target != MemberJoin && target != MemberInvite {
			if target == "" {
				return ErrPending
			}
			return errorf(ErrForbidden, "not a member of this room")
		}
		return nil
	case MemberKick, MemberBan:
		if state == "" {
			return ErrPending
		}
		if self {
			return errorf(ErrForbidden, "users cannot remove themselves this way: leave instead")
		}
		p, what := PowerKick, "not allowed to kick in this room"
		if c.Membership == MemberBan {
			p, what = PowerBan, "not allowed to ban in this room"
		}
		if err := s.need(e.Sender, p, o, what); err != nil {
			return err
		}
		if target != "" && Rank(targetRole) >= Rank(role) {
			return errorf(ErrForbidden, "only users of lower rank may be removed")
		}
		if c.Membership == MemberKick && target != MemberJoin && target != MemberInvite {
			return errorf(ErrForbidden, "user is not in the room")
		}
		return nil
	case MemberRole:
		if state == "" {
			return ErrPending
		}
		if !ValidRole(c.Role) {
			return errorf(ErrInvalid, "role must be owner, admin, moderator or member")
		}
		if target != MemberJoin {
			return errorf(ErrForbidden, "user is not a member")
		}
		if self {
			// Anyone may step down; nobody may step up.
			if Rank(c.Role) >= Rank(role) {
				return errorf(ErrForbidden, "users may only lower their own role")
			}
			return nil
		}
		if err := s.need(e.Sender, PowerRoles, o, "not allowed to change roles in this room"); err != nil {
			return err
		}
		if Rank(targetRole) >= Rank(role) {
			return errorf(ErrForbidden, "only the roles of users of lower rank may be changed")
		}
		if Rank(c.Role) > Rank(role) {
			return errorf(ErrForbidden, "cannot give a role above one's own")
		}
		return nil
	default:
		return errorf(ErrInvalid, "unknown membership "+c.Membership)
	}
}

func (s *RoomState) dmMember(u UserID) (int, bool) {
	for i, m := range s.dmMembers() {
		if m == u {
			return i, true
		}
	}
	return 0, false
}

func (s *RoomState) dmMembers() []UserID {
	var out []UserID
	for u, h := range s.History {
		if len(h) > 0 && bytes.Equal(h[0].Order, s.CreateOrder) {
			out = append(out, u)
		}
	}
	return out
}

// Apply changes the state for an authorised event. It returns whether the
// membership changed, so callers know to persist and announce the room.
// Kept whole (over 80 lines): one case per state event type, each a few lines.
func (s *RoomState) Apply(e *Event) (membershipChanged bool) {
	o := e.Order()
	switch e.Type {
	case EventCreate:
		c, err := decodeContent[CreateContent](e)
		if err != nil {
			return false
		}
		if s.Created() && bytes.Compare(o, s.CreateOrder) >= 0 {
			return false // a concurrent DM create that lost the tie
		}
		s.CreateID, s.CreateOrder = e.ID, o
		s.Name, s.Topic, s.Kind, s.Visibility = c.Name, c.Topic, c.Kind, c.Visibility
		s.CreatedBy, s.CreatedAt = e.Sender, e.TS
		s.CreateEncrypted = c.Encrypted
		s.settleEncryption()
		if s.LastActivity == 0 {
			s.LastActivity = e.TS
		}
		if c.Kind == KindDM {
			for _, m := range c.Members {
				s.record(m, MemberChange{Order: o, State: MemberJoin})
			}
		} else {
			s.record(e.Sender, MemberChange{Order: o, State: MemberJoin, Role: RoleOwner})
		}
		return true
	case EventUpdate:
		c, err := decodeContent[RoomUpdateContent](e)
		if err != nil {
			return false
		}
		var fields uint8
		if c.Name != nil {
			fields |= fieldName
		}
		if c.Topic != nil {
			fields |= fieldTopic
		}
		if c.Avatar != nil {
			fields |= fieldAvatar
		}
		if s.MetaOrder != nil && s.NameOrder == nil && s.TopicOrder == nil && s.AvatarOrder == nil {
			// A state written before per-field orders: its one order
			// stands for the fields it knew.
			s.NameOrder, s.TopicOrder = s.MetaOrder, s.MetaOrder
		}
		if !s.logUpdate(UpdateChange{Order: o, By: e.Sender, Fields: fields}) {
			return false // the same event applied twice
		}
		// Each field takes the newest change of it, so that changes to
		// different fields, arriving in any order, all stand.
		s.setField(&s.Name, &s.NameOrder, c.Name, o)
		s.setField(&s.Topic, &s.TopicOrder, c.Topic, o)
		s.setField(&s.Avatar, &s.AvatarOrder, c.Avatar, o)
		if bytes.Compare(o, s.MetaOrder) > 0 {
			s.MetaOrder = o
		}
		return true
	case EventPowers:
		c, err := decodeContent[PowersContent](e)
		if err != nil {
			return false
		}
		return s.logPowers(PowersChange{Order: o, By: e.Sender, Powers: c.Powers})
	case EventPin:
		c, err := decodeContent[PinContent](e)
		if err != nil {
			return false
		}
		return s.logPin(PinChange{Order: o, By: e.Sender, Target: c.Target, On: c.On})
	case EventEncryption:
		if s.EncryptionOrder != nil && bytes.Compare(o, s.EncryptionOrder) >= 0 {
			return false
		}
		s.EncryptionOrder = o
		s.settleEncryption()
		return true
	case EventMember:
		c, err := decodeContent[MemberContent](e)
		if err != nil {
			return false
		}
		mc := MemberChange{Order: o, State: c.Membership}
		if c.Membership == MemberRole {
			mc.Role = c.Role
		}
		if e.Sender != c.User {
			mc.By = e.Sender
		}
		s.record(c.User, mc)
		return true
	}
	return false
}

// setField sets a room field from an update at o unless a newer change
// of the field was applied already.
func (s *RoomState) setField(field *string, order *OrderKey, v *string, o OrderKey) {
	if v == nil || bytes.Compare(o, *order) < 0 {
		return
	}
	*field, *order = *v, o
}

// logPowers inserts a powers change in room order, keeping the newest
// maxPowersLog (the table of the one dropped becomes PowersBase). It
// copies rather than inserting in place: an undo keeps the old slice.
func (s *RoomState) logPowers(c PowersChange) bool {
	i, found := slices.BinarySearchFunc(s.PowersLog, c.Order, func(x PowersChange, o OrderKey) int { return bytes.Compare(x.Order, o) })
	if found {
		return false
	}
	next := make([]PowersChange, 0, len(s.PowersLog)+1)
	next = append(append(append(next, s.PowersLog[:i]...), c), s.PowersLog[i:]...)
	if len(next) > maxPowersLog {
		s.PowersBase = next[0].Powers
		next = next[1:]
	}
	s.PowersLog = next
	return true
}

// logPin inserts a pin change in room order, keeping the newest
// maxPinLog. It copies, as logPowers does.
func (s *RoomState) logPin(c PinChange) bool {
	i, found := slices.BinarySearchFunc(s.Pins, c.Order, func(x PinChange, o OrderKey) int { return bytes.Compare(x.Order, o) })
	if found {
		return false
	}
	next := make([]PinChange, 0, len(s.Pins)+1)
	next = append(append(append(next, s.Pins[:i]...), c), s.Pins[i:]...)
	if len(next) > maxPinLog {
		next = next[len(next)-maxPinLog:]
	}
	s.Pins = next
	return true
}

// View returns the API view of the room as viewer sees it: at most
// MaxListedMembers members (the viewer among them when joined) and
// invitees, and how many members there are. viewer may be empty.
func (s *RoomState) View(viewer UserID) *Room {
	s.ensureIndex()
	r := &Room{
		ID: s.ID, Name: s.Name, Topic: s.Topic, Kind: s.Kind, Visibility: s.Visibility,
		Members: listed(s.joined, viewer), MemberCount: len(s.joined),
		CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt,
		HistoryComplete: s.Complete, Encrypted: s.Encrypted,
		Avatar: s.Avatar, Roles: s.RolesView(), Pinned: s.Pinned(),
	}
	r.PostingRole = RoleMember
	if s.Kind != KindDM {
		r.PostingRole = s.PostingRole()
		r.Powers = s.Powers()
	}
	if r.Roles == nil {
		r.Roles = map[UserID]string{}
	}
	if r.Pinned == nil {
		r.Pinned = []EventID{}
	}
	if len(s.invited) > 0 {
		r.Invited = listed(s.invited, viewer)
	}
	return r
}

// listed is the first MaxListedMembers of a sorted list, with viewer in
// place of the last when viewer is in the list but not among them.
func listed(all []UserID, viewer UserID) []UserID {
	if len(all) <= MaxListedMembers {
		return append(make([]UserID, 0, len(all)), all...)
	}
	out := slices.Clone(all[:MaxListedMembers])
	if viewer != "" && !slices.Contains(out, viewer) {
		if _, ok := slices.BinarySearch(all, viewer); ok {
			out[len(out)-1] = viewer
		}
	}
	return out
}
