package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
)

// mediaProtocol fetches a file by its media ID (docs/protocol.md §8):
// one request frame, one response frame, then the bytes.
const mediaProtocol = "/hearth/media/1.0.0"

// Bounds of the media protocol.
const (
	// maxMediaServes bounds the files this node sends at once; a request
	// beyond it is refused as busy, and the requester asks another node.
	maxMediaServes = 8
	// mediaAttemptTimeout bounds one node's try at sending a file (50 MiB
	// takes under a minute at 8 Mbit/s).
	mediaAttemptTimeout = 90 * time.Second
	// mediaDialTimeout bounds reaching a node and opening the stream.
	mediaDialTimeout = 10 * time.Second
	// mediaRequestTimeout bounds reading a request.
	mediaRequestTimeout = 10 * time.Second
	// maxMediaRequest bounds a request frame.
	maxMediaRequest = 1 << 10
	// mediaPenalty is what a node that sent bytes that are not the file
	// it was asked for loses from its peer score (GossipSub's
	// application-specific part): one offence takes it below the publish
	// threshold (-200), a second below the graylist (-400). It halves
	// every mediaPenaltyHalfLife.
	mediaPenalty         = 250
	mediaPenaltyHalfLife = 10 * time.Minute
)

// MediaSource serves this node's files to other nodes; *node.Node
// satisfies it.
type MediaSource interface {
	// MediaFor opens a file that node reader may fetch, with its size;
	// an error wrapping node.ErrNotFound for anything else.
	MediaFor(ctx context.Context, id node.MediaID, reader node.NodeID) (io.ReadCloser, int64, error)
}

type mediaRequest struct {
	ID node.MediaID `json:"id"`
}

type mediaResponse struct {
	Error string `json:"error,omitempty"`
	Size  int64  `json:"size"`
}

// mediaState is the host's part of the media protocol.
type mediaState struct {
	source    MediaSource // nil: files are not served
	serves    chan struct{}
	penalties penalties
}

func newMediaState(src MediaSource) *mediaState {
	return &mediaState{source: src, serves: make(chan struct{}, maxMediaServes), penalties: penalties{m: map[peer.ID]penalty{}}}
}

// penalties are the application-specific parts of peers' scores: what
// they lost by sending wrong media bytes or pushing forged events
// (blamePush), decaying.
type penalties struct {
	mu sync.Mutex
	m  map[peer.ID]penalty
}

type penalty struct {
	v  float64
	at time.Time
}

func (p *penalties) add(id peer.ID, v float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.m[id] = penalty{v: p.valueLocked(id, now) + v, at: now}
}

func (p *penalties) valueLocked(id peer.ID, now time.Time) float64 {
	e, ok := p.m[id]
	if !ok {
		return 0
	}
	v := e.v * math.Exp2(-float64(now.Sub(e.at))/float64(mediaPenaltyHalfLife))
	if v < 1 {
		delete(p.m, id)
		return 0
	}
	return v
}

// score is GossipSub's AppSpecificScore: minus the peer's penalty.
func (p *penalties) score(id peer.ID) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return -p.valueLocked(id, time.Now())
}

// serveMedia answers one media request: the file if the domain says the
// requesting node may have it, else "not found", whatever the reason.
func (h *Host) serveMedia(s network.Stream) {
	defer s.Close()
	m := h.mediaState
	select {
	case m.serves <- struct{}{}:
		defer func() { <-m.serves }()
	default:
		_ = s.SetDeadline(time.Now().Add(mediaRequestTimeout))
		_ = writeFrame(s, mediaResponse{Error: "busy"})
		return
	}
	_ = s.SetDeadline(time.Now().Add(mediaRequestTimeout))
	var req mediaRequest
	if err := readFrame(bufio.NewReader(io.LimitReader(s, maxMediaRequest)), &req); err != nil {
		_ = s.Reset()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), mediaAttemptTimeout)
	defer cancel()
	reader := node.NodeID(s.Conn().RemotePeer().String())
	f, size, err := m.source.MediaFor(ctx, req.ID, reader)
	if err != nil {
		if !errors.Is(err, node.ErrNotFound) {
			h.log.Debug("media request failed", "from", reader, "err", err)
		}
		_ = writeFrame(s, mediaResponse{Error: "not found"})
		return
	}
	defer f.Close()
	_ = s.SetDeadline(time.Now().Add(mediaAttemptTimeout))
	if err := writeFrame(s, mediaResponse{Size: size}); err != nil {
		_ = s.Reset()
		return
	}
	if _, err := io.CopyN(s, f, size); err != nil {
		h.log.Debug("media send cut short", "to", reader, "media", req.ID, "err", err)
		_ = s.Reset()
	}
}

