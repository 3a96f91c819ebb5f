package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered files NNNN_name.sql, one directory per dialect.
// Each is applied once, together with its row in schema_migrations; all
// pending ones go in one transaction, so a failure leaves none applied.
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

// applyMigrations applies the pending migrations found in dir of fsys as
// one batch, in one transaction with their rows in schema_migrations: if
// any fails, the schema is left exactly as it was. Both databases run DDL
// inside transactions (so no migration may use PRAGMA, VACUUM or CREATE
// INDEX CONCURRENTLY).
func (db *DB) applyMigrations(ctx context.Context, fsys fs.FS, dir string) error {
	ms, err := loadMigrations(fsys, dir)
	if err != nil {
		return err
	}
	var applied []string
	err = db.inTx(ctx, func(tx conn) error {
		if db.dialect == Postgres {
			// Nodes starting together take turns; the later one finds the
			// batch applied.
			if _, err := tx.exec(ctx, "SELECT pg_advisory_xact_lock(7405112)"); err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
		}
		if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		done, err := tx.ids(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		var pending []migration
		for _, m := range ms {
			if !slices.Contains(done, int64(m.version)) {
				pending = append(pending, m)
			}
		}
		now := micros(time.Now())
		for _, m := range pending {
			if _, err := tx.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s failed, none of the %d pending migrations was applied: %w", m.name, len(pending), err)
			}
			if _, err := tx.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, now); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		db.log.Info("applied migrations", "count", len(applied), "first", applied[0], "last", applied[len(applied)-1])
	}
	return nil
}
