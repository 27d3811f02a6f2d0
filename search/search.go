// Package search is Hearth's full-text index of messages, kept on disk
// beside the store with bleve (a scorch index). It implements
// node.SearchIndex: the node decides what is indexed and who may see a
// result; this package only matches text and filters.
//
// Why bleve: it is pure Go (the binary stays one static file with no
// outside service), it keeps its index in a directory of immutable
// segments that survives a crash, its analyzers segment text by Unicode
// word rules and index Chinese, Japanese and Korean as bigrams, and it
// runs phrase, prefix, term and numeric-range queries with sorting on
// stored doc values, which is what chat search asks of it.
package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/hearth-chat/hearth/node"
)

// Format is the version of the index's mapping and analysis. An index of
// another format is deleted and built again from the store when opened.
const Format = "3"

// Keys of the index's own records (bleve's internal storage).
var (
	keyFormat = []byte("hearth.format")
	keyBuilt  = []byte("hearth.built")
	keyMaxKey = []byte("hearth.maxkey") // the newest message's sort key, decimal
	keyMinKey = []byte("hearth.minkey") // the oldest's
)

// Field names of a document.
const (
	fText    = "text"
	fRoom    = "room"
	fSender  = "sender"
	fFile    = "file"
	fPublic  = "public"
	fKey     = "k"
	fSort    = "s"
	fBucket  = "b"
	fVersion = "v"
)

// analyzerName is the text analyzer: Unicode word segmentation, ASCII
// folding (é finds e), lower case, CJK full/half-width folding and CJK
// bigrams, and no stop words or stemming, so that every language is
// searched the same way and a phrase means its exact words.
const analyzerName = "hearth"

// Index is a message index in one directory. It is safe for concurrent
// use; the node's search worker is its only writer.
type Index struct {
	idx      bleve.Index
	analyzer analysis.Analyzer
	built    atomic.Bool
	// The highest and lowest sort keys indexed: the time span windows
	// are sized by.
	maxKey, minKey atomic.Int64
	log            *slog.Logger
	// directSort and relevanceHits are the constants but in tests,
	// which look in windows with few messages.
	directSort, relevanceHits uint64
}

var _ node.SearchIndex = (*Index)(nil)

