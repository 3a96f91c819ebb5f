// Package sqlstore implements commerce.Store on SQLite (modernc.org/sqlite,
// the embedded default) and PostgreSQL (pgx), chosen by the database URL.
//
// Queries are written once with ? placeholders and rebound to $n for
// PostgreSQL. Times are stored as microseconds since the Unix epoch (UTC) so
// both databases order and compare them the same way. Every multi-step write
// runs in one transaction; on SQLite transactions begin IMMEDIATE so two
// writers queue instead of failing to upgrade a read lock.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"

	"github.com/liveshop/liveshop/commerce"
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the SQL store. It is safe for concurrent use.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	log     *slog.Logger
	conn
}

var _ commerce.Store = (*DB)(nil)

// Options tune Open.
type Options struct {
	// MaxOpenConns caps the connection pool (default 16 for PostgreSQL, 8 for SQLite).
	MaxOpenConns int
	Logger       *slog.Logger
}

// Open connects to the database named by url and applies pending migrations.
// A postgres:// or postgresql:// URL selects PostgreSQL; anything else is a
// SQLite file path (an optional sqlite:// or file: prefix is dropped). A
// migration that fails is rolled back and Open returns its error: the server
// must not start on a half-migrated schema.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		sdb     *sql.DB
		dialect Dialect
		err     error
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		dialect = Postgres
		sdb, err = sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sdb.SetMaxOpenConns(orDefault(opts.MaxOpenConns, 16))
		sdb.SetMaxIdleConns(orDefault(opts.MaxOpenConns, 16))
		sdb.SetConnMaxIdleTime(5 * time.Minute)
	default:
		dialect = SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "file:")
		if path == "" {
			return nil, errors.New("open sqlite: empty path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		sdb, err = sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		sdb.SetMaxOpenConns(orDefault(opts.MaxOpenConns, 8))
		sdb.SetMaxIdleConns(orDefault(opts.MaxOpenConns, 8))
	}
	db := &DB{sql: sdb, dialect: dialect, log: log, conn: conn{q: sdb, dialect: dialect}}
	if err := db.Ping(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialect, err)
	}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL exposes the connection pool for tools such as the load generator's
// row-lock baseline and for tests.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var one int
	if err := db.sql.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return classify(err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs queries written with ? placeholders on either dialect.
type conn struct {
	q       querier
	dialect Dialect
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.q.ExecContext(ctx, c.rebind(query), args...)
	return res, classify(err)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := c.q.QueryContext(ctx, c.rebind(query), args...)
	return rows, classify(err)
}

// get scans one row into dest; commerce.ErrNotFound when there is none.
func (c conn) get(ctx context.Context, query string, args []any, dest ...any) error {
	err := c.q.QueryRowContext(ctx, c.rebind(query), args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return commerce.ErrNotFound
	}
	return classify(err)
}

// rebind turns ? placeholders into $1, $2, ... for PostgreSQL. Queries in
// this package never contain a literal question mark.
func (c conn) rebind(query string) string {
	if c.dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inTx runs fn in a transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx conn) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", classify(err))
	}
	if err := fn(conn{q: tx, dialect: db.dialect}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(err))
	}
	return nil
}

// classify marks errors that mean "the database is unreachable" with
// commerce.ErrUnavailable, so clients get 503 and a retry hint instead of 500.
func classify(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) || errors.Is(err, context.Canceled) {
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, context.DeadlineExceeded) && !isPgError(err):
		return fmt.Errorf("%w: %v", commerce.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P03") {
		// connection exceptions, admin shutdown, cannot connect now
		return fmt.Errorf("%w: %v", commerce.ErrUnavailable, err)
	}
	return err
}

func isPgError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr)
}

// isUniqueViolation reports whether err is a unique-constraint failure.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		// SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
		return sqliteErr.Code() == 2067 || sqliteErr.Code() == 1555
	}
	return false
}

// micros stores a time; fromMicros reads it back in UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// expectOne turns "no row changed" into commerce.ErrNotFound.
func (conn) expectOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return commerce.ErrNotFound
	}
	return nil
}
