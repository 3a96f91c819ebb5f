package commerce_test

import (
	"context"
	"github.com/liveshop/liveshop/commerce/internal/bus/bustest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/commerce"
)

func TestAlertBusContract(t *testing.T) {
	bustest.Run(t, bustest.Backends(
		func() bustest.Bus[commerce.Alert] { return commerce.NewMemoryAlerts() },
		func(rdb redis.UniversalClient, prefix string) (bustest.Bus[commerce.Alert], error) {
			return commerce.NewRedisAlerts(context.Background(), rdb, prefix, nil)
		}),
		func(i int) commerce.Alert {
			return commerce.Alert{StreamID: int64(i + 7), ShopID: 3, ShopHandle: "mara", ShopName: "Mara", Title: "Glaze night",
				URL: "/watch/7", At: time.Date(2026, 11, 29, 10, i, 0, 0, time.UTC)}
		})
}
