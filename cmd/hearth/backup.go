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

	"github.com/hearth-chat/hearth/store"
)

// A backup file is
//
//	"HEARTH-BACKUP 1\n"
//	uvarint length, node.key bytes
//	uvarint length, token.key bytes
//	Badger's backup stream of the database, to the end
//
// so it restores the node's identity along with its users, rooms,
// messages and sessions.
const backupMagic = "HEARTH-BACKUP 1\n"

// adminSocket is the Unix socket a running node answers local admin
// requests on (`hearth backup`). File permissions (0600 in a 0700
// directory) are its access control.
func adminSocket(data string) string { return filepath.Join(data, "admin.sock") }

// serveAdmin listens on the data directory's admin socket. A failure is
// logged, not fatal: backups then need the node stopped.
func (m *Main) serveAdmin() {
	path := adminSocket(m.Config.Data)
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
		if err := writeBackup(w, m.Config.Data, m.db); err != nil {
			m.log.Error("backup failed", "err", err)
			// The stream is cut short; the client sees no end marker
			// from Badger and reports the failure.
			panic(http.ErrAbortHandler)
		}
		m.log.Info("backup written")
	})
	m.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	m.adminLn = ln
	go func() {
		if err := m.admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("admin socket stopped", "err", err)
		}
	}()
}

func writeBackup(w io.Writer, data string, db *store.DB) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(backupMagic); err != nil {
		return err
	}
	for _, name := range []string{"node.key", "token.key"} {
		b, err := os.ReadFile(filepath.Join(data, name))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if _, err := bw.Write(binary.AppendUvarint(nil, uint64(len(b)))); err != nil {
			return err
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	if err := db.Backup(bw); err != nil {
		return err
	}
	return bw.Flush()
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
	db, err := store.Open(filepath.Join(data, "db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer db.Close()
	return writeBackup(w, data, db)
}

// restoreCommand is `hearth restore [--data DIR] FILE` into an empty or
// missing data directory.
func restoreCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
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
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != backupMagic {
		return fmt.Errorf("%s is not a hearth backup", fs.Arg(0))
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	for _, name := range []string{"node.key", "token.key"} {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > 1024 {
			return fmt.Errorf("backup is corrupt (%s)", name)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("backup is truncated (%s)", name)
		}
		if err := writeSecretFile(filepath.Join(*data, name), b); err != nil {
			return err
		}
	}
	db, err := store.Open(filepath.Join(*data, "db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	if err := db.Load(r); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "restored into", *data)
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
