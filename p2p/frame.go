package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
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

// exchange opens a stream of proto to p, writes req as one frame, closes
// its write side and reads one frame into resp, all within timeout. It is
// the one request/response round trip of the sync and e2ee protocols;
// what the answer means is the caller's. what names the request in
// errors ("sync digest", "keys_query").
func (h *Host) exchange(ctx context.Context, p peer.ID, proto protocol.ID, what string, timeout time.Duration, req, resp any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := h.host.NewStream(network.WithAllowLimitedConn(ctx, string(proto)), p, proto)
	if err != nil {
		return fmt.Errorf("%s with %s: %w", what, p, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if err := writeFrame(s, req); err != nil {
		_ = s.Reset()
		return err
	}
	_ = s.CloseWrite()
	if err := readFrame(bufio.NewReader(s), resp); err != nil {
		_ = s.Reset()
		return fmt.Errorf("%s with %s: %w", what, p, err)
	}
	return nil
}
