package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// TestATransactionWhoseClientLeftEndsAsCancelled: a request whose client
// hangs up during a transaction has it rolled back, and the store says the
// context ended (the API then logs no failure), not that the transaction
// "has already been committed or rolled back", which answered 500 and
// logged an error (seen at the end of load runs).
func TestATransactionWhoseClientLeftEndsAsCancelled(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		if err := db.TxWhoseClientLeaves(); !errors.Is(err, context.Canceled) {
			t.Fatalf("a transaction whose context ended: %v, want context.Canceled", err)
		}
	})
}
