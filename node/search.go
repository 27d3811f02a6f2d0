package node

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search limits (docs/api.md, Search).
const (
	// MaxSearchQuery bounds q, in bytes, and MaxSearchTerms the words,
	// phrases and prefixes in it: each is a clause the index evaluates.
	MaxSearchQuery = 256
	MaxSearchTerms = 16
	// MinSearchPrefix is the shortest prefix (in characters, before the
	// *) that is searched: a one-letter prefix expands to most of the
	// index's vocabulary.
	MinSearchPrefix = 3
	// DefaultSearchLimit and MaxSearchLimit bound a page of results.
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
	// MaxSearchSkip bounds how deep relevance-ordered results page.
	MaxSearchSkip = 1000
)

// SearchIndex is the full-text index of messages that the node keeps
// beside its store; package search implements it with bleve. The node
// decides what goes in (never an encrypted room's messages) and who may
// see what comes out: the index only matches text and filters.
type SearchIndex interface {
	// Index adds or replaces docs (by ID) and removes the messages
	// remove names; it returns once the change is on disk.
	Index(ctx context.Context, docs []SearchDoc, remove []EventID) error
	// Search returns up to q.Limit hits, in the order q asks for.
	Search(ctx context.Context, q IndexQuery) ([]SearchHit, error)
	// Built reports whether the index holds every message (it was built
	// from the store after it was created); MarkBuilt records that a
	// build from the store has finished.
	Built() bool
	MarkBuilt(ctx context.Context) error
}

// SearchTx is the search index's work queue in the store: one entry per
// change of a message (new, edited, deleted, judged again), written in the
// change's own transaction, and deleted once the index has taken it. Seq
// grows with each entry.
type SearchTx interface {
	PutSearchWork(seq uint64, id EventID) error
	DeleteSearchWork(seq uint64) error
	// EachSearchWork visits entries from seq from on, in seq order, until
	// fn returns false.
	EachSearchWork(from uint64, fn func(seq uint64, id EventID) bool) error
	// LastSearchWork returns the highest seq queued, 0 when none is.
	LastSearchWork() (uint64, error)
}

// SearchDoc is what the index keeps of one message.
type SearchDoc struct {
	ID     EventID
	Room   RoomID
	Sender UserID
	// Text is the body and the attachments' file names.
	Text    string
	HasFile bool
	// Public is set for a message of a public room (visibility is fixed
	// when a room is created), which every user of the node may read.
	Public bool
	TS     int64
	// Logical is the logical part of the message's stamp, which orders
	// messages of one ms in room order (see MakeOrderKey).
	Logical uint32
	// Version names the message's text (its last edit), so that a hit
	// from before an edit reached the index is told apart.
	Version string
}

// SearchTerm is one clause of a query: a word, a "phrase", a prefix* or,
// with Not, one that must not match.
type SearchTerm struct {
	Text   string
	Phrase bool
	Prefix bool
	Not    bool
}

// IndexQuery is a query as the index runs it: terms and filters that the
// node has already checked and authorised.
type IndexQuery struct {
	Terms []SearchTerm
	// What may be searched: public rooms' messages when Public is set,
	// and those of Rooms, less those of NotRooms.
	Public   bool
	Rooms    []RoomID
	NotRooms []RoomID
	Sender   UserID
	HasFile  bool
	// Since and Until bound the message's ts (ms): Since <= ts < Until;
	// zero leaves a bound open.
	Since, Until int64
	// Before pages newest-first results: only messages older than this
	// one (by ts, then Logical, then ID) are returned.
	Before *SearchHit
	// Relevance orders by score (then newest first) instead of newest
	// first; Skip then pages.
	Relevance bool
	Skip      int
	Limit     int
}

// SearchHit is a message the index matched.
type SearchHit struct {
	ID      EventID
	TS      int64
	Logical uint32
	Version string
}

// SearchParams is a user's search (GET /api/v1/search).
type SearchParams struct {
	// Text is the query: words (all must match), "phrases", prefix* and
	// -excluded words (ParseSearch).
	Text    string
	Room    RoomID
	Sender  UserID
	HasFile bool
	// Since and Until bound ts in ms (Since <= ts < Until); 0 is open.
	Since, Until int64
	// Before is the last message of the previous page (newest first).
	Before    EventID
	Relevance bool
	Skip      int
	Limit     int
}