// Open opens the index in dir, creating it when missing. An index of
// another Format, or one that cannot be opened, is removed and created
// anew; Built then reports false and the node builds it from the store.
func Open(dir string, log *slog.Logger) (*Index, error) {
	if log == nil {
		log = slog.Default()
	}
	x := &Index{log: log, directSort: directSort, relevanceHits: relevanceHits}
	if _, err := os.Stat(dir); err == nil {
		idx, err := bleve.Open(dir)
		if err == nil {
			if f, ferr := idx.GetInternal(keyFormat); ferr == nil && string(f) == Format {
				b, berr := idx.GetInternal(keyBuilt)
				if berr != nil {
					_ = idx.Close()
					return nil, fmt.Errorf("open search index: %w", berr)
				}
				x.idx = idx
				x.built.Store(string(b) == "1")
				for k, to := range map[string]*atomic.Int64{string(keyMaxKey): &x.maxKey, string(keyMinKey): &x.minKey} {
					if m, err := idx.GetInternal([]byte(k)); err == nil && m != nil {
						v, _ := strconv.ParseInt(string(m), 10, 64)
						to.Store(v)
					}
				}
				return x, x.initAnalyzer()
			}
			_ = idx.Close()
			log.Info("search index is of another format; building it again", "dir", dir)
		} else {
			log.Warn("search index cannot be opened; building it again", "dir", dir, "err", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove old search index: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open search index: %w", err)
	}
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	idx, err := bleve.New(dir, m)
	if err != nil {
		return nil, fmt.Errorf("create search index: %w", err)
	}
	if err := idx.SetInternal(keyFormat, []byte(Format)); err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("create search index: %w", err)
	}
	x.idx = idx
	return x, x.initAnalyzer()
}

func (x *Index) initAnalyzer() error {
	a := x.idx.Mapping().AnalyzerNamed(analyzerName)
	if a == nil {
		_ = x.idx.Close()
		return fmt.Errorf("open search index: analyzer %q missing", analyzerName)
	}
	x.analyzer = a
	return nil
}

// Close closes the index's files.
func (x *Index) Close() error { return x.idx.Close() }

func newMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomAnalyzer(analyzerName, map[string]any{
		"type":          custom.Name,
		"char_filters":  []string{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []string{cjk.WidthName, lowercase.Name, cjk.BigramName},
	}); err != nil {
		return nil, fmt.Errorf("search mapping: %w", err)
	}
	text := bleve.NewTextFieldMapping()
	text.Analyzer = analyzerName
	text.Store, text.IncludeInAll, text.DocValues = false, false, false
	text.IncludeTermVectors = true // positions, for phrases
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store, f.IncludeInAll, f.DocValues, f.IncludeTermVectors = false, false, false, false
		return f
	}
	file := bleve.NewBooleanFieldMapping()
	file.Store, file.IncludeInAll, file.DocValues = false, false, false
	// The sort key: ts*1000 plus the stamp's logical part (capped at 999),
	// which orders messages of one ms as their room does. It stays exact
	// in a float64 (below 2^53) until the year 2255. Ranges run on it as
	// a number; sorting reads it as a fixed-width keyword (fSort), whose
	// doc values hold one term a message where a number's hold sixteen
	// (one per precision), so a sort decompresses a tenth of the bytes.
	key := bleve.NewNumericFieldMapping()
	key.Store, key.IncludeInAll, key.DocValues = true, false, false // ranged on, returned
	sortKw := kw()
	sortKw.DocValues = true
	version := kw()
	version.Index, version.Store = false, true
	// The hour blocks a message's time falls in (bucketTerms): windows of
	// recent time are a few of these terms, where a range on the numeric
	// key expands to hundreds.
	bucket := kw()

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fText, text)
	doc.AddFieldMappingsAt(fRoom, kw())
	doc.AddFieldMappingsAt(fSender, kw())
	doc.AddFieldMappingsAt(fFile, file)
	public := bleve.NewBooleanFieldMapping()
	public.Store, public.IncludeInAll, public.DocValues = false, false, false
	doc.AddFieldMappingsAt(fPublic, public)
	doc.AddFieldMappingsAt(fKey, key)
	doc.AddFieldMappingsAt(fSort, sortKw)
	doc.AddFieldMappingsAt(fVersion, version)
	doc.AddFieldMappingsAt(fBucket, bucket)
	m.DefaultMapping = doc
	m.DefaultAnalyzer = analyzerName
	m.DefaultField = fText
	m.IndexDynamic, m.StoreDynamic, m.DocValuesDynamic = false, false, false
	return m, nil
}

// Built reports whether the index was built from the store since it was
// created.
func (x *Index) Built() bool { return x.built.Load() }

// MarkBuilt records that the build from the store has finished.
func (x *Index) MarkBuilt(ctx context.Context) error {
	if err := x.idx.SetInternal(keyBuilt, []byte("1")); err != nil {
		return fmt.Errorf("search index: mark built: %w", err)
	}
	x.built.Store(true)
	return nil
}

