package room_test

import (
	"testing"

	"github.com/liveshop/liveshop/room"
	"github.com/liveshop/liveshop/room/storetest"
)

func TestMemoryStoreContract(t *testing.T) {
	storetest.Run(t, room.NewMemoryStore())
}
