package webui

import "github.com/hearth-chat/hearth/node"

// reactionFrame is {"type":"reaction","room","message","emoji","user",
// "on","count"} (docs/api.md): one user's reaction changed, and how many
// users now show that key. Its "message" is an ID, not a Message, so it
// has its own shape; a reaction never re-sends the message.
type reactionFrame struct {
	Type    string       `json:"type"`
	Room    node.RoomID  `json:"room"`
	Message node.EventID `json:"message"`
	Emoji   string       `json:"emoji"`
	User    node.UserID  `json:"user"`
	On      bool         `json:"on"`
	Count   int          `json:"count"`
}

func reactionFrameOf(n *node.Notification) *reactionFrame {
	return &reactionFrame{
		Type: "reaction", Room: n.RoomID, Message: n.MessageID, Emoji: n.Emoji,
		User: n.User, On: n.On, Count: n.Count,
	}
}
