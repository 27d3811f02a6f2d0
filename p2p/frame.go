package p2p

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// maxFrame bounds one sync frame: a page of up to maxPage events of at
// most 64 KiB each would not fit, so pages are also cut by size (see
// pageBytes).
const maxFrame = 8 << 20

// writeFrame writes v as one frame: an unsigned varint length, then JSON.
func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if len(b) > maxFrame {
		return fmt.Errorf("frame of %d bytes is over the limit", len(b))
	}
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(b)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// readFrame reads one frame into v, refusing frames over maxFrame.
func readFrame(r *bufio.Reader, v any) error {
	size, err := binary.ReadUvarint(r)
	if err != nil {
		return fmt.Errorf("read frame length: %w", err)
	}
	if size > maxFrame {
		return fmt.Errorf("frame of %d bytes is over the limit", size)
	}
	// Read what arrives rather than allocate what the peer claims.
	b, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return fmt.Errorf("read frame: %w", err)
	}
	if uint64(len(b)) != size {
		return fmt.Errorf("read frame: %w", io.ErrUnexpectedEOF)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode frame: %w", err)
	}
	return nil
}