// Index adds or replaces docs and removes the messages remove names, in
// one batch; it returns once the batch is on disk.
func (x *Index) Index(ctx context.Context, docs []node.SearchDoc, remove []node.EventID) error {
	if len(docs) == 0 && len(remove) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b := x.idx.NewBatch()
	newest, oldest := x.maxKey.Load(), x.minKey.Load()
	for _, d := range docs {
		k := sortKey(d.TS, d.Logical)
		newest = max(newest, k)
		if oldest == 0 || k < oldest {
			oldest = max(k, 1)
		}
		if err := b.Index(string(d.ID), map[string]any{
			fText: d.Text, fRoom: string(d.Room), fSender: string(d.Sender),
			fFile: d.HasFile, fPublic: d.Public, fKey: float64(k), fSort: sortString(k), fVersion: d.Version,
			fBucket: bucketTerms(d.TS),
		}); err != nil {
			return fmt.Errorf("search index: %w", err)
		}
	}
	for _, id := range remove {
		b.Delete(string(id))
	}
	if newest != x.maxKey.Load() || oldest != x.minKey.Load() {
		b.SetInternal(keyMaxKey, strconv.AppendInt(nil, newest, 10))
		b.SetInternal(keyMinKey, strconv.AppendInt(nil, oldest, 10))
	}
	if err := x.idx.Batch(b); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	x.maxKey.Store(newest) // the worker is the only writer
	x.minKey.Store(oldest)
	return nil
}

// Count is how many messages the index holds.
func (x *Index) Count() (uint64, error) { return x.idx.DocCount() }

// Search runs q. Newest-first results sort on the message's ts and
// logical time (its order in its room), descending, and skip scoring;
// relevance sorts on bleve's score, ties newest first.
//
// Sorting on the key reads the value of every hit (a chunk of a thousand
// messages' values decompressed for each hit in another chunk), which
// for a word in thousands of messages is most of a big index. So when a
// query has more than a few hundred hits, newest-first results are
// looked for in windows of time ending at the newest message: the first
// sized to hold a few pages were the hits spread evenly over the index's
// time span, each next one wider by what the last one found, until one
// holds a page. The hits to sort are then few, whatever the word. A
// window is a handful of hour-block terms (bucketCover), not a range on
// the numeric key, which would expand to hundreds of terms; the upper
// bound (until, or the page's cursor) is applied by the sort itself
// (bleve's search-after), which reads the values it already sorts on.
//
// Relevance has to score every hit, so a query with very many is ranked
// among its newest relevanceHits or so (a window sized the same way):
// the most relevant of the recent matches, which is what a chat search
// is for, at a cost that does not grow with the history.
func (x *Index) Search(ctx context.Context, q node.IndexQuery) ([]node.SearchHit, error) {
	since, until := rangeKeys(q)
	total, err := x.estimate(ctx, q)
	if err != nil {
		return nil, err
	}
	hi := x.maxKey.Load() + 1 // no message is newer
	if until != 0 {
		hi = min(hi, until)
	}
	lo := max(since, x.minKey.Load())
	want, direct := uint64(4*q.Limit), x.directSort
	if q.Relevance {
		want, direct = x.relevanceHits, x.relevanceHits
	}
	if total <= direct || hi <= lo {
		hits, _, err := x.search(ctx, q, since, until, nil)
		return hits, err
	}
	// The window where want hits would be if hits were spread evenly;
	// at least an hour.
	w := max(int64(float64(hi-lo)*float64(want)/float64(total)), hourKey)
	for hi-w > lo {
		// The window [hi-w, hi) as the hour blocks that cover it.
		hits, matched, err := x.search(ctx, q, since, until, bucketCover((hi-w)/hourKey, (hi-1)/hourKey))
		if err != nil || len(hits) >= q.Limit {
			return hits, err
		}
		w *= growth(want, matched)
	}
	hits, _, err := x.search(ctx, q, since, until, nil)
	return hits, err
}

// growth is how much wider the next window is than one in which matched
// of the want hits sought were found: as much wider as the hits were
// fewer (a phrase or a filter matches far fewer than the estimate of its
// rarest word), at least eight and at most 512 times.
func growth(want, matched uint64) int64 {
	return int64(min(max(want/(matched+1), 8), 512))
}

// Tuning: directSort is the most hits sorted at once (below it a window
// costs more than it saves); relevanceHits is about how many of the
// newest matches relevance ranks.
const (
	directSort    = 200
	relevanceHits = 5000
)

