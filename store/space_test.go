package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// mountTmpfs mounts a small tmpfs for a disk-full test, or skips the test
// where the machine does not allow mounts (not root, no tmpfs).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		t.Skip("disk-full test needs root to mount a tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestDiskFull fills the file system under a live database: writes are
// refused with ErrUnavailable (no partial state, nothing acknowledged),
// reads keep working, and writes resume when space returns.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	fsDir := mountTmpfs(t, "96m")
	db, err := store.Open(filepath.Join(fsDir, "db"), store.Options{
		MemTableSize: 4 << 20, MinFreeBytes: 24 << 20, SpaceCheckEvery: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(i int) error {
		return db.Update(ctx, func(tx node.Tx) error {
			return tx.PutMessage(&node.Message{ID: node.EventID(fmt.Sprint("m", i)), Room: "r", Sender: "a@N", Body: "x", Order: order(i)})
		})
	}
	for i := range 10 {
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	// Leave less free space than the guard wants.
	filler := filepath.Join(fsDir, "filler")
	var st statfs
	free := st.free(t, fsDir)
	if err := writeZeros(filler, free-(16<<20)); err != nil {
		t.Fatal(err)
	}
	// Writes made before the guard's next probe still land; count them.
	stored := 10
	poll.Until(t, 5*time.Second, func() error {
		err := put(100 + stored)
		if err == nil {
			stored++
			return errors.New("writes still accepted")
		}
		if !errors.Is(err, node.ErrUnavailable) {
			return fmt.Errorf("write while full = %w, want ErrUnavailable", err)
		}
		return nil
	})
	err = db.View(ctx, func(tx node.Tx) error {
		page, _, err := tx.Messages("r", nil, 50)
		if err == nil && len(page) != stored {
			err = fmt.Errorf("read %d messages while full, want %d", len(page), stored)
		}
		return err
	})
	if err != nil {
		t.Fatalf("reads while the disk is full: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 5*time.Second, func() error { return put(1000) })
}

func writeZeros(path string, n uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, uint64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return f.Sync()
}