// FetchMedia implements node.MediaFetcher: it asks the nodes in order,
// skipping those penalised for wrong bytes, and gives the first that
// has the file to accept. A node whose bytes accept refuses as not the
// file (node.ErrInvalid) is penalised; a node that is down, busy, lacks
// the file or stops mid-way is not.
func (h *Host) FetchMedia(ctx context.Context, id node.MediaID, from []node.NodeID, max int64, accept func(r io.Reader) error) error {
	var errs []error
	for _, n := range from {
		if ctx.Err() != nil {
			break
		}
		p, err := peer.Decode(string(n))
		if err != nil || p == h.host.ID() {
			continue
		}
		if h.mediaState.penalties.score(p) < 0 {
			errs = append(errs, fmt.Errorf("%s: penalised for sending wrong bytes", p))
			continue
		}
		err = h.fetchMediaFrom(ctx, p, id, max, accept)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p, err))
		if errors.Is(err, errWrongBytes) {
			h.log.Warn("node sent wrong bytes for a media file", "peer", p, "media", id)
			h.mediaState.penalties.add(p, mediaPenalty)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(errs) == 0 {
		return fmt.Errorf("fetch media %s: no node to ask: %w", id, node.ErrNotFound)
	}
	return fmt.Errorf("fetch media %s: no node sent it (%w): %w", id, errors.Join(errs...), node.ErrNotFound)
}

// errWrongBytes marks a node that sent a whole file that is not the one
// asked for.
var errWrongBytes = errors.New("sent bytes that do not match the media id")

// countReader counts what was read and remembers a read failure.
type countReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	return n, err
}

func (h *Host) fetchMediaFrom(ctx context.Context, p peer.ID, id node.MediaID, max int64, accept func(io.Reader) error) error {
	ctx, cancel := context.WithTimeout(ctx, mediaAttemptTimeout)
	defer cancel()
	// A node that is down or has no known address fails here, quickly,
	// and the next one is asked.
	dctx, dcancel := context.WithTimeout(ctx, mediaDialTimeout)
	s, err := h.host.NewStream(network.WithAllowLimitedConn(dctx, "hearth-media"), p, mediaProtocol)
	dcancel()
	if err != nil {
		return fmt.Errorf("open media stream: %w", err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if err := writeFrame(s, mediaRequest{ID: id}); err != nil {
		_ = s.Reset()
		return err
	}
	_ = s.CloseWrite()
	br := bufio.NewReader(s)
	var resp mediaResponse
	if err := readFrame(br, &resp); err != nil {
		_ = s.Reset()
		return err
	}
	switch {
	case resp.Error != "":
		return fmt.Errorf("peer says: %s", resp.Error)
	case resp.Size < 0 || resp.Size > max:
		_ = s.Reset()
		return fmt.Errorf("file of %d bytes is over the limit of %d", resp.Size, max)
	}
	cr := &countReader{r: io.LimitReader(br, resp.Size)}
	err = accept(cr)
	switch {
	case err == nil:
		return nil
	case cr.err != nil || cr.n < resp.Size:
		// Cut short: the network's fault as far as anyone can tell.
		_ = s.Reset()
		return fmt.Errorf("media stream cut short after %d of %d bytes: %w", cr.n, resp.Size, err)
	case errors.Is(err, node.ErrInvalid):
		_ = s.Reset()
		return fmt.Errorf("%w: %w", errWrongBytes, err)
	default:
		_ = s.Reset()
		return err
	}
}

var _ node.MediaFetcher = (*Host)(nil)
