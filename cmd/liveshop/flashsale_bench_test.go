package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkFlashSaleReserve measures "Buy now" over HTTP on one node with
// the memory engine: b.N reservations by 1,000 buyers on parallel
// connections, all within one sale that never sells out. The client shares
// the machine. For the load generator's view (and the SQL baseline) see
// liveshop-load sale.
//
//	go test -run '^$' -bench FlashSaleReserve -benchtime 200000x ./cmd/liveshop
func BenchmarkFlashSaleReserve(b *testing.B) {
	for _, path := range []string{"reservations", "baseline-reservations"} {
		b.Run(path, func(b *testing.B) {
			cfg := shopConfig(b) // production timings: sale cache 1s, sessions 5s
			cfg.FlashSale.SQLBaseline = true
			n := startNode(b, cfg)
			s := newSaleSetup(b, n, 1_000_000)
			fs := s.startSale(b, 1_000_000, 1_000_000, 0, 3600)
			buyers := seedBuyers(b, n.app, 1000)
			hc := raceClient(64)
			defer hc.CloseIdleConnections()
			url := fmt.Sprintf("%s/api/flash-sales/%d/%s", n.URL, fs.ID, path)
			var next, failed atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tok := buyers[next.Add(1)%int64(len(buyers))].token
					req, _ := http.NewRequest("POST", url, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := hc.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					var buf [512]byte
					for {
						if _, err := resp.Body.Read(buf[:]); err != nil {
							break
						}
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						failed.Add(1)
					}
				}
			})
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d of %d reservations failed", f, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
		})
	}
}
