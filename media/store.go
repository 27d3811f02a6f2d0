// Package media keeps a node's files: a content-addressed store on disk,
// the sniffing of types from the bytes, the removal of location metadata
// from images, image dimensions, blurhash placeholders and cached
// thumbnails. It implements node.MediaFiles; the rules (who may read a
// file, quotas, what is kept) are node's.
//
// Layout under the store's directory:
//
//	tmp/<random>             uploads and fetches being written; removed at Open
//	blobs/<id[:2]>/<id>      files, named by their media ID
//	thumbs/<id[:2]>/<id>-<box>  cached previews (JPEG, or PNG with alpha)
//
// A file is written to tmp/, fsynced, and renamed into blobs/ (and the
// directory fsynced), so a crash at any point leaves either nothing or the
// whole file, never part of one.
package media

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gabriel-vasile/mimetype"

	"github.com/hearth-chat/hearth/node"
)

// Config tunes a Store. Zero fields take the defaults.
type Config struct {
	Logger *slog.Logger
	// MaxPixels is the largest image (width × height) an upload may be;
	// larger ones are refused before a pixel is decoded. 40 million.
	MaxPixels int64
	// DecodeBytes bounds the memory one decoded image may take (its
	// pixels, estimated from its header before decoding); larger images
	// are stored without preview or blurhash. 192 MiB.
	DecodeBytes int64
	// Decoders bounds images decoded at once, and so the memory above;
	// 1.
	Decoders int
}

// Store is a directory of content-addressed files. It is safe for
// concurrent use.
type Store struct {
	cfg                 Config
	log                 *slog.Logger
	tmp, blobs, thumbs  string
	decode              chan struct{} // semaphore for decoding images
	sniffLen, bufferLen int
}

var _ node.MediaFiles = (*Store)(nil)

// Open opens (creating) a store in dir and removes the temporary files
// that a crash left behind.
func Open(dir string, cfg Config) (*Store, error) {
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.MaxPixels = cmp.Or(cfg.MaxPixels, 40_000_000)
	cfg.DecodeBytes = cmp.Or(cfg.DecodeBytes, 192<<20)
	cfg.Decoders = cmp.Or(cfg.Decoders, 1)
	s := &Store{
		cfg: cfg, log: cfg.Logger,
		tmp: filepath.Join(dir, "tmp"), blobs: filepath.Join(dir, "blobs"), thumbs: filepath.Join(dir, "thumbs"),
		decode: make(chan struct{}, cfg.Decoders), sniffLen: 3072, bufferLen: 64 << 10,
	}
	for _, d := range []string{s.tmp, s.blobs, s.thumbs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open media store: %w", err)
		}
	}
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, fmt.Errorf("open media store: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.tmp, e.Name())); err != nil {
			return nil, fmt.Errorf("clean media temp files: %w", err)
		}
	}
	if len(entries) > 0 {
		s.log.Info("removed unfinished media files", "count", len(entries))
	}
	return s, nil
}

// TempFiles counts the files being written (for tests and metrics).
func (s *Store) TempFiles() int {
	entries, _ := os.ReadDir(s.tmp)
	return len(entries)
}

func (s *Store) blobPath(id node.MediaID) string {
	return filepath.Join(s.blobs, string(id[:2]), string(id))
}

func (s *Store) thumbPath(id node.MediaID, box int) string {
	return filepath.Join(s.thumbs, string(id[:2]), string(id)+"-"+strconv.Itoa(box))
}

// newTemp creates a uniquely named file in tmp/.
func (s *Store) newTemp() (*os.File, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	f, err := os.OpenFile(filepath.Join(s.tmp, hex.EncodeToString(b[:])), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, diskError("create temporary file", err)
	}
	return f, nil
}

// diskError wraps a file system failure; a full disk is ErrUnavailable,
// which the client may retry later.
func diskError(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%s: %w", op, &node.Error{Kind: node.ErrUnavailable, Message: "the node's disk is full"})
	}
	return fmt.Errorf("%s: %w", op, err)
}

// countingWriter hashes and counts what passes to the file.
type countingWriter struct {
	f *os.File
	h hash.Hash
	n int64
	// werr is the first write error, which is the disk's (src errors
	// are the reader's).
	werr error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err != nil && c.werr == nil {
		c.werr = err
	}
	return n, err
}

// pending is a written temporary file.
type pending struct {
	s    *Store
	path string
	info node.Media
	done bool
}

func (p *pending) Info() node.Media { return p.info }

func (p *pending) Discard() {
	if !p.done {
		p.done = true
		_ = os.Remove(p.path)
	}
}

