package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Media defaults (Config).
const (
	DefaultMaxUpload         = 50 << 20
	DefaultUserQuota         = 1 << 30
	defaultUploadsPerUser    = 4
	defaultUploads           = 16
	defaultMediaFetches      = 4
	defaultMediaFetchTimeout = 2 * time.Minute
	defaultMediaGrace        = 24 * time.Hour
)

// UploadParams is a file a user uploads.
type UploadParams struct {
	// Name is the client's file name; it is cleaned, never trusted.
	Name string
	// Length is the declared byte count, or -1 when unknown.
	Length int64
	// Body is read once, to its end or the limit.
	Body io.Reader
}

// capReader reads at most left bytes from r; one byte more fails the read
// with over (the caller's error for the limit that was hit).
type capReader struct {
	r       io.Reader
	left    int64
	over    error
	hit     bool
	readErr error // the underlying reader's failure, not EOF
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var b [1]byte
		n, err := c.r.Read(b[:])
		if n > 0 {
			c.hit = true
			return 0, c.over
		}
		if err != nil && !errors.Is(err, io.EOF) {
			c.readErr = err
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		c.readErr = err
	}
	return n, err
}

// reserve takes an upload slot for u and reserves the bytes the upload
// may take, before anything is written: the declared length, or what is
// left of the user's quota (at most the upload limit) when it is unknown.
// It returns the byte limit, the error for passing it, and the release.
func (n *Node) reserve(u UserID, used, length int64) (int64, error, func(), error) {
	m, max, quota := n.media, n.cfg.MaxUpload, n.cfg.UserQuota
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.uploading[u] >= n.cfg.MaxUploadsPerUser {
		return 0, nil, nil, errorf(ErrRateLimited, fmt.Sprintf("at most %d uploads at a time", n.cfg.MaxUploadsPerUser))
	}
	if m.total >= n.cfg.MaxUploads {
		return 0, nil, nil, errorf(ErrRateLimited, "the node is busy with other uploads; try again shortly")
	}
	left := quota - used - m.reserved[u]
	quotaErr := errorf(ErrQuota, fmt.Sprintf("this upload would exceed your storage quota of %s (%s used)", humanBytes(quota), humanBytes(used)))
	tooLarge := errorf(ErrTooLarge, fmt.Sprintf("the file is over the upload limit of %s", humanBytes(max)))
	var limit int64
	var over error
	switch {
	case length > max:
		return 0, nil, nil, tooLarge
	case length >= 0 && length > left:
		return 0, nil, nil, quotaErr
	case length >= 0:
		// HTTP stops a body at its declared length.
		limit, over = length, tooLarge
	case left <= 0:
		return 0, nil, nil, quotaErr
	case left < max:
		limit, over = left, quotaErr
	default:
		limit, over = max, tooLarge
	}
	m.uploading[u]++
	m.total++
	m.reserved[u] += limit
	released := false
	return limit, over, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if released {
			return
		}
		released = true
		m.reserved[u] -= limit
		if m.reserved[u] <= 0 {
			delete(m.reserved, u)
		}
		if m.uploading[u]--; m.uploading[u] <= 0 {
			delete(m.uploading, u)
		}
		m.total--
	}, nil
}

