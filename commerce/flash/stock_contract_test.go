package flash_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/testenv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/flash/stocktest"
)

func TestStockEngineContract(t *testing.T) {
	engines := map[string]stocktest.Nodes{
		"memory": func(t *testing.T) func() flash.StockEngine {
			e := flash.NewMemoryStock()
			return func() flash.StockEngine { return e }
		},
		"redis": func(t *testing.T) func() flash.StockEngine {
			prefix := testenv.RedisPrefix(t)
			return func() flash.StockEngine {
				e, err := flash.NewRedisStock(testenv.Redis(t), prefix)
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
		},
		"memory, instrumented": func(t *testing.T) func() flash.StockEngine {
			e := flash.InstrumentStock(flash.NewMemoryStock(), flash.NewStockMetrics(prometheus.NewRegistry()))
			return func() flash.StockEngine { return e }
		},
	}
	for name, nodes := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stocktest.Run(t, nodes)
		})
	}
}

func TestRedisStockRefusesABracedPrefix(t *testing.T) {
	if _, err := flash.NewRedisStock(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "a{b}:"); err == nil {
		t.Fatal("a prefix with a hash tag was accepted")
	}
}

func TestRedisStockKeepsOneSaleInOneClusterSlot(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t)
	e, err := flash.NewRedisStock(rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.CreateSale(ctx, flash.SaleStock{SaleID: 42, Quantity: 5, PerBuyerLimit: 1, KeepUntil: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Reserve(ctx, 42, 1, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("sale keys = %v, want 4", keys)
	}
	for _, k := range keys {
		// Redis Cluster hashes only the first {...} of a key: equal tags
		// mean one slot.
		open := strings.IndexByte(k, '{')
		end := strings.IndexByte(k[open+1:], '}')
		if open < 0 || end <= 0 || k[open+1:open+1+end] != "sale:42" {
			t.Errorf("key %s does not start its hash tag with {sale:42}", k)
		}
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Minute {
			t.Errorf("key %s expires in %v, want within the minute given as KeepUntil", k, ttl)
		}
	}
}

func TestStockMetricsCountOutcomes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := flash.NewStockMetrics(reg)
	e := flash.InstrumentStock(flash.NewMemoryStock(), m)
	ctx := context.Background()
	if err := e.CreateSale(ctx, flash.SaleStock{SaleID: 1, Quantity: 2, PerBuyerLimit: 1}); err != nil {
		t.Fatal(err)
	}
	r1, _, _ := e.Reserve(ctx, 1, 1, 1, time.Minute)
	_, _, _ = e.Reserve(ctx, 1, 1, 1, time.Minute) // limit
	r2, _, _ := e.Reserve(ctx, 1, 2, 1, 10*time.Millisecond)
	_, _, _ = e.Reserve(ctx, 1, 3, 1, time.Minute) // sold out
	_, _, _, _ = e.Release(ctx, 1, r1.ID)
	_, _, _, _ = e.Release(ctx, 1, r1.ID) // no-op, not counted again
	testenv.Eventually(t, "the reservation to lapse", func() bool {
		got, _, _ := e.ExpireDue(ctx, 1, 10)
		return len(got) == 1 && got[0].ID == r2.ID
	})
	_, _ = e.End(ctx, 1)
	_, _, _ = e.Reserve(ctx, 1, 4, 1, time.Minute) // ended
	m.Refused("not_started")
	m.OrderCreated()
	m.Reconciled(0)
	m.Reconciled(-3)

	for name, want := range map[string]float64{
		"liveshop_flashsale_reservations_total":                    2,
		"liveshop_flashsale_reservations_expired_total":            1,
		"liveshop_flashsale_reservations_released_total":           1,
		"liveshop_flashsale_orders_total":                          1,
		"liveshop_flashsale_reconciliation_difference_units_total": 3,
		"liveshop_flashsale_reservations_refused_total":            4,
		"liveshop_flashsale_reconciliations_total":                 2,
	} {
		if got := sumMetric(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func sumMetric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
		return sum
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestRedisStockBatchesSeveralSalesApart(t *testing.T) {
	e, err := flash.NewRedisStock(testenv.Redis(t), testenv.RedisPrefix(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	units := map[int64]int64{1: 50, 2: 120, 3: 7}
	for sale, q := range units {
		if err := e.CreateSale(ctx, flash.SaleStock{SaleID: sale, Quantity: q, PerBuyerLimit: 3, KeepUntil: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int64]int64{}
	for i := range 900 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sale := int64(i%3) + 1
			r, _, err := e.Reserve(ctx, sale, int64(i%200)+1, 1, time.Minute)
			if err == nil {
				if r.SaleID != sale {
					t.Errorf("reservation of sale %d came back for sale %d", sale, r.SaleID)
				}
				mu.Lock()
				got[sale]++
				mu.Unlock()
			} else if !errors.Is(err, flash.ErrSoldOut) && !errors.Is(err, flash.ErrBuyerLimit) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for sale, q := range units {
		c, err := e.Counts(ctx, sale)
		if err != nil {
			t.Fatal(err)
		}
		if got[sale] != q || c.Reserved != q || c.Remaining != 0 {
			t.Errorf("sale %d: %d reserved by answers, counts %+v, want %d", sale, got[sale], c, q)
		}
	}
}
