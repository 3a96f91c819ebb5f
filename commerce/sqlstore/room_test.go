package sqlstore_test

import (
	"testing"

	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/room/storetest"
)

// TestRoomStoreContract holds the rooms' SQL store to the room.Store
// contract on SQLite and PostgreSQL.
func TestRoomStoreContract(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		storetest.Run(t, db.Rooms())
	})
}
