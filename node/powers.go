package node

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Roles are levels: a role holds every power of the roles below it. A
// room's powers table (Powers) names, for each thing a member may do, the
// lowest role that may do it. Both are room state, changed by signed
// events and decided at each event's position in room order by every
// node (RoomState.Authorize), so no node can grant itself a power.

// RoleModerator sits between member and admin: by default moderators
// kick, ban, delete others' messages and pin.
const RoleModerator = "moderator"

// Rank is a role's level: owner 3, admin 2, moderator 1, member 0, and -1
// for anything else.
func Rank(role string) int {
	switch role {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleModerator:
		return 1
	case RoleMember:
		return 0
	default:
		return -1
	}
}

// ValidRole reports whether role is one of the four roles.
func ValidRole(role string) bool { return Rank(role) >= 0 }

func rank(role string) int { return Rank(role) }

// Power names one thing a room's members may be allowed to do.
type Power string

// The powers of a room.
const (
	PowerPost   Power = "post"   // send messages and edit one's own (postingRole)
	PowerInvite Power = "invite" // invite users
	PowerKick   Power = "kick"   // remove a member of lower rank (they may rejoin)
	PowerBan    Power = "ban"    // ban and unban users of lower rank
	PowerDelete Power = "delete" // delete messages of users of lower rank
	PowerPin    Power = "pin"    // pin and unpin messages
	PowerName   Power = "name"   // rename the room
	PowerTopic  Power = "topic"  // change the topic
	PowerAvatar Power = "avatar" // change the room's avatar (a media ID)
	PowerRoles  Power = "roles"  // change the roles of users of lower rank
	PowerPowers Power = "powers" // change this table
)

// AllPowers lists the powers in a fixed order (for views and docs).
func AllPowers() []Power {
	return []Power{PowerPost, PowerInvite, PowerKick, PowerBan, PowerDelete, PowerPin,
		PowerName, PowerTopic, PowerAvatar, PowerRoles, PowerPowers}
}

// DefaultPowers is the table of a room that never changed it.
func DefaultPowers() Powers {
	return Powers{
		PowerPost: RoleMember, PowerInvite: RoleMember,
		PowerKick: RoleModerator, PowerBan: RoleModerator, PowerDelete: RoleModerator, PowerPin: RoleModerator,
		PowerName: RoleAdmin, PowerTopic: RoleAdmin, PowerAvatar: RoleAdmin,
		PowerRoles: RoleAdmin, PowerPowers: RoleAdmin,
	}
}

// Powers maps each power to the lowest role that holds it. A power
// missing from the map has its default level, so a table written by an
// older node keeps meaning the same.
type Powers map[Power]string

// Level is the lowest role that holds power p.
func (ps Powers) Level(p Power) string {
	if r, ok := ps[p]; ok {
		return r
	}
	return DefaultPowers()[p]
}

// Full returns the table with every power filled in.
func (ps Powers) Full() Powers {
	out := DefaultPowers()
	maps.Copy(out, ps)
	return out
}

// validate checks a table's shape: known powers, known roles, and no power
// that only an owner... may hold be handed below admin where that would
// let a lower role manage higher ones (roles and powers stay admin or
// owner, so a moderator can never rewrite the table or the roles).
func (ps Powers) validate() error {
	for p, r := range ps {
		if !slices.Contains(AllPowers(), p) {
			return errorf(ErrInvalid, fmt.Sprintf("unknown power %q", p))
		}
		if !ValidRole(r) {
			return errorf(ErrInvalid, fmt.Sprintf("power %q: role must be owner, admin, moderator or member", p))
		}
		if (p == PowerRoles || p == PowerPowers) && Rank(r) < Rank(RoleAdmin) {
			return errorf(ErrInvalid, fmt.Sprintf("power %q needs at least admin", p))
		}
	}
	return nil
}

// PowersContent is the content of a room.powers event: the room's whole
// new table (powers left out take their defaults).
type PowersContent struct {
	Powers Powers `json:"powers"`
}

// PinContent pins (On) or unpins a message of the room.
type PinContent struct {
	Target EventID `json:"target"`
	On     bool    `json:"on"`
}

// PowersChange is one applied room.powers event.
type PowersChange struct {
	Order  OrderKey `json:"o"`
	By     UserID   `json:"b"`
	Powers Powers   `json:"p"`
}

// PinChange is one applied room.pin event.
type PinChange struct {
	Order  OrderKey `json:"o"`
	By     UserID   `json:"b"`
	Target EventID  `json:"t"`
	On     bool     `json:"on,omitempty"`
}

// UpdateChange is one applied room.update event: who made it and which
// fields it set (the values are in the stored event).
type UpdateChange struct {
	Order  OrderKey `json:"o"`
	By     UserID   `json:"b,omitempty"`
	Fields uint8    `json:"f,omitempty"` // fieldName | fieldTopic | fieldAvatar
}

const (
	fieldName uint8 = 1 << iota
	fieldTopic
	fieldAvatar
)

// Limits of moderation state that users control.
const (
	// MaxReasonLen bounds a kick's or ban's reason, in bytes.
	MaxReasonLen = 512
	// MaxPinned is how many messages a room shows pinned: a pin past it
	// pushes the oldest out of the list (the local API refuses it).
	MaxPinned = 50
	// maxPinLog bounds the pin changes a room keeps; older ones are
	// forgotten (their messages stay as the newest kept change says).
	maxPinLog = 128
	// maxPowersLog bounds the powers changes a room keeps; the table
	// before the oldest kept is PowersBase.
	maxPowersLog = 32
	// MaxListedRoles bounds the roles a Room view lists: the highest
	// ranked first.
	MaxListedRoles = 100
	// MaxBackdate is how far before an event already seen from the same
	// origin node a new state event may be placed (LateBound), and the
	// span in which a refusal counts as a race rather than a forgery
	// (ErrSuperseded).
	MaxBackdate = 5 * time.Minute
)