// ParseSearch splits a query into terms: words, "quoted phrases",
// prefix* and -excluded words or phrases. It refuses what it cannot run
// well rather than guessing: too many terms, a prefix too short to be
// worth expanding, only exclusions.
func ParseSearch(q string) ([]SearchTerm, error) {
	if len(q) > MaxSearchQuery {
		return nil, errorf(ErrInvalid, fmt.Sprintf("the query is over %d bytes", MaxSearchQuery))
	}
	if !utf8.ValidString(q) || strings.IndexByte(q, 0) >= 0 {
		return nil, errorf(ErrInvalid, "the query is not valid UTF-8 text")
	}
	var terms []SearchTerm
	rest := strings.TrimSpace(q)
	for rest != "" {
		var t SearchTerm
		if rest[0] == '-' && len(rest) > 1 && !unicode.IsSpace(rune(rest[1])) {
			t.Not, rest = true, rest[1:]
		}
		if rest[0] == '"' {
			// A phrase runs to the closing quote, or to the end when
			// there is none.
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				t.Text, rest = rest[1:], ""
			} else {
				t.Text, rest = rest[1:1+end], rest[2+end:]
			}
			t.Phrase = true
		} else {
			end := strings.IndexFunc(rest, unicode.IsSpace)
			if end < 0 {
				end = len(rest)
			}
			t.Text, rest = rest[:end], rest[end:]
			if strings.HasSuffix(t.Text, "*") {
				t.Text, t.Prefix = strings.TrimRight(t.Text, "*"), true
				if utf8.RuneCountInString(t.Text) < MinSearchPrefix {
					return nil, errorf(ErrInvalid, fmt.Sprintf("a prefix needs at least %d characters before the *", MinSearchPrefix))
				}
			}
		}
		rest = strings.TrimSpace(rest)
		t.Text = strings.TrimSpace(t.Text)
		if t.Text == "" {
			continue
		}
		terms = append(terms, t)
		if len(terms) > MaxSearchTerms {
			return nil, errorf(ErrInvalid, fmt.Sprintf("the query has over %d words", MaxSearchTerms))
		}
	}
	positive := false
	for _, t := range terms {
		positive = positive || !t.Not
	}
	if len(terms) > 0 && !positive {
		return nil, errorf(ErrInvalid, "the query has only excluded words")
	}
	return terms, nil
}

