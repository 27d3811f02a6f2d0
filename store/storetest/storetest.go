// Package storetest is the conformance suite of node.Store, run by every
// implementation (the Badger store and store/memstore), in the manner of
// perkeep's storagetest: the contract that node relies on, stated once as
// tests. A new Tx method gets its case here, and every store runs it.
package storetest

import (
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// Store is a store under test.
type Store interface {
	node.Store
	// Close releases the store. The suite calls it once per store, at the
	// end of each test or when the test is about closing.
	Close() error
}

// Opener returns a new, empty store for one test.
type Opener func(t *testing.T) Store

// Case is one conformance test.
type Case struct {
	Name string
	Run  func(t *testing.T, s Store)
}

// Cases are the conformance tests, in the order Run runs them.
var Cases = []Case{
	{"NotFound", testNotFound},
	{"Accounts", testAccounts},
	{"Profiles", testProfiles},
	{"Sessions", testSessions},
	{"Refresh", testRefresh},
	{"SessionRefreshRecords", testSessionRefreshRecords},
	{"Events", testEvents},
	{"Timeline", testTimeline},
	{"RoomStates", testRoomStates},
	{"Messages", testMessages},
	{"MessageRecordIsACopy", testMessageCopy},
	{"Threads", testThreads},
	{"CountMessagesAfter", testCountAfter},
	{"CountMentionsAfter", testCountMentions},
	{"ClientMessages", testClientMessages},
	{"Aggregates", testAggregates},
	{"ReactionRecords", testReactionRecords},
	{"DeleteEvent", testDeleteEvent},
	{"DeleteMessage", testDeleteMessage},
	{"Expiry", testExpiry},
	{"Receipts", testReceipts},
	{"RoomKeyRefs", testRoomKeyRefs},
	{"KeyDirectory", testKeyDirectory},
	{"MarksAndOutbox", testMarksAndOutbox},
	{"Backup", testBackup},
	{"Media", testMedia},
	{"Admin", testAdmin},
	{"Notify", testNotify},
	{"Reports", testReports},
	{"SearchWork", testSearchWork},
	{"UpdateIsAtomic", testUpdateAtomic},
	{"CommitAnyway", testCommitAnyway},
	{"ViewCannotWrite", testViewCannotWrite},
	{"ViewIsASnapshot", testViewSnapshot},
	{"ConcurrentUpdates", testConcurrentUpdates},
	{"DurableOrder", testDurableOrder},
	{"CanceledContext", testCanceled},
	{"Close", testClose},
}

// Run runs every case against a fresh store from open.
func Run(t *testing.T, open Opener) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			s := open(t)
			closed := false
			t.Cleanup(func() {
				if !closed {
					if err := s.Close(); err != nil {
						t.Errorf("close: %v", err)
					}
				}
			})
			if c.Name == "Close" {
				closed = true
			}
			c.Run(t, s)
		})
	}
}
