package main

import (
	"context"
	"sync"
	"sync/atomic"
)

// forEach calls fn(worker, i) for every i in [0, n) on at most workers
// goroutines, numbered from 0, and returns when all calls have. It bounds
// how hard set-up and book-keeping requests hit the server.
func forEach(n, workers int, fn func(worker, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(w, i)
			}
		})
	}
	wg.Wait()
}

// parallel is forEach for work that must all succeed: the first error
// cancels the calls not yet made (and the context of those running) and is
// returned.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, worker, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first firstErr
	forEach(n, workers, func(w, i int) {
		if ctx.Err() != nil {
			return
		}
		if err := fn(ctx, w, i); err != nil {
			first.keep(err)
			cancel()
		}
	})
	if err := first.get(); err != nil {
		return err
	}
	return ctx.Err()
}

// firstErr keeps the first error any of many goroutines reports. (An
// atomic.Value panics when a later error has another concrete type.)
type firstErr struct{ p atomic.Pointer[error] }

// keep records err unless an error came first.
func (f *firstErr) keep(err error) { f.p.CompareAndSwap(nil, &err) }

// get returns the first error, or nil.
func (f *firstErr) get() error {
	if p := f.p.Load(); p != nil {
		return *p
	}
	return nil
}