// sortKey is a message's place in newest-first order (fKey).
func sortKey(ts int64, logical uint32) int64 {
	return max(ts, 0)*1000 + int64(min(logical, 999))
}

// sortString is a sort key as a keyword that sorts as the number does.
func sortString(k int64) string { return fmt.Sprintf("%019d", k) }

// rangeKeys are q's bounds as sort keys, since <= key < until (0: open):
// Since and Until, and Before's key, inclusive, as the upper bound (the
// hits that share it are told apart by ID).
func rangeKeys(q node.IndexQuery) (since, until int64) {
	if q.Since > 0 {
		since = sortKey(q.Since, 0)
	}
	if q.Until > 0 {
		until = sortKey(q.Until, 0)
	}
	if b := q.Before; b != nil {
		k := sortKey(b.TS, b.Logical) + 1
		if until == 0 || k < until {
			until = k
		}
	}
	return since, until
}

// Hour blocks. A message is indexed under the block of 8^l hours its time
// falls in, for each level l below bucketLevels (the top blocks span 30
// years), so any span of hours is the union of at most 7 blocks of each
// level at either end.
const (
	bucketLevels = 7
	hourMs       = 60 * 60 * 1000
	hourKey      = hourMs * 1000 // an hour in sort-key units
)

// bucketTerms are the block terms of a message sent at ts (ms).
func bucketTerms(ts int64) []string {
	h := max(ts, 0) / hourMs
	out := make([]string, bucketLevels)
	for l := range bucketLevels {
		out[l] = bucketTerm(l, h>>(3*l))
	}
	return out
}

func bucketTerm(level int, block int64) string {
	return strconv.Itoa(level) + ":" + strconv.FormatInt(block, 36)
}

// bucketCover is the fewest blocks whose union is hours a to b,
// inclusive: from a, each step takes the largest block that starts there
// and ends by b.
func bucketCover(a, b int64) []string {
	var out []string
	for a <= b {
		l := 0
		for l+1 < bucketLevels {
			size := int64(1) << (3 * (l + 1))
			if a%size != 0 || a+size-1 > b {
				break
			}
			l++
		}
		out = append(out, bucketTerm(l, a>>(3*l)))
		a += int64(1) << (3 * l)
	}
	return out
}

