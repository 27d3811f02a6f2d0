package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Device-list changes (API.md §7, docs/protocol.md §8). When a user's
// devices or cross-signing keys change, every local user who shares an
// encrypted room with them (and the user's own devices) gets a
// device-list entry, which its connections are sent until they
// acknowledge it; every other node that shares an encrypted room with
// the user is sent the user's new device-list version through the
// outbox. A version is a number that only grows (microseconds, or one
// more than the last). A node that missed an update learns of it when
// it reconnects to the user's node (it asks for the versions of the users
// it tracks there) and from every key query answer, which carries them.

// sharers lists who shares an encrypted room with u, where u is joined:
// the local joined members (u itself when local) and the other nodes
// with a joined member.
func (n *Node) sharers(u UserID) (locals map[UserID]bool, nodes map[NodeID]bool) {
	locals, nodes = map[UserID]bool{}, map[NodeID]bool{}
	if n.IsLocal(u) {
		locals[u] = true
	}
	for _, r := range n.roomEntries() {
		r.mu.Lock()
		s := r.state
		if s.Created() && s.Encrypted && s.IsMember(u) {
			for _, m := range s.Members() {
				if n.IsLocal(m) {
					locals[m] = true
				} else if m.Node() != n.ID() {
					nodes[m.Node()] = true
				}
			}
		}
		r.mu.Unlock()
	}
	return locals, nodes
}

