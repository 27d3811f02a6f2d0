package node

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// mediaGCBatch is how many records one read transaction of the collector
// visits.
const mediaGCBatch = 256

// collectable reports whether a file has no reason to be kept: no
// message attaches it, no user or room has it as avatar, and its uploads and its
// record are older than the grace period (which covers the time between
// an upload and the message that attaches it).
func collectable(rec *MediaRecord, refs []*MediaRef, cutoff int64) bool {
	if rec.At > cutoff {
		return false
	}
	for _, r := range refs {
		if r.Kind != RefUpload || r.At > cutoff {
			return false
		}
	}
	return true
}

// CollectMedia deletes the files and records that nothing refers to
// after the grace period, and stored files that have no record (left by
// a crash between a file's rename and its record, or restored without
// one) once they are older than the grace period. It returns how many
// files it removed.
func (n *Node) CollectMedia(ctx context.Context) (int, error) {
	files, err := n.mediaFiles()
	if err != nil {
		return 0, err
	}
	now := n.now()
	cutoff := now.Add(-n.cfg.MediaGrace).UnixMilli()
	removed := 0
	var after MediaID
	for {
		var cands []MediaID
		err := n.store.View(ctx, func(tx Tx) error {
			return tx.EachMediaRecord(after, func(rec *MediaRecord) bool {
				after = rec.ID
				if rec.At <= cutoff {
					cands = append(cands, rec.ID)
				}
				return len(cands) < mediaGCBatch
			})
		})
		if err != nil {
			return removed, fmt.Errorf("collect media: %w", err)
		}
		if len(cands) == 0 {
			break
		}
		for _, id := range cands {
			gone, err := n.collectOne(ctx, files, id, cutoff)
			if err != nil {
				return removed, err
			}
			if gone {
				removed++
			}
		}
		if len(cands) < mediaGCBatch {
			break
		}
	}
	var orphans []MediaID
	err = files.Each(func(id MediaID, modified time.Time) bool {
		if modified.UnixMilli() <= cutoff {
			orphans = append(orphans, id)
		}
		return true
	})
	if err != nil {
		return removed, fmt.Errorf("collect media: %w", err)
	}
	for _, id := range orphans {
		unlock := n.media.lockMedia(id)
		var known bool
		err := n.store.View(ctx, func(tx Tx) error {
			_, err := tx.MediaRecord(id)
			known = err == nil
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		})
		if err == nil && !known {
			if err = files.Remove(id); err == nil {
				removed++
			}
		}
		unlock()
		if err != nil {
			return removed, fmt.Errorf("collect media: %w", err)
		}
	}
	return removed, nil
}

// collectOne deletes one file and its record if it is still collectable
// under its lock (a new upload or message may have referred to it since
// the scan).
func (n *Node) collectOne(ctx context.Context, files MediaFiles, id MediaID, cutoff int64) (bool, error) {
	unlock := n.media.lockMedia(id)
	defer unlock()
	gone := false
	err := n.store.Update(ctx, func(tx Tx) error {
		rec, err := tx.MediaRecord(id)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		var refs []*MediaRef
		if err := tx.EachMediaRef(id, func(r *MediaRef) bool {
			refs = append(refs, r)
			return true
		}); err != nil {
			return err
		}
		if !collectable(rec, refs, cutoff) {
			return nil
		}
		for _, r := range refs {
			if err := tx.DeleteMediaRef(id, r.Kind, r.Target); err != nil {
				return err
			}
		}
		gone = true
		return tx.DeleteMediaRecord(id)
	})
	if err != nil || !gone {
		return false, err
	}
	// The record goes first: a crash before the file is removed leaves an
	// orphan for the next pass, never a record without its file.
	if err := files.Remove(id); err != nil {
		return false, fmt.Errorf("remove media %s: %w", id, err)
	}
	return true, nil
}

// collectMediaLoop runs the collector every MediaGCInterval until the
// node closes.
func (n *Node) collectMediaLoop() {
	defer close(n.media.done)
	t := time.NewTicker(n.cfg.MediaGCInterval)
	defer t.Stop()
	// Closing the node cuts a pass short.
	life, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		<-n.media.stop
		stop()
	}()
	for {
		select {
		case <-n.media.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(life, n.cfg.MediaGCInterval)
			removed, err := n.CollectMedia(ctx)
			cancel()
			if err != nil && life.Err() == nil {
				n.log.Warn("media collection", "err", err)
			} else if removed > 0 {
				n.log.Info("media collected", "files", removed)
			}
		}
	}
}
