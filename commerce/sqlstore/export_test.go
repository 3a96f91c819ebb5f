package sqlstore

import (
	"context"
	"io/fs"
)

// ApplyMigrations exposes applyMigrations to the external tests.
func (db *DB) ApplyMigrations(ctx context.Context, fsys fs.FS, dir string) error {
	return db.applyMigrations(ctx, fsys, dir)
}
