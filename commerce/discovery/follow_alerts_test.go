package discovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/internal/bus/bustest"

	"github.com/redis/go-redis/v9"
)

func TestAlertBusContract(t *testing.T) {
	bustest.Run(t, bustest.Backends(
		func() bustest.Bus[discovery.Alert] { return discovery.NewMemoryAlerts() },
		func(rdb redis.UniversalClient, prefix string) (bustest.Bus[discovery.Alert], error) {
			return discovery.NewRedisAlerts(context.Background(), rdb, prefix, nil)
		}),
		func(i int) discovery.Alert {
			return discovery.Alert{StreamID: int64(i + 7), ShopID: 3, ShopHandle: "mara", ShopName: "Mara", Title: "Glaze night",
				URL: "/watch/7", At: time.Date(2026, 11, 29, 10, i, 0, 0, time.UTC)}
		})
}
