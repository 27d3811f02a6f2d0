package node_test

import (
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// TestNotifies is the rule a message's pushes and desktop notifications
// follow.
func TestNotifies(t *testing.T) {
	const me, other = node.UserID("me@n"), node.UserID("other@n")
	plain := &node.Message{Sender: other, Body: "hi"}
	mention := &node.Message{Sender: other, Body: "hi @me", Mentions: []node.UserID{me}}
	roomWide := &node.Message{Sender: other, Body: "@room", MentionsRoom: true}
	own := &node.Message{Sender: me, Body: "mine", Mentions: []node.UserID{me}}
	dnd := &node.NotifyPrefs{DND: true}
	dndOver := &node.NotifyPrefs{DND: true, DNDUntil: 1000}
	for _, c := range []struct {
		name  string
		m     *node.Message
		kind  string
		level string
		prefs *node.NotifyPrefs
		want  bool
	}{
		{"group default: plain", plain, node.KindGroup, "", nil, false},
		{"group default: mention", mention, node.KindGroup, "", nil, true},
		{"group default: room-wide", roomWide, node.KindGroup, "", nil, true},
		{"dm default: plain", plain, node.KindDM, "", nil, true},
		{"dm at mentions: plain", plain, node.KindDM, node.NotifyMentions, nil, false},
		{"group at all: plain", plain, node.KindGroup, node.NotifyAll, nil, true},
		{"muted: mention", mention, node.KindGroup, node.NotifyMute, nil, false},
		{"muted dm", plain, node.KindDM, node.NotifyMute, nil, false},
		{"own message", own, node.KindDM, node.NotifyAll, nil, false},
		{"dnd: mention", mention, node.KindGroup, "", dnd, false},
		{"dnd: dm", plain, node.KindDM, "", dnd, false},
		{"dnd over: mention", mention, node.KindGroup, "", dndOver, true},
		{"unknown stored level", mention, node.KindGroup, "bogus", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := node.Notifies(me, c.m, c.kind, c.level, c.prefs, 2000); got != c.want {
				t.Fatalf("Notifies = %v, want %v", got, c.want)
			}
		})
	}
}