// sharesEncryptedRoom reports whether a and b are both joined to some
// encrypted room.
func (n *Node) sharesEncryptedRoom(a, b UserID) bool {
	for _, r := range n.roomEntries() {
		r.mu.Lock()
		s := r.state
		ok := s.Created() && s.Encrypted && s.IsMember(a) && s.IsMember(b)
		r.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// deviceListChanged records that local user u's devices or keys changed
// and tells everyone who shares an encrypted room with u.
func (n *Node) deviceListChanged(ctx context.Context, u UserID) {
	locals, nodes := n.sharers(u)
	var told []UserID
	err := n.store.Update(ctx, func(tx Tx) error {
		told = told[:0]
		v, err := tx.DeviceListVersion(u)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		v = max(v+1, n.now().UnixMicro())
		if err := tx.PutDeviceListVersion(u, v); err != nil {
			return err
		}
		for _, l := range sortedUsers(locals) {
			if ok, err := addDeviceListEntries(tx, l, u, false); err != nil {
				return err
			} else if ok {
				told = append(told, l)
			}
		}
		for to := range nodes {
			if err := queueDeviceList(tx, to, u, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		n.log.Warn("device-list change not recorded", "user", u, "err", err)
		return
	}
	n.store.Durable(func(err error) {
		if err != nil {
			return
		}
		for _, l := range told {
			n.pokeDevice(l, "", PokeDeviceLists)
		}
		if len(nodes) > 0 {
			n.e2ee.wakeOutbox()
		}
	})
}

// queueDeviceList records in the outbox that node to should hear of u's
// device-list version v.
func queueDeviceList(tx Tx, to NodeID, u UserID, v int64) error {
	st, err := tx.OutboxState(to)
	if errors.Is(err, ErrNotFound) {
		st, err = &OutboxState{Node: to}, nil
	}
	if err != nil {
		return err
	}
	if !st.DeviceLists {
		st.DeviceLists = true
		if err := tx.PutOutboxState(st); err != nil {
			return err
		}
	}
	return tx.PutDeviceListOut(to, u, v)
}

// noteRemoteVersions takes remote users' device-list versions (pushed by
// their node, or read from a key query answer or a pull) and tells the
// local users who share an encrypted room with a user whose version went
// up. Versions that do not go up were heard before.
func (n *Node) noteRemoteVersions(ctx context.Context, versions map[UserID]int64) {
	if len(versions) == 0 {
		return
	}
	var up []UserID
	err := n.store.Update(ctx, func(tx Tx) error {
		up = up[:0]
		for _, u := range slices.Sorted(maps.Keys(versions)) {
			if n.IsLocal(u) {
				continue
			}
			old, err := tx.DeviceListVersion(u)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if versions[u] <= old {
				continue
			}
			if err := tx.PutDeviceListVersion(u, versions[u]); err != nil {
				return err
			}
			up = append(up, u)
		}
		return nil
	})
	if err != nil {
		n.log.Warn("device-list versions not recorded", "err", err)
		return
	}
	for _, u := range up {
		locals, _ := n.sharers(u)
		n.tellLocals(ctx, u, locals, false)
	}
}

// tellLocals adds a device-list entry about u for each local user in to
// and wakes their connections once it is durable.
func (n *Node) tellLocals(ctx context.Context, about UserID, to map[UserID]bool, left bool) {
	pairs := make([]dlPair, 0, len(to))
	for _, l := range sortedUsers(to) {
		pairs = append(pairs, dlPair{to: l, about: about})
	}
	n.tellPairs(ctx, pairs, left)
}

// dlPair is a device-list entry to make: for local user to, about a user.
type dlPair struct{ to, about UserID }

// tellPairs makes device-list entries in one transaction and wakes the
// connections of those told once it is durable.
func (n *Node) tellPairs(ctx context.Context, pairs []dlPair, left bool) {
	if len(pairs) == 0 {
		return
	}
	told := map[UserID]bool{}
	err := n.store.Update(ctx, func(tx Tx) error {
		clear(told)
		for _, p := range pairs {
			if ok, err := addDeviceListEntries(tx, p.to, p.about, left); err != nil {
				return err
			} else if ok {
				told[p.to] = true
			}
		}
		return nil
	})
	if err != nil {
		n.log.Warn("device-list entries not recorded", "err", err)
		return
	}
	n.store.Durable(func(err error) {
		if err == nil {
			for l := range told {
				n.pokeDevice(l, "", PokeDeviceLists)
			}
		}
	})
}

// ReceiveDeviceLists takes device-list versions that another node pushes
// for its users. A node speaks only for its own users: any other user in
// the push refuses it whole.
func (n *Node) ReceiveDeviceLists(ctx context.Context, from NodeID, versions map[UserID]int64) error {
	if len(versions) > MaxQueryUsers {
		return errorf(ErrTooLarge, fmt.Sprintf("at most %d users per update", MaxQueryUsers))
	}
	for u := range versions {
		if u.Node() != from {
			return errorf(ErrForbidden, fmt.Sprintf("node %s may not speak for %s", from, u))
		}
	}
	n.noteRemoteVersions(ctx, versions)
	return nil
}

// DeviceListVersions answers another node's pull: the versions of this
// node's users among users.
func (n *Node) DeviceListVersions(ctx context.Context, users []UserID) (map[UserID]int64, error) {
	if len(users) > MaxQueryUsers*10 {
		return nil, errorf(ErrTooLarge, "too many users")
	}
	out := map[UserID]int64{}
	err := n.store.View(ctx, func(tx Tx) error {
		for _, u := range users {
			if !n.IsLocal(u) {
				continue
			}
			if v, err := tx.DeviceListVersion(u); err == nil {
				out[u] = v
			}
		}
		return nil
	})
	return out, err
}

// trackedOn lists the users of node peer that share an encrypted room
// with a local user: the users whose device lists this node follows
// there.
func (n *Node) trackedOn(peer NodeID) []UserID {
	set := map[UserID]bool{}
	for _, r := range n.roomEntries() {
		r.mu.Lock()
		s := r.state
		if s.Created() && s.Encrypted {
			members := s.Members()
			local := slices.ContainsFunc(members, n.IsLocal)
			for _, m := range members {
				if local && m.Node() == peer {
					set[m] = true
				}
			}
		}
		r.mu.Unlock()
	}
	return sortedUsers(set)
}

// pullDeviceLists asks peer for the versions of the users this node
// follows there: a version above the one held is a change this node
// missed while the two were apart.
func (n *Node) pullDeviceLists(ctx context.Context, peer NodeID) {
	kf, ok := n.keyFederation()
	users := n.trackedOn(peer)
	if !ok || len(users) == 0 {
		return
	}
	for chunk := range slices.Chunk(users, MaxQueryUsers) {
		versions, err := kf.DeviceListVersions(ctx, peer, chunk)
		if err != nil {
			n.log.Debug("pull device lists", "node", peer, "err", err)
			return
		}
		for u := range versions {
			if u.Node() != peer || !slices.Contains(chunk, u) {
				delete(versions, u)
			}
		}
		n.noteRemoteVersions(ctx, versions)
	}
}

// membershipJob is a membership change in an encrypted room (or a room
// that just became encrypted), for the device lists of those it touches.
type membershipJob struct {
	room   RoomID
	user   UserID // "" when the room became encrypted
	joined bool
}

// onMembership runs a membership job: a user who joins an encrypted room
// is new to its members (and they to them), and one who leaves it is
// gone for whoever shares no other encrypted room with them.
func (n *Node) onMembership(ctx context.Context, j membershipJob) {
	var members []UserID
	if !n.withRoom(j.room, func(s *RoomState) { members = s.Members() }) {
		return
	}
	var pairs []dlPair
	if j.user == "" {
		for _, l := range members {
			if !n.IsLocal(l) {
				continue
			}
			for _, m := range members {
				if m != l {
					pairs = append(pairs, dlPair{to: l, about: m})
				}
			}
		}
		n.tellPairs(ctx, pairs, false)
		return
	}
	for _, m := range members {
		if m == j.user || !j.joined && n.sharesEncryptedRoom(m, j.user) {
			continue
		}
		if n.IsLocal(m) {
			pairs = append(pairs, dlPair{to: m, about: j.user})
		}
		if n.IsLocal(j.user) {
			pairs = append(pairs, dlPair{to: j.user, about: m})
		}
	}
	n.tellPairs(ctx, pairs, !j.joined)
}
