package store

import (
	"fmt"
	"os"
	"syscall"
)

// fdatasync flushes f's data (not its timestamps, which mapped writes
// keep changing) to disk, as msync(MS_SYNC) does. It returns an error
// wrapping os.ErrClosed if f was closed.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	// Control keeps the descriptor open while the call runs; it fails
	// only when f is closing.
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return fmt.Errorf("%w: %v", os.ErrClosed, err)
	}
	return serr
}
