package search

import "github.com/blevesearch/bleve/v2"

// SetFormatForTest writes another format into the index in dir, as an
// older binary would have left it.
func SetFormatForTest(dir, format string) error {
	idx, err := bleve.Open(dir)
	if err != nil {
		return err
	}
	if err := idx.SetInternal(keyFormat, []byte(format)); err != nil {
		idx.Close()
		return err
	}
	return idx.Close()
}

// SetWindowsForTest makes x look in windows of time past n hits, and
// rank by relevance among about the newest r.
func SetWindowsForTest(x *Index, n, r uint64) { x.directSort, x.relevanceHits = n, r }
