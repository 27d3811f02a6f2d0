package memstore_test

import (
	"testing"

	"github.com/hearth-chat/hearth/store/memstore"
	"github.com/hearth-chat/hearth/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return memstore.New() })
}