// estimate bounds how many messages q matches without running it: the
// fewest messages that hold one of its words or prefixes (a prefix counts
// the messages of each word it expands to), or its sender, or its room
// when it is one room (each is a term whose count the index keeps). A
// query of filters only counts as matching everything.
func (x *Index) estimate(ctx context.Context, q node.IndexQuery) (uint64, error) {
	ix, err := x.idx.Advanced()
	if err != nil {
		return 0, fmt.Errorf("search index: %w", err)
	}
	r, err := ix.Reader()
	if err != nil {
		return 0, fmt.Errorf("search index: %w", err)
	}
	defer r.Close()
	total, err := r.DocCount()
	if err != nil {
		return 0, fmt.Errorf("search index: %w", err)
	}
	df := func(field string, term []byte) error {
		tr, err := r.TermFieldReader(ctx, term, field, false, false, false)
		if err != nil {
			return fmt.Errorf("search index: %w", err)
		}
		total = min(total, tr.Count())
		return tr.Close()
	}
	for _, t := range q.Terms {
		if t.Not {
			continue
		}
		toks := x.analyzer.Analyze([]byte(t.Text))
		if t.Prefix && len(toks) == 1 {
			n, err := prefixCount(r, toks[0].Term, total)
			if err != nil {
				return 0, err
			}
			total = min(total, n)
			continue
		}
		for _, tok := range toks {
			if err := df(fText, tok.Term); err != nil {
				return 0, err
			}
		}
	}
	if q.Sender != "" {
		if err := df(fSender, []byte(q.Sender)); err != nil {
			return 0, err
		}
	}
	if !q.Public && len(q.Rooms) == 1 {
		if err := df(fRoom, []byte(q.Rooms[0])); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// prefixCount adds up how many messages hold each word that starts with
// prefix, stopping once the sum reaches upTo (a word's messages may
// overlap another's, so the sum is an upper bound).
func prefixCount(r index.IndexReader, prefix []byte, upTo uint64) (uint64, error) {
	d, err := r.FieldDictPrefix(fText, prefix)
	if err != nil {
		return 0, fmt.Errorf("search index: %w", err)
	}
	defer d.Close()
	var n uint64
	for n < upTo {
		e, err := d.Next()
		if err != nil {
			return 0, fmt.Errorf("search index: %w", err)
		}
		if e == nil {
			break
		}
		n += e.Count
	}
	return n, nil
}

// search runs q over the messages with since <= key < until (0: open)
// and, when window is set, in those hour blocks. It returns the hits and
// how many messages matched before the upper bound and paging were
// applied (what a window found).
func (x *Index) search(ctx context.Context, q node.IndexQuery, since, until int64, window []string) ([]node.SearchHit, uint64, error) {
	bq, ok := x.query(q, since, until, window)
	if !ok {
		return nil, 0, nil
	}
	// Messages at the cursor's very ms sort before or after it by order, which
	// a range on ts cannot say: ask for a few more and drop those at or
	// after the cursor, and for more again in the rare case that many
	// share that ms.
	size, slack := q.Limit, 0
	if q.Before != nil {
		slack = 16
	}
	for {
		req := bleve.NewSearchRequestOptions(bq, size+slack, q.Skip, false)
		req.Fields = []string{fKey, fVersion}
		if q.Relevance {
			// Equal scores are ordered newest first, so that pages taken
			// with skip neither repeat nor miss a hit (bleve leaves ties
			// in whatever order its segments give them).
			req.SortBy([]string{"-_score", "-" + fSort})
		} else {
			req.Score = bleve.ScoreNone
			req.SortBy([]string{"-" + fSort})
			if until != 0 {
				req.SearchAfter = []string{sortString(until)} // key < until
			}
		}
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, 0, fmt.Errorf("search index: %w", err)
		}
		hits := make([]node.SearchHit, 0, len(res.Hits))
		for _, h := range res.Hits {
			hit := node.SearchHit{ID: node.EventID(h.ID)}
			if v, ok := h.Fields[fKey].(float64); ok {
				hit.TS, hit.Logical = int64(v)/1000, uint32(int64(v)%1000)
			}
			if v, ok := h.Fields[fVersion].(string); ok {
				hit.Version = v
			}
			// Messages with the cursor's key are left out but for one
			// with a lower ID: the rare tie (two nodes' messages of one ms
			// and logical time) pages by ID.
			if b := q.Before; b != nil && sortKey(hit.TS, hit.Logical) == sortKey(b.TS, b.Logical) && hit.ID >= b.ID {
				continue
			}
			hits = append(hits, hit)
		}
		if len(hits) >= q.Limit || len(res.Hits) < size+slack {
			return hits[:min(len(hits), q.Limit)], res.Total, nil
		}
		slack *= 4
	}
}

// query builds q's bleve query for since <= key < until (0: open) in
// the hour blocks of window (all when empty); ok is false when nothing
// can match (a term that analyses to no words at all, like
// "?!"). Only the text terms are scored: who may see what, the filters
// and the window match without adding to a relevance score, so a
// message does not rank higher for being in a quiet room or hour.
func (x *Index) query(q node.IndexQuery, since, until int64, window []string) (query.Query, bool) {
	var must, mustNot []query.Query
	for _, t := range q.Terms {
		c, ok := x.termQuery(t)
		if !ok {
			if t.Not {
				continue // excluding nothing
			}
			return nil, false
		}
		if t.Not {
			mustNot = append(mustNot, c)
		} else {
			must = append(must, c)
		}
	}
	var where []query.Query
	if q.Public {
		p := query.NewBoolFieldQuery(true)
		p.SetField(fPublic)
		where = append(where, p)
	}
	for _, r := range q.Rooms {
		where = append(where, fieldTerm(fRoom, string(r)))
	}
	switch len(where) {
	case 0:
		return nil, false
	case 1:
		must = append(must, unscored{where[0]})
	default:
		must = append(must, unscored{query.NewDisjunctionQuery(where)})
	}
	if len(q.NotRooms) > 0 {
		mustNot = append(mustNot, termsQuery(fRoom, q.NotRooms))
	}
	if q.Sender != "" {
		must = append(must, unscored{fieldTerm(fSender, string(q.Sender))})
	}
	if q.HasFile {
		f := query.NewBoolFieldQuery(true)
		f.SetField(fFile)
		must = append(must, unscored{f})
	}
	if len(window) > 0 {
		must = append(must, unscored{termsQuery(fBucket, window)})
	}
	if !q.Relevance {
		until = 0 // newest first, the sort's own search-after bounds it (search)
	}
	if since != 0 || until != 0 {
		var lo, hi *float64
		if since != 0 {
			lo = ptr(float64(since))
		}
		if until != 0 {
			hi = ptr(float64(until))
		}
		r := query.NewNumericRangeInclusiveQuery(lo, hi, ptr(true), ptr(false))
		r.SetField(fKey)
		must = append(must, unscored{r})
	}
	if len(must) == 0 {
		must = append(must, query.NewMatchAllQuery())
	}
	if len(mustNot) == 0 {
		if len(must) == 1 {
			return must[0], true
		}
		return query.NewConjunctionQuery(must), true
	}
	return query.NewBooleanQuery(must, nil, mustNot), true
}

// unscored matches what its query matches and scores nothing: a filter
// inside a scored query. Built without scoring, a disjunction of terms
// is also one bitmap union rather than a heap of term cursors.
type unscored struct{ query.Query }

func (u unscored) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, o search.SearcherOptions) (search.Searcher, error) {
	o.Score, o.Explain, o.IncludeTermVectors = bleve.ScoreNone, false, false
	return u.Query.Searcher(ctx, i, m, o)
}

