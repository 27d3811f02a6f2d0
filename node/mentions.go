package node

import (
	"fmt"
	"slices"
)

// Mentions are explicit (API.md §9): a message names the users it
// mentions, and may mention the whole room, in fields beside its body.
// The node never reads mentions out of the body, so that they work the
// same in an end-to-end encrypted room, whose body it cannot read, and
// so that "@ann" typed in a code block mentions no one.
//
// A room-wide mention is open to whoever may post in the room: a room
// that wants fewer of them restricts posting (an announcement room), and
// sends are rate limited per user.

// MaxMentions bounds the users one message mentions: enough for any
// conversation, while a message cannot write an index entry for every
// member of a large room (that is what mentionsRoom is for).
const MaxMentions = 50

// checkMentions validates a message's mention list: at most MaxMentions
// well-formed user IDs. It returns the list without duplicates and
// without the sender (one does not notify oneself), in first-seen order.
func checkMentions(sender UserID, ms []UserID) ([]UserID, error) {
	if len(ms) > MaxMentions {
		return nil, errorf(ErrInvalid, fmt.Sprintf("a message mentions at most %d users", MaxMentions))
	}
	var out []UserID
	for _, u := range ms {
		if _, _, ok := u.Split(); !ok {
			return nil, errorf(ErrInvalid, fmt.Sprintf("mentions: %q is not a user ID", u))
		}
		if u == sender || slices.Contains(out, u) {
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

// mentionsUser reports whether m mentions u: by name, or as a member of a
// room mentioned as a whole (never one's own message).
func mentionsUser(m *Message, u UserID) bool {
	if m == nil || m.Sender == u || m.Deleted {
		return false
	}
	return m.MentionsRoom || slices.Contains(m.Mentions, u)
}
