package room

import (
	"context"
	"fmt"
)

// commentWriter stores a node's comments from one goroutine, grouping the
// ones that arrive together into one transaction (with a CommentBatcher
// store): a busy room costs the database one commit per batch instead of
// one per comment, and SQLite's single writer never sees contention.
type commentWriter struct {
	store Store
	reqs  chan commentReq
	done  chan struct{}
}

type commentReq struct {
	ctx   context.Context
	c     Comment
	reply chan commentRes
}

type commentRes struct {
	c       Comment
	created bool
	err     error
}

const maxCommentBatch = 256

func newCommentWriter(store Store) *commentWriter {
	w := &commentWriter{store: store, reqs: make(chan commentReq, 4*maxCommentBatch), done: make(chan struct{})}
	go w.run()
	return w
}

// create stores c (see Store.CreateComment).
func (w *commentWriter) create(ctx context.Context, c Comment) (Comment, bool, error) {
	req := commentReq{ctx: ctx, c: c, reply: make(chan commentRes, 1)}
	select {
	case w.reqs <- req:
	case <-ctx.Done():
		return c, false, ctx.Err()
	}
	select {
	case res := <-req.reply:
		return res.c, res.created, res.err
	case <-ctx.Done():
		return c, false, ctx.Err()
	}
}

func (w *commentWriter) run() {
	defer close(w.done)
	batch := make([]commentReq, 0, maxCommentBatch)
	for req := range w.reqs {
		batch = append(batch[:0], req)
	more:
		for len(batch) < maxCommentBatch {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		w.write(batch)
		clear(batch)
	}
}

func (w *commentWriter) write(batch []commentReq) {
	if b, ok := w.store.(CommentBatcher); ok && len(batch) > 1 {
		cs := make([]Comment, len(batch))
		for i, r := range batch {
			cs[i] = r.c
		}
		stored, created, err := b.CreateComments(context.WithoutCancel(batch[0].ctx), cs)
		if err == nil && len(stored) == len(batch) && len(created) == len(batch) {
			for i, r := range batch {
				r.reply <- commentRes{stored[i], created[i], nil}
			}
			return
		}
		if err == nil {
			err = fmt.Errorf("store returned %d comments for %d", len(stored), len(batch))
		}
		for _, r := range batch {
			r.reply <- commentRes{r.c, false, err}
		}
		return
	}
	for _, r := range batch {
		c, created, err := w.store.CreateComment(r.ctx, r.c)
		r.reply <- commentRes{c, created, err}
	}
}

func (w *commentWriter) close() {
	close(w.reqs)
	<-w.done
}
