package node

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ensureMedia makes sure a readable file's bytes are here, fetching them
// from other nodes when they are not, and returns its record as it is
// then.
func (n *Node) ensureMedia(ctx context.Context, files MediaFiles, rec *MediaRecord) (*MediaRecord, error) {
	if rec.Stored && files.Has(rec.ID) {
		return rec, nil
	}
	if err := n.fetchMedia(ctx, rec.ID); err != nil {
		return nil, err
	}
	var fresh *MediaRecord
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		fresh, err = tx.MediaRecord(rec.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read media %s: %w", rec.ID, err)
	}
	return fresh, nil
}

// fetchMedia gets a file this node lacks from the nodes that should have
// it (mediaSources), checks the bytes against the ID and stores them. One
// fetch per file runs at a time, however many readers wait for it, and at
// most MediaFetches run at once; each has MediaFetchTimeout, whoever
// asked for it first giving up or not.
func (n *Node) fetchMedia(ctx context.Context, id MediaID) error {
	m := n.media
	m.mu.Lock()
	if f := m.fetching[id]; f != nil {
		m.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f := &mediaFetch{done: make(chan struct{})}
	m.fetching[id] = f
	fetcher := m.fetcher
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.fetching, id)
		m.mu.Unlock()
		close(f.done)
	}()
	f.err = n.fetchMediaOnce(ctx, fetcher, id)
	return f.err
}

func (n *Node) fetchMediaOnce(ctx context.Context, fetcher MediaFetcher, id MediaID) error {
	if fetcher == nil {
		return errorf(ErrNotFound, "the file is not stored on this node")
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.MediaFetchTimeout)
	defer cancel()
	select {
	case n.media.fetchSem <- struct{}{}:
		defer func() { <-n.media.fetchSem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	from, err := n.mediaSources(fctx, id)
	if err != nil {
		return fmt.Errorf("fetch media %s: %w", id, err)
	}
	if len(from) == 0 {
		return errorf(ErrNotFound, "no node is known to hold this file")
	}
	files := n.cfg.Media
	accept := func(r io.Reader) error {
		over := errorf(ErrTooLarge, "the file is over this node's size limit")
		cr := &capReader{r: r, left: n.cfg.MaxUpload, over: over}
		p, err := files.Write(fctx, cr, false)
		if cr.hit {
			return over
		}
		if err != nil {
			return err
		}
		info := p.Info()
		if info.ID != id {
			p.Discard()
			return errorf(ErrInvalid, "the bytes do not match the media id")
		}
		return n.storeFetched(fctx, p, info)
	}
	if err := fetcher.FetchMedia(fctx, id, from, n.cfg.MaxUpload, accept); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return errorf(ErrNotFound, "no node sent the file in time")
		}
		return fmt.Errorf("fetch media %s: %w", id, err)
	}
	return nil
}

// storeFetched moves a verified copy into the store and records what
// this node makes of it (type, size, dimensions by its own reading; the
// name as the attachment gave it).
func (n *Node) storeFetched(ctx context.Context, p PendingMedia, info Media) error {
	unlock := n.media.lockMedia(info.ID)
	defer unlock()
	if err := p.Commit(); err != nil {
		p.Discard()
		return err
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		rec, err := tx.MediaRecord(info.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		name := ""
		if rec != nil {
			name = rec.Name
		}
		rec = &MediaRecord{Media: info, Stored: true, At: n.now().UnixMilli()}
		rec.Name = name
		return tx.PutMediaRecord(rec)
	})
	if err != nil {
		return err
	}
	return n.WaitDurable(ctx)
}

// MediaFor opens a stored file for another node that may read it (see
// mediaReadableByNode); anything else is ErrNotFound, so a node learns
// nothing of files it has no right to.
func (n *Node) MediaFor(ctx context.Context, id MediaID, reader NodeID) (io.ReadCloser, int64, error) {
	files, err := n.mediaFiles()
	if err != nil {
		return nil, 0, err
	}
	notFound := errorf(ErrNotFound, "no such media")
	if !id.Valid() {
		return nil, 0, notFound
	}
	var rec *MediaRecord
	if err := n.store.View(ctx, func(tx Tx) error {
		var err error
		rec, err = tx.MediaRecord(id)
		return err
	}); err != nil || !rec.Stored {
		return nil, 0, notFound
	}
	ok, err := n.mediaReadableByNode(ctx, id, reader)
	if err != nil {
		return nil, 0, fmt.Errorf("media for %s: %w", reader, err)
	}
	if !ok {
		return nil, 0, notFound
	}
	f, err := files.Open(id)
	if err != nil {
		return nil, 0, notFound
	}
	return f, rec.Size, nil
}
