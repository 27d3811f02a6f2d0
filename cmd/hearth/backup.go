package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hearth-chat/hearth/media"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// A backup file is
//
//	"HEARTH-BACKUP 3\n"
//	uvarint length, node.key bytes
//	uvarint length, token.key bytes
//	uvarint length, vapid.key bytes (0: the node had none)
//	Badger's backup stream of the database, cut in chunks:
//	  (uvarint length, bytes)*, then a 0 length
//	the media files, each: uvarint 43, the media ID, uvarint size, bytes;
//	  then a 0
//
// so it restores the node's identity along with its users, rooms,
// messages, sessions and files, and its Web Push key, without which every
// browser's push subscription (made for that key) would stop working. The database comes first: a file
// uploaded meanwhile may be in the backup without its record (the
// collector removes it after the grace period), never the other way
// round for a file in use. Version 2 files (no vapid.key) and version 1
// files (no media either; the database stream to the end) still restore.
const (
	backupMagic   = "HEARTH-BACKUP 3\n"
	backupMagicV2 = "HEARTH-BACKUP 2\n"
	backupMagicV1 = "HEARTH-BACKUP 1\n"
)

// backupKeys are the key files a backup holds, in order; optional ones
// may be missing (written as empty) and are absent from older versions.
var backupKeys = []struct {
	name     string
	optional bool
	since    int // the first backup version holding it
}{{"node.key", false, 1}, {"token.key", false, 1}, {"vapid.key", true, 3}}

// adminSocket is the Unix socket a running node answers local admin
// requests on (`hearth backup`, `hearth admin`). File permissions (0600
// in a 0700 directory) are its access control.
func adminSocket(data string) string { return filepath.Join(data, "admin.sock") }

// serveAdmin listens on the data directory's admin socket. A failure is
// logged, not fatal: backups then need the node stopped.
func (m *Main) serveAdmin() {
	path := adminSocket(m.Config.Data)
	if st, err := os.Stat(m.Config.Data); err == nil && st.Mode().Perm()&0o077 != 0 {
		// The socket is 0600 once made, but in a directory others can
		// enter it exists for a moment with the umask's mode first; the
		// directory also holds the node key.
		m.log.Warn("the data directory is open to other users; chmod 700 it", "dir", m.Config.Data, "mode", st.Mode().Perm().String())
	}
	_ = os.Remove(path) // a stale socket of a process that died; we hold the lock
	ln, err := net.Listen("unix", path)
	if err != nil {
		m.log.Warn("admin socket unavailable; hearth backup needs the node stopped", "err", err)
		return
	}
	_ = os.Chmod(path, 0o600)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := writeBackup(r.Context(), w, m.Config.Data, m.db, m.files); err != nil {
			m.log.Error("backup failed", "err", err)
			// The stream is cut short; the client sees no end marker
			// from Badger and reports the failure.
			panic(http.ErrAbortHandler)
		}
		m.log.Info("backup written")
	})
	mux.Handle("/api/v1/admin/", m.web.AdminHandler()) // hearth admin (admin.go)
	m.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	m.adminLn = ln
	go func() {
		if err := m.admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("admin socket stopped", "err", err)
		}
	}()
}

func writeBackup(ctx context.Context, w io.Writer, data string, db *store.DB, files *media.Store) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(backupMagic); err != nil {
		return err
	}
	for _, k := range backupKeys {
		b, err := os.ReadFile(filepath.Join(data, k.name))
		if k.optional && errors.Is(err, os.ErrNotExist) {
			b, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", k.name, err)
		}
		if err := writeChunk(bw, b); err != nil {
			return err
		}
	}
	cw := &chunkWriter{w: bw}
	if err := db.Backup(cw); err != nil {
		return err
	}
	if err := writeChunk(bw, nil); err != nil {
		return err
	}
	var ids []node.MediaID
	if err := files.Each(func(id node.MediaID, _ time.Time) bool {
		ids = append(ids, id)
		return true
	}); err != nil {
		return err
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := backupFile(bw, files, id); err != nil {
			return err
		}
	}
	if err := writeChunk(bw, nil); err != nil {
		return err
	}
	return bw.Flush()
}

