package flash_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/testenv"

	"github.com/liveshop/liveshop/commerce/flash"
)

// BenchmarkStockReserve measures the engines alone: parallel reservations
// of one unit by 10,000 buyers in one sale that never sells out.
//
//	go test -run '^$' -bench StockReserve ./commerce
func BenchmarkStockReserve(b *testing.B) {
	engines := map[string]func(b *testing.B) flash.StockEngine{
		"memory": func(*testing.B) flash.StockEngine { return flash.NewMemoryStock() },
		"redis": func(b *testing.B) flash.StockEngine {
			e, err := flash.NewRedisStock(testenv.Redis(b), testenv.RedisPrefix(b))
			if err != nil {
				b.Fatal(err)
			}
			return e
		},
	}
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			e := engines[name](b)
			ctx := context.Background()
			if err := e.CreateSale(ctx, flash.SaleStock{SaleID: 1, Quantity: 1 << 40, PerBuyerLimit: 1 << 40,
				KeepUntil: time.Now().Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.SetParallelism(64)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := e.Reserve(ctx, 1, next.Add(1)%10_000+1, 1, time.Minute); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
		})
	}
}
