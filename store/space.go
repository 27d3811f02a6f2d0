package store

import (
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// errDiskFull refuses writes while the disk is nearly full. Badger writes
// its logs through memory maps, where running out of space is a fault
// rather than an error; refusing before that keeps the node up, serving
// reads, with every acknowledged write intact.
var errDiskFull = &node.Error{Kind: node.ErrUnavailable, Message: "the node's disk is full; try again later"}

// spaceGuard watches the free space of the database's file system.
type spaceGuard struct {
	dir  string
	min  uint64
	low  atomic.Bool
	stop chan struct{}
	done chan struct{}
}

func newSpaceGuard(dir string, min uint64, every time.Duration) *spaceGuard {
	g := &spaceGuard{dir: dir, min: min, stop: make(chan struct{}), done: make(chan struct{})}
	g.check()
	go func() {
		defer close(g.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-t.C:
				g.check()
			}
		}
	}()
	return g
}

func (g *spaceGuard) check() {
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.dir, &st); err != nil {
		return // unknown: do not refuse writes on a failed probe
	}
	g.low.Store(st.Bavail*uint64(st.Bsize) < g.min)
}

func (g *spaceGuard) full() bool { return g.low.Load() }

func (g *spaceGuard) close() {
	close(g.stop)
	<-g.done
}
