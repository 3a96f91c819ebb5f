package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"runtime"
)

// ApplyMigrations exposes applyMigrations to the external tests.
func (db *DB) ApplyMigrations(ctx context.Context, fsys fs.FS, dir string) error {
	return db.applyMigrations(ctx, fsys, dir)
}

// TxWhoseClientLeaves runs a transaction whose work succeeds, after which
// its context ends and database/sql rolls it back (as when the client hangs
// up just then), and returns what the store makes of it.
func (db *DB) TxWhoseClientLeaves() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return db.inTx(ctx, func(tx conn) error {
		cancel()
		for { // until database/sql has rolled the transaction back
			if _, err := tx.q.ExecContext(context.Background(), "SELECT 1"); errors.Is(err, sql.ErrTxDone) {
				return nil
			}
			runtime.Gosched()
		}
	})
}