// Search finds messages matching p in the rooms u may read now, newest
// first (or most relevant first), and says whether more match. Private
// rooms are searched only by their members, public rooms as their history
// may be read; encrypted rooms are never searched here (their text never
// reaches the node). A hit whose message changed since it was indexed is
// left out until the index has taken the change, so an edited message is
// found only by its current text and a deleted one not at all.
func (n *Node) Search(ctx context.Context, u UserID, p SearchParams) ([]*Message, bool, error) {
	if n.search == nil {
		return nil, false, errorf(ErrUnavailable, "search is off on this node")
	}
	q, err := n.searchQuery(p)
	if err != nil {
		return nil, false, err
	}
	release, err := n.search.slot(u)
	if err != nil {
		return nil, false, err
	}
	defer release()
	allowed, err := n.searchRooms(u, p.Room, &q)
	if err != nil {
		return nil, false, err
	}
	if len(allowed) == 0 {
		return []*Message{}, false, nil
	}
	if p.Before != "" {
		b, err := n.searchCursor(ctx, u, p.Before, allowed)
		if err != nil {
			return nil, false, err
		}
		q.Before = b
	}
	limit := q.Limit
	q.Limit++ // one more says whether there are more
	hits, err := n.search.idx.Search(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	more := len(hits) > limit
	if more {
		hits = hits[:limit]
	}
	msgs, err := n.searchResults(ctx, u, hits, allowed)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	return msgs, more, nil
}

// searchQuery checks p's text and filters and fills in the defaults.
func (n *Node) searchQuery(p SearchParams) (IndexQuery, error) {
	terms, err := ParseSearch(p.Text)
	if err != nil {
		return IndexQuery{}, err
	}
	switch {
	case p.Limit == 0:
		p.Limit = DefaultSearchLimit
	case p.Limit < 1 || p.Limit > MaxSearchLimit:
		return IndexQuery{}, errorf(ErrInvalid, fmt.Sprintf("limit must be 1 to %d", MaxSearchLimit))
	}
	if p.Skip < 0 || p.Skip > MaxSearchSkip {
		return IndexQuery{}, errorf(ErrInvalid, fmt.Sprintf("skip must be 0 to %d", MaxSearchSkip))
	}
	if p.Skip > 0 && !p.Relevance {
		return IndexQuery{}, errorf(ErrInvalid, "skip pages relevance order only; newest first pages with before")
	}
	if p.Before != "" && p.Relevance {
		return IndexQuery{}, errorf(ErrInvalid, "before pages newest first only; relevance order pages with skip")
	}
	if p.Sender != "" {
		if _, _, ok := p.Sender.Split(); !ok || len(p.Sender) > 2*MaxIDLen {
			return IndexQuery{}, errorf(ErrInvalid, "sender must be a user ID")
		}
	}
	if p.Since < 0 || p.Until < 0 || (p.Until != 0 && p.Until <= p.Since) {
		return IndexQuery{}, errorf(ErrInvalid, "since and until must be times in ms with since before until")
	}
	if len(terms) == 0 && p.Sender == "" && !p.HasFile && p.Since == 0 && p.Until == 0 {
		return IndexQuery{}, errorf(ErrInvalid, "q is required (or a sender, file or date filter)")
	}
	return IndexQuery{
		Terms: terms, Sender: p.Sender, HasFile: p.HasFile, Since: p.Since, Until: p.Until,
		Relevance: p.Relevance, Skip: p.Skip, Limit: p.Limit,
	}, nil
}

// searchRooms returns the rooms u may search and says which to q: one
// room when room is set, checked as a history read is; otherwise every
// room u may read now (readableRoom's rule), less the encrypted ones.
// To the index that is "public rooms, the private rooms u is a member of,
// less the public rooms that became encrypted", which is short whatever
// the number of rooms the node holds.
func (n *Node) searchRooms(u UserID, room RoomID, q *IndexQuery) (map[RoomID]struct{}, error) {
	allowed := map[RoomID]struct{}{}
	if room != "" {
		r, err := n.readableRoom(u, room)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		if !r.state.Encrypted {
			allowed[room] = struct{}{}
			q.Rooms = []RoomID{room}
		}
		r.mu.Unlock()
		return allowed, nil
	}
	q.Public = true
	n.mu.RLock()
	entries := make([]*roomEntry, 0, len(n.rooms))
	for _, r := range n.rooms {
		entries = append(entries, r)
	}
	n.mu.RUnlock()
	for _, r := range entries {
		r.mu.Lock()
		s := r.state
		id, created, public, enc := s.ID, s.Created(), s.Visibility == Public, s.Encrypted
		member := !public && created && !enc && s.IsMember(u)
		r.mu.Unlock()
		switch {
		case public && enc:
			q.NotRooms = append(q.NotRooms, id)
		case public && created:
			allowed[id] = struct{}{}
		case member:
			allowed[id] = struct{}{}
			q.Rooms = append(q.Rooms, id)
		}
	}
	return allowed, nil
}

// searchCursor finds the message a page continues after; it must be one
// u may search.
func (n *Node) searchCursor(ctx context.Context, u UserID, before EventID, allowed map[RoomID]struct{}) (*SearchHit, error) {
	bad := errorf(ErrInvalid, "before names no message found by this search")
	if !ValidOpaqueID(string(before)) {
		return nil, bad
	}
	var m *Message
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		m, err = tx.Message(before)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, bad
	} else if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if _, ok := allowed[m.Room]; !ok {
		return nil, bad
	}
	return &SearchHit{ID: m.ID, TS: m.TS, Logical: logicalOf(m.Order)}, nil
}

// searchResults reads the messages of hits as history shows them, leaving
// out any that the index has not caught up with (deleted, edited since,
// moved out of what u may read), and keeping the hits' order.
func (n *Node) searchResults(ctx context.Context, u UserID, hits []SearchHit, allowed map[RoomID]struct{}) ([]*Message, error) {
	msgs := make([]*Message, 0, len(hits))
	err := n.store.View(ctx, func(tx Tx) error {
		for _, h := range hits {
			m, err := tx.Message(h.ID)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if _, ok := allowed[m.Room]; !ok || m.Deleted || m.Encrypted != nil || searchVersion(m) != h.Version {
				continue
			}
			msgs = append(msgs, m)
		}
		return markMine(tx, msgs, u)
	})
	return msgs, err
}

// logicalOf reads the logical part of an order key's stamp.
func logicalOf(o OrderKey) uint32 {
	if len(o) < 12 {
		return 0
	}
	return binary.BigEndian.Uint32(o[8:12])
}

// searchVersion names a message's current text: its last edit's position.
func searchVersion(m *Message) string { return hex.EncodeToString(m.EditOrder) }

// searchDoc is what the index keeps of m, a message of a public room or
// not, or nil when m must not be in it (deleted, or end-to-end
// encrypted).
func searchDoc(m *Message, public bool) *SearchDoc {
	if m.Deleted || m.Encrypted != nil {
		return nil
	}
	text := m.Body
	for _, a := range m.Attachments {
		var f struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(a, &f) == nil && f.Name != "" && len(f.Name) <= 1024 {
			text += "\n" + f.Name
		}
	}
	return &SearchDoc{
		ID: m.ID, Room: m.Room, Sender: m.Sender, Text: text, HasFile: len(m.Attachments) > 0,
		Public: public, TS: m.TS, Logical: logicalOf(m.Order), Version: searchVersion(m),
	}
}