// orderAtWall is the smallest order key at wall time ms: every event
// stamped at or after ms sorts at or after it.
func orderAtWall(ms int64) OrderKey {
	if ms < 0 {
		ms = 0
	}
	return binary.BigEndian.AppendUint64(make(OrderKey, 0, 12), uint64(ms))
}

// powersAt is the room's powers table in force just before position o
// (nil: now).
func (s *RoomState) powersAt(o OrderKey) Powers {
	if s.Kind == KindDM {
		return nil
	}
	log := s.PowersLog
	end := len(log)
	if o != nil {
		end = sort.Search(len(log), func(i int) bool { return bytes.Compare(log[i].Order, o) >= 0 })
	}
	if end > 0 {
		return log[end-1].Powers
	}
	return s.PowersBase
}

// Powers returns the room's powers table now, complete.
func (s *RoomState) Powers() Powers { return s.powersAt(nil).Full() }

// PostingRole is the lowest role that may post now.
func (s *RoomState) PostingRole() string { return s.powersAt(nil).Level(PowerPost) }

// holds reports whether a user whose state and role are st and role may
// use power p under table ps. In a DM both members may pin and post, and
// nobody holds anything else.
func (s *RoomState) holds(st, role string, ps Powers, p Power) bool {
	if st != MemberJoin {
		return false
	}
	if s.Kind == KindDM {
		return p == PowerPost || p == PowerPin
	}
	return Rank(role) >= Rank(ps.Level(p))
}

// May reports whether u holds power p just before position o (nil: now).
func (s *RoomState) May(u UserID, p Power, o OrderKey) bool {
	st, role := s.At(u, o)
	return s.holds(st, role, s.powersAt(o), p)
}

// need checks that the sender of an event at o holds power p there. A
// sender with no history at all is pending (their join may arrive); a
// sender who held the power shortly before o is refused with
// ErrSuperseded, which tells a race from a forgery.
func (s *RoomState) need(u UserID, p Power, o OrderKey, what string) error {
	if len(s.History[u]) == 0 {
		return ErrPending
	}
	if s.May(u, p, o) {
		return nil
	}
	return s.refuse(u, p, o, what)
}

// refuse is the error for a sender who lacks power p at o: superseded
// when they held it until a change less than MaxBackdate before o (a
// removal raced the event), plainly forbidden otherwise.
func (s *RoomState) refuse(u UserID, p Power, o OrderKey, what string) error {
	if s.lostWithin(u, o, func(at OrderKey) bool { return s.May(u, p, at) }) {
		return superseded(what)
	}
	return errorf(ErrForbidden, what)
}

// lostWithin reports whether held was true just before some change of
// u's membership, u's role or the powers table that lies less than
// MaxBackdate before o.
func (s *RoomState) lostWithin(u UserID, o OrderKey, held func(at OrderKey) bool) bool {
	if len(o) < 8 {
		return false
	}
	from := orderAtWall(o.wall() - MaxBackdate.Milliseconds())
	in := func(c OrderKey) bool { return bytes.Compare(c, from) >= 0 && bytes.Compare(c, o) < 0 }
	for _, c := range s.History[u] {
		if in(c.Order) && held(c.Order) {
			return true
		}
	}
	for _, c := range s.PowersLog {
		if in(c.Order) && held(c.Order) {
			return true
		}
	}
	return false
}

// RolesView lists the joined members above member with their roles,
// highest rank first then by ID, at most MaxListedRoles.
func (s *RoomState) RolesView() map[UserID]string {
	s.ensureIndex()
	if len(s.elevated) == 0 {
		return nil
	}
	type ur struct {
		u UserID
		r string
	}
	all := make([]ur, 0, len(s.elevated))
	for u, r := range s.elevated {
		all = append(all, ur{u, r})
	}
	slices.SortFunc(all, func(a, b ur) int {
		if d := Rank(b.r) - Rank(a.r); d != 0 {
			return d
		}
		return strings.Compare(string(a.u), string(b.u))
	})
	out := make(map[UserID]string, min(len(all), MaxListedRoles))
	for _, x := range all[:min(len(all), MaxListedRoles)] {
		out[x.u] = x.r
	}
	return out
}

// Elevated counts the joined members above member.
func (s *RoomState) Elevated() int {
	s.ensureIndex()
	return len(s.elevated)
}

// Pinned lists the pinned messages, most recently pinned first, at most
// MaxPinned: for each message the newest pin change decides.
func (s *RoomState) Pinned() []EventID { return s.pinnedAt(nil) }

func (s *RoomState) pinnedAt(o OrderKey) []EventID {
	log := s.Pins
	end := len(log)
	if o != nil {
		end = sort.Search(len(log), func(i int) bool { return bytes.Compare(log[i].Order, o) >= 0 })
	}
	seen := map[EventID]bool{}
	var out []EventID
	for i := end - 1; i >= 0 && len(out) < MaxPinned; i-- {
		c := log[i]
		if seen[c.Target] {
			continue
		}
		seen[c.Target] = true
		if c.On {
			out = append(out, c.Target)
		}
	}
	return out
}

// IsPinned reports whether a message is pinned now.
func (s *RoomState) IsPinned(id EventID) bool { return slices.Contains(s.Pinned(), id) }