// termQuery is one word, phrase or prefix on the text field. A word the
// analyzer splits (e-mail, or a run of CJK characters, which becomes
// bigrams) is searched as the phrase of its parts.
func (x *Index) termQuery(t node.SearchTerm) (query.Query, bool) {
	if t.Prefix {
		// Prefixes are matched against indexed words as they are, so
		// they go through the same folding and case.
		toks := x.analyzer.Analyze([]byte(t.Text))
		if len(toks) != 1 {
			return x.termQuery(node.SearchTerm{Text: t.Text, Phrase: true})
		}
		p := query.NewPrefixQuery(string(toks[0].Term))
		p.SetField(fText)
		return p, true
	}
	toks := x.analyzer.Analyze([]byte(t.Text))
	switch len(toks) {
	case 0:
		return nil, false
	case 1:
		return fieldTerm(fText, string(toks[0].Term)), true
	}
	p := query.NewMatchPhraseQuery(t.Text)
	p.SetField(fText)
	p.Analyzer = analyzerName
	return p, true
}

func fieldTerm(field, term string) *query.TermQuery {
	q := query.NewTermQuery(term)
	q.SetField(field)
	return q
}

func termsQuery[T ~string](field string, vals []T) query.Query {
	if len(vals) == 1 {
		return fieldTerm(field, string(vals[0]))
	}
	qs := make([]query.Query, len(vals))
	for i, v := range vals {
		qs[i] = fieldTerm(field, string(v))
	}
	return query.NewDisjunctionQuery(qs)
}

func ptr[T any](v T) *T { return &v }
