package node

// FullRoomState returns a deep copy of a room's state with its
// membership history, for tests that compare rooms across nodes.
func (n *Node) FullRoomState(id RoomID) *RoomState {
	r := n.room(id, false)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Copy()
}
