package node

// Back-dated events. An event's timestamp is its origin's claim, and room
// order rests on it, so a hostile node may stamp a new event in the past
// to slip it in before something that took its user's rights away: a
// demoted admin's kick placed before the demotion, a banned user's
// messages placed before the ban. Order-at-position still decides every
// such event the same way on every node (so nodes agree); what this file
// bounds is how far back a node accepts a *new* event, relative to what
// it has already seen from the same origin node in that room:
//
//   - a state event (membership, role, name, topic, avatar, powers, pin)
//     from another node is refused when it is placed more than
//     MaxBackdate before the newest event this node has accepted from
//     that node in the room; an honest node's clock only moves forward
//     and its events arrive within seconds, history sync delivers them in
//     room order, and a node cut off for a while is seen from again in
//     order, so only a back-dated event, or one held back for longer than
//     MaxBackdate while later ones came through, trips it;
//   - a message, edit, deletion, reaction, read marker or room key whose
//     sender may no longer do that now (banned, kicked, demoted, or the
//     room became an announcement room) gets the same bound, and at most
//     MaxLateEvents of them per sender and room are taken while this
//     process runs, in rooms whose whole history this node holds (a
//     windowed join backfills old events of anyone, which this would
//     refuse).
//
// Refusals are ErrSuperseded: federation drops them without blaming the
// peer that relayed them. The bound is local (it rests on arrival), so
// in the rare honest case that trips it, the nodes that accepted the
// event keep it and the others do not; docs/protocol.md §2.4 spells out
// what remains possible.

// MaxLateEvents bounds the events of a sender who has lost the right to
// send them, placed before that loss, that a node accepts per room while
// it runs.
const MaxLateEvents = 64

// lateState is what a room entry remembers of arrivals, in memory only
// (a restart forgets it, and so is lenient for a while).
type lateState struct {
	seen map[NodeID]int64 // newest ts accepted from each origin
	late map[UserID]int   // events accepted from senders who lost the right
}

func isStateEvent(t EventType) bool {
	switch t {
	case EventMember, EventUpdate, EventPowers, EventPin, EventEncryption:
		return true
	}
	return false
}

// admitLocked applies the bounds above to a remote event before it is
// judged. r.mu is held.
func (n *Node) admitLocked(r *roomEntry, e *Event) error {
	if e.Origin == n.ID() || e.Type == EventCreate {
		return nil
	}
	s := r.state
	newest := r.lateness.seen[e.Origin]
	backdated := newest != 0 && e.TS < newest-MaxBackdate.Milliseconds()
	if isStateEvent(e.Type) {
		if backdated {
			return superseded("state event placed too far before what its node sent since")
		}
		return nil
	}
	if !s.Complete || !s.Created() || s.mayNow(e) {
		return nil
	}
	if backdated {
		return superseded("event placed too far before what its node sent since, by a sender who may no longer send it")
	}
	if r.lateness.late[e.Sender] >= MaxLateEvents {
		return superseded("too many late events from a sender who may no longer send them")
	}
	return nil
}

// admittedLocked records a remote event that was applied. r.mu is held.
func (n *Node) admittedLocked(r *roomEntry, e *Event, wasAllowedNow bool) {
	if e.Origin == n.ID() {
		return
	}
	if r.lateness.seen == nil {
		r.lateness.seen = map[NodeID]int64{}
	}
	r.lateness.seen[e.Origin] = max(r.lateness.seen[e.Origin], e.TS)
	if !wasAllowedNow && !isStateEvent(e.Type) {
		if r.lateness.late == nil {
			r.lateness.late = map[UserID]int{}
		}
		r.lateness.late[e.Sender]++
	}
}

// mayNow reports whether e's sender may send such an event at the end of
// the room's order (now).
func (s *RoomState) mayNow(e *Event) bool {
	switch e.Type {
	case EventMessage, EventEdit:
		return s.May(e.Sender, PowerPost, nil)
	default:
		return s.IsMember(e.Sender)
	}
}
