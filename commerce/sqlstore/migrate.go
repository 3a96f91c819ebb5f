package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered files NNNN_name.sql, one directory per dialect.
// Each is applied once, in its own transaction, together with its row in
// schema_migrations; a failure rolls that migration back and stops.
//
//go:embed migrations
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func (db *DB) migrate(ctx context.Context) error {
	return db.applyMigrations(ctx, migrations, path.Join("migrations", string(db.dialect)))
}

// applyMigrations applies the migrations found in dir of fsys.
func (db *DB) applyMigrations(ctx context.Context, fsys fs.FS, dir string) error {
	ms, err := loadMigrations(fsys, dir)
	if err != nil {
		return err
	}
	if _, err := db.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := db.inTx(ctx, func(tx conn) error {
			if db.dialect == Postgres {
				// Nodes starting together take turns; the loser sees the row.
				if _, err := tx.exec(ctx, "SELECT pg_advisory_xact_lock(7405112)"); err != nil {
					return err
				}
			}
			var n int
			if err := tx.get(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", []any{m.version}, &n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, micros(time.Now()))
			if err == nil {
				db.log.Info("applied migration", "name", m.name)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s failed, nothing of it was applied: %w", m.name, err)
		}
	}
	return nil
}
