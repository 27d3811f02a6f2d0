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

// SetDirectSortForTest makes x look in windows of time past n hits.
func SetDirectSortForTest(x *Index, n uint64) { x.directSort = n }