// Upload stores a file of a local user and returns it once it is durable:
// streamed to a temporary file (never held whole in memory) against the
// upload limit and the user's quota, both reserved before the first byte
// is written; its type sniffed from the bytes; location metadata removed
// from images; then moved into the content-addressed store. Identical
// bytes are stored once. The upload keeps the file for the grace period
// (MediaGrace); a message or avatar that refers to it keeps it after.
func (n *Node) Upload(ctx context.Context, u UserID, p UploadParams) (*Media, error) {
	files, err := n.mediaFiles()
	if err != nil {
		return nil, err
	}
	var used int64
	if err := n.store.View(ctx, func(tx Tx) error {
		var err error
		used, err = tx.MediaUsage(u)
		return err
	}); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	limit, over, release, err := n.reserve(u, used, p.Length)
	if err != nil {
		return nil, err
	}
	defer release()
	cr := &capReader{r: p.Body, left: limit, over: over}
	pending, err := files.Write(ctx, cr, true)
	switch {
	case cr.hit:
		return nil, over
	case cr.readErr != nil:
		return nil, errorf(ErrInvalid, "the upload was interrupted")
	case err != nil:
		return nil, fmt.Errorf("upload: %w", err)
	}
	info := pending.Info()
	info.Name = cleanMediaName(p.Name)
	unlock := n.media.lockMedia(info.ID)
	err = pending.Commit()
	if err == nil {
		err = n.store.Update(ctx, func(tx Tx) error {
			now := n.now().UnixMilli()
			rec, err := tx.MediaRecord(info.ID)
			switch {
			case errors.Is(err, ErrNotFound):
				rec = &MediaRecord{Media: info}
			case err != nil:
				return err
			default:
				name := rec.Name
				rec.Media = info
				if name != "" {
					rec.Name = name
				}
			}
			rec.Stored, rec.At = true, now
			if err := tx.PutMediaRecord(rec); err != nil {
				return err
			}
			return tx.PutMediaRef(&MediaRef{Media: info.ID, Kind: RefUpload, Target: string(u), Node: n.ID(), Size: info.Size, At: now})
		})
	} else {
		pending.Discard()
	}
	unlock()
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return &info, nil
}

// MediaUsage is the bytes a user's uploads take, and their quota.
func (n *Node) MediaUsage(ctx context.Context, u UserID) (used, quota int64, err error) {
	err = n.store.View(ctx, func(tx Tx) error {
		var err error
		used, err = tx.MediaUsage(u)
		return err
	})
	return used, n.cfg.UserQuota, err
}

// OpenMedia opens a file that u may read (API.md §6), fetching it from
// another node of its rooms first when this node lacks it. Anything u may
// not read is ErrNotFound.
func (n *Node) OpenMedia(ctx context.Context, u UserID, id MediaID) (*Media, io.ReadSeekCloser, error) {
	files, err := n.mediaFiles()
	if err != nil {
		return nil, nil, err
	}
	rec, err := n.readableMedia(ctx, u, id)
	if err != nil {
		return nil, nil, err
	}
	if rec, err = n.ensureMedia(ctx, files, rec); err != nil {
		return nil, nil, err
	}
	f, err := files.Open(id)
	if err != nil {
		return nil, nil, fmt.Errorf("open media %s: %w", id, err)
	}
	return &rec.Media, f, nil
}

// Thumbnail returns a preview of an image u may read that fits in w×h:
// the largest of ThumbnailSizes that does, made once and cached.
func (n *Node) Thumbnail(ctx context.Context, u UserID, id MediaID, w, h int) (*Media, io.ReadSeekCloser, string, error) {
	files, err := n.mediaFiles()
	if err != nil {
		return nil, nil, "", err
	}
	box := 0
	for _, s := range ThumbnailSizes {
		if s <= w && s <= h {
			box = s
		}
	}
	if box == 0 {
		return nil, nil, "", errorf(ErrInvalid, fmt.Sprintf("w and h must be at least %d", ThumbnailSizes[0]))
	}
	rec, err := n.readableMedia(ctx, u, id)
	if err != nil {
		return nil, nil, "", err
	}
	if rec, err = n.ensureMedia(ctx, files, rec); err != nil {
		return nil, nil, "", err
	}
	if !Thumbnailable(rec.Type) || rec.Width == 0 {
		return nil, nil, "", errorf(ErrNotFound, "this file has no preview")
	}
	f, typ, err := files.Thumbnail(ctx, id, box)
	if err != nil {
		return nil, nil, "", fmt.Errorf("thumbnail %s: %w", id, err)
	}
	return &rec.Media, f, typ, nil
}

// Thumbnailable reports whether the node makes previews of a type.
// Videos get none: the node has no video decoder (browsers show a
// video's first frame themselves).
func Thumbnailable(t string) bool {
	switch t {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/vnd.mozilla.apng", "image/bmp":
		return true
	}
	return false
}

// humanBytes writes a byte count for people: 50 MiB, 1.5 GiB, 300 bytes.
func humanBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d bytes", b)
	}
	div, exp := int64(unit), 0
	for v := b / unit; v >= unit && exp < 4; v /= unit {
		div *= unit
		exp++
	}
	v := float64(b) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	if v == float64(int64(v)) {
		s = fmt.Sprintf("%d", int64(v))
	}
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB", "PiB"}[exp]
}
