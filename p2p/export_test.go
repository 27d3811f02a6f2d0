package p2p

import "github.com/hearth-chat/hearth/node"

// JoinTopicToPublish joins a room's topic as a publish does
// (roomTopicToPublish), for the external tests: the publish path itself
// joins only rooms the node sends in, which are the rooms it wants.
func (h *Host) JoinTopicToPublish(room node.RoomID) error {
	_, err := h.roomTopicToPublish(room)
	return err
}