// backupFile writes one media file; one collected since it was listed is
// left out.
func backupFile(w io.Writer, files *media.Store, id node.MediaID) error {
	f, err := files.Open(id)
	if errors.Is(err, node.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("back up media %s: %w", id, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("back up media %s: %w", id, err)
	}
	if err := writeChunk(w, []byte(id)); err != nil {
		return err
	}
	if _, err := w.Write(binary.AppendUvarint(nil, uint64(size))); err != nil {
		return err
	}
	if _, err := io.CopyN(w, f, size); err != nil {
		return fmt.Errorf("back up media %s: %w", id, err)
	}
	return nil
}

// writeChunk writes a uvarint length and b.
func writeChunk(w io.Writer, b []byte) error {
	if _, err := w.Write(binary.AppendUvarint(nil, uint64(len(b)))); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// readChunk reads one chunk writeChunk wrote, of at most max bytes.
func readChunk(r interface {
	io.Reader
	io.ByteReader
}, max uint64) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("a chunk of %d bytes, over %d", n, max)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

// chunkWriter frames a stream of unknown length as chunks.
type chunkWriter struct{ w io.Writer }

func (c *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := writeChunk(c.w, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// chunkReader reads what chunkWriter framed, up to the 0 length.
type chunkReader struct {
	r    *bufio.Reader
	left uint64
	done bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		n, err := binary.ReadUvarint(c.r)
		if err != nil {
			return 0, fmt.Errorf("backup is truncated (database): %w", err)
		}
		if n == 0 {
			c.done = true
			return 0, io.EOF
		}
		c.left = n
	}
	if uint64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= uint64(n)
	if errors.Is(err, io.EOF) && c.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// backupCommand is `hearth backup [--data DIR] FILE`: from the running
// node through its admin socket, or straight from the database when no
// node is running.
func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hearth backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("HEARTH_DATA", "./hearth-data"), "the node's data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: hearth backup [--data DIR] FILE")
	}
	out := fs.Arg(0)
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer os.Remove(tmp)
	if err := backupTo(ctx, f, *data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "backup written to", out)
	return nil
}

func backupTo(ctx context.Context, w io.Writer, data string) error {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", adminSocket(data))
		},
	}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://hearth/backup", nil)
	resp, err := client.Do(req)
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("running node refused the backup: %s", resp.Status)
		}
		if _, err := io.Copy(w, resp.Body); err != nil {
			return fmt.Errorf("backup from running node: %w", err)
		}
		return nil
	}
	// No node answers: open the data directory ourselves, under its lock.
	m := NewMain(io.Discard, io.Discard)
	m.Config.Data = data
	if err := m.lockData(); err != nil {
		return fmt.Errorf("no running node answered on %s, and %w", adminSocket(data), err)
	}
	defer m.lock.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(filepath.Join(data, "db"), store.Options{Logger: quiet})
	if err != nil {
		return err
	}
	defer db.Close()
	files, err := media.Open(filepath.Join(data, "media"), media.Config{Logger: quiet})
	if err != nil {
		return err
	}
	return writeBackup(ctx, w, data, db, files)
}

// restoreCommand is `hearth restore [--data DIR] FILE` into an empty or
// missing data directory.
func restoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hearth restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("HEARTH_DATA", "./hearth-data"), "the data directory to restore into (must be empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: hearth restore [--data DIR] FILE")
	}
	if entries, err := os.ReadDir(*data); err == nil && len(entries) > 0 {
		return fmt.Errorf("data directory %s is not empty; restore only into an empty directory", *data)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	magic := make([]byte, len(backupMagic))
	version := map[string]int{backupMagic: 3, backupMagicV2: 2, backupMagicV1: 1}
	if _, err := io.ReadFull(r, magic); err != nil || version[string(magic)] == 0 {
		return fmt.Errorf("%s is not a hearth backup", fs.Arg(0))
	}
	v1 := version[string(magic)] == 1
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	for _, k := range backupKeys {
		if k.since > version[string(magic)] {
			continue
		}
		b, err := readChunk(r, 1024)
		if err != nil {
			return fmt.Errorf("backup is corrupt or truncated (%s): %w", k.name, err)
		}
		if len(b) == 0 && k.optional {
			continue
		}
		if err := writeSecretFile(filepath.Join(*data, k.name), b); err != nil {
			return err
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(filepath.Join(*data, "db"), store.Options{Logger: quiet})
	if err != nil {
		return err
	}
	var dbStream io.Reader = r
	if !v1 {
		dbStream = &chunkReader{r: r}
	}
	if err := db.Load(dbStream); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	files := 0
	if !v1 {
		mstore, err := media.Open(filepath.Join(*data, "media"), media.Config{Logger: quiet})
		if err != nil {
			return err
		}
		if files, err = restoreMedia(ctx, r, mstore); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "restored into", *data, "with", files, "media files")
	return nil
}

// restoreMedia reads the media section, checks each file against its ID
// and stores it.
func restoreMedia(ctx context.Context, r *bufio.Reader, files *media.Store) (int, error) {
	count := 0
	for {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return count, fmt.Errorf("backup is truncated (media): %w", err)
		}
		if n == 0 {
			return count, nil
		}
		if n > 64 {
			return count, errors.New("backup is corrupt (media id)")
		}
		idb := make([]byte, n)
		if _, err := io.ReadFull(r, idb); err != nil {
			return count, fmt.Errorf("backup is truncated (media): %w", err)
		}
		size, err := binary.ReadUvarint(r)
		if err != nil || size > 1<<40 {
			return count, errors.New("backup is corrupt (media size)")
		}
		id := node.MediaID(idb)
		lr := &io.LimitedReader{R: r, N: int64(size)}
		p, err := files.Write(ctx, lr, false)
		if err != nil {
			return count, fmt.Errorf("restore media %s: %w", id, err)
		}
		if lr.N != 0 || p.Info().ID != id {
			p.Discard()
			return count, fmt.Errorf("backup is corrupt: media %s does not match its bytes", id)
		}
		if err := p.Commit(); err != nil {
			return count, err
		}
		count++
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