// Commit renames the file into blobs/ and syncs the directory, so the
// name survives a crash. A file already there has the same bytes.
func (p *pending) Commit() error {
	if p.done {
		return errors.New("media file already committed or discarded")
	}
	dst := p.s.blobPath(p.info.ID)
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return diskError("store media file", err)
	}
	if err := os.Rename(p.path, dst); err != nil {
		return diskError("store media file", err)
	}
	p.done = true
	// Touch it: the collector's grace period for files without a record
	// counts from here, not from the first copy's time.
	now := time.Now()
	_ = os.Chtimes(dst, now, now)
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return diskError("sync media directory", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return diskError("sync media directory", err)
	}
	return nil
}

// Write implements node.MediaFiles: src is streamed into a temporary
// file through a sniffer, an optional metadata filter and a hash, synced,
// then examined.
func (s *Store) Write(ctx context.Context, src io.Reader, scrub bool) (node.PendingMedia, error) {
	br := bufio.NewReaderSize(src, s.bufferLen)
	head, err := br.Peek(s.sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	typ := sniff(head)
	f, err := s.newTemp()
	if err != nil {
		return nil, err
	}
	p := &pending{s: s, path: f.Name()}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			p.Discard()
		}
	}()
	cw := &countingWriter{f: f, h: sha256.New()}
	var copyErr error
	if filter := scrubberFor(typ); scrub && filter != nil {
		// The filters write segment by segment, and a JPEG scan in
		// pieces between its 0xFF bytes: buffer them into large writes.
		bw := bufio.NewWriterSize(cw, s.bufferLen)
		copyErr = filter(bw, br)
		if copyErr == nil {
			copyErr = bw.Flush()
		}
		if errors.Is(copyErr, errMalformed) && cw.werr == nil {
			copyErr = &node.Error{Kind: node.ErrInvalid, Message: "the file looks like " + typ + " but is not a valid one"}
		}
	} else {
		_, copyErr = io.Copy(cw, br)
	}
	if cw.werr != nil {
		return nil, diskError("write media file", cw.werr)
	}
	if copyErr != nil {
		return nil, copyErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, diskError("sync media file", err)
	}
	if err := f.Close(); err != nil {
		return nil, diskError("close media file", err)
	}
	p.info = node.Media{
		ID:   node.MediaID(base64.RawURLEncoding.EncodeToString(cw.h.Sum(nil))),
		Type: typ, Size: cw.n,
	}
	if isImage(typ) {
		if err := s.examine(ctx, p, scrub); err != nil {
			return nil, err
		}
	}
	ok = true
	return p, nil
}

// sniff names the type of a file from its first bytes; the client's
// word is never taken. Parameters (charsets) are dropped.
func sniff(head []byte) string {
	t := mimetype.Detect(head).String()
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return strings.TrimSpace(t)
}

// Open implements node.MediaFiles.
func (s *Store) Open(id node.MediaID) (io.ReadSeekCloser, error) {
	if !id.Valid() {
		return nil, fmt.Errorf("open media: %w", node.ErrNotFound)
	}
	f, err := os.Open(s.blobPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open media %s: %w", id, node.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open media %s: %w", id, err)
	}
	return f, nil
}

// Has implements node.MediaFiles.
func (s *Store) Has(id node.MediaID) bool {
	if !id.Valid() {
		return false
	}
	_, err := os.Stat(s.blobPath(id))
	return err == nil
}

// Remove implements node.MediaFiles; removing what is not there is no
// error.
func (s *Store) Remove(id node.MediaID) error {
	if !id.Valid() {
		return nil
	}
	if err := os.Remove(s.blobPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove media %s: %w", id, err)
	}
	for _, box := range node.ThumbnailSizes {
		if err := os.Remove(s.thumbPath(id, box)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove thumbnail of %s: %w", id, err)
		}
	}
	return nil
}

// Each implements node.MediaFiles.
func (s *Store) Each(fn func(id node.MediaID, modified time.Time) bool) error {
	shards, err := os.ReadDir(s.blobs)
	if err != nil {
		return fmt.Errorf("list media: %w", err)
	}
	for _, sh := range shards {
		entries, err := os.ReadDir(filepath.Join(s.blobs, sh.Name()))
		if err != nil {
			return fmt.Errorf("list media: %w", err)
		}
		for _, e := range entries {
			id := node.MediaID(e.Name())
			info, err := e.Info()
			if err != nil || !id.Valid() {
				continue
			}
			if !fn(id, info.ModTime()) {
				return nil
			}
		}
	}
	return nil
}
