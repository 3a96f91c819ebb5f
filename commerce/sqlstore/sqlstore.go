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
	"sync"
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
	// writer serialises SQLite write transactions inside the process.
	// SQLite admits one writer at a time; without this, waiting writers
	// poll the lock through SQLite's busy handler, which sleeps for growing
	// intervals and wastes most of the time under contention.
	writer sync.Mutex
	stmts  *stmtCache // nil on PostgreSQL
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
// SQLite file path (an optional sqlite:// or file: prefix is dropped). The
// pending migrations apply in one transaction: if one fails, none of them is
// applied and Open returns an error naming it, so the server never starts on
// a half-migrated schema.
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
	db := &DB{sql: sdb, dialect: dialect, log: log}
	if dialect == SQLite {
		// pgx caches prepared statements itself; modernc's driver parses
		// every query anew, which costs more than running most of them.
		db.stmts = &stmtCache{db: sdb, m: map[string]*sql.Stmt{}, preparing: map[string]bool{}}
	}
	db.conn = conn{q: sdb, dialect: dialect, stmts: db.stmts}
	if dialect == SQLite {
		db.conn.writer = &db.writer
	}
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
func (db *DB) Close() error {
	db.stmts.close()
	return db.sql.Close()
}

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
	stmts   *stmtCache
	// writer, on SQLite outside a transaction, is DB.writer: a lone write
	// statement waits for it like a write transaction does. Without it, a
	// statement that read the database before taking the write lock can
	// find another writer committed meanwhile and fail at once with
	// SQLITE_BUSY, which the busy timeout does not cover (an idempotency
	// key claimed during a burst of flash-sale payments answered 500).
	writer *sync.Mutex
}

// writing holds the SQLite writer lock, when c has one, for a write
// statement; it returns what releases it.
func (c conn) writing(query string) (done func()) {
	if c.writer == nil || !isWrite(query) {
		return func() {}
	}
	c.writer.Lock()
	return c.writer.Unlock
}

// isWrite reports whether a statement writes.
func isWrite(query string) bool {
	verb, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	switch strings.ToUpper(verb) {
	case "INSERT", "UPDATE", "DELETE", "REPLACE":
		return true
	}
	return false
}

// on returns what runs query: a cached prepared statement (bound to the
// transaction when c is one) or, for queries without arguments (such as
// migration scripts, which may hold several statements), c itself.
func (c conn) on(ctx context.Context, query string, args []any) querier {
	if c.stmts == nil || len(args) == 0 {
		return c.q
	}
	tx, inTx := c.q.(*sql.Tx)
	st := c.stmts.get(ctx, query, inTx)
	switch {
	case st == nil:
		return c.q
	case inTx:
		return stmtQuerier{tx.StmtContext(ctx, st)}
	}
	return stmtQuerier{st}
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer c.writing(query)()
	query = c.rebind(query)
	res, err := c.on(ctx, query, args).ExecContext(ctx, query, args...)
	return res, classify(err)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = c.rebind(query)
	rows, err := c.on(ctx, query, args).QueryContext(ctx, query, args...)
	return rows, classify(err)
}

// queryAll runs query and reads every row with scan (given the row's Scan).
func queryAll[T any](ctx context.Context, c conn, scan func(func(...any) error) (T, error), query string, args ...any) ([]T, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// get scans one row into dest; commerce.ErrNotFound when there is none.
func (c conn) get(ctx context.Context, query string, args []any, dest ...any) error {
	defer c.writing(query)()
	query = c.rebind(query)
	err := c.on(ctx, query, args).QueryRowContext(ctx, query, args...).Scan(dest...)
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

// txAttempts bounds how often inTx runs a transaction that PostgreSQL
// aborted to break a deadlock or a serialization conflict.
const txAttempts = 3

// inTx runs fn in a transaction, committing when fn returns nil. On
// PostgreSQL a transaction aborted as a deadlock victim (40P01) or for a
// serialization failure (40001) ran nothing and is run again, so fn must
// not keep state across attempts other than what it recomputes.
func (db *DB) inTx(ctx context.Context, fn func(tx conn) error) error {
	for attempt := 1; ; attempt++ {
		err := db.tryTx(ctx, fn)
		if attempt >= txAttempts || !isRetryable(err) {
			return err
		}
		db.log.Info("transaction aborted by the database; running it again", "attempt", attempt, "error", err)
	}
}

// isRetryable reports a PostgreSQL deadlock or serialization failure.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func (db *DB) tryTx(ctx context.Context, fn func(tx conn) error) error {
	if db.dialect == SQLite {
		db.writer.Lock()
		defer db.writer.Unlock()
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", classify(err))
	}
	if err := fn(conn{q: tx, dialect: db.dialect, stmts: db.stmts}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(gone(ctx, err)))
	}
	return nil
}

// gone is the context's error when the database's is only that the
// transaction had ended: database/sql rolls a transaction back as soon as
// its context ends (a client that hung up), and the commit then finds it
// done. Answered as what it is, the client's leaving, it is not a failure.
func gone(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, sql.ErrTxDone) {
		return ctx.Err()
	}
	return err
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

// stmtCache keeps prepared statements by query text. It is bounded: queries
// built with a varying number of placeholders beyond the bound run
// unprepared. Preparing takes a connection of its own, so it never happens
// while the caller holds one in a transaction (a full pool would deadlock):
// a transaction that misses the cache runs the query directly and has it
// prepared in the background for next time.
type stmtCache struct {
	db        *sql.DB
	mu        sync.RWMutex
	m         map[string]*sql.Stmt
	preparing map[string]bool
}

const maxCachedStmts = 1000

// get returns the prepared statement for query, or nil when the caller
// should run the query directly (which also reports any error).
func (c *stmtCache) get(ctx context.Context, query string, inTx bool) *sql.Stmt {
	c.mu.RLock()
	st, full := c.m[query], len(c.m) >= maxCachedStmts
	c.mu.RUnlock()
	if st != nil || full {
		return st
	}
	if inTx {
		c.mu.Lock()
		busy := c.preparing[query]
		c.preparing[query] = true
		c.mu.Unlock()
		if !busy {
			go c.prepare(context.WithoutCancel(ctx), query)
		}
		return nil
	}
	return c.prepare(ctx, query)
}

// prepare compiles query and caches it; lock-free while it waits for a
// connection.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	st, err := c.db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.preparing, query)
	if err != nil {
		return nil
	}
	if have := c.m[query]; have != nil || len(c.m) >= maxCachedStmts {
		st.Close()
		return have
	}
	c.m[query] = st
	return st
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// stmtQuerier runs a prepared statement through the querier interface; the
// query text is already compiled into it.
type stmtQuerier struct{ st *sql.Stmt }

func (s stmtQuerier) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return s.st.ExecContext(ctx, args...)
}

func (s stmtQuerier) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return s.st.QueryContext(ctx, args...)
}

func (s stmtQuerier) QueryRowContext(ctx context.Context, _ string, args ...any) *sql.Row {
	return s.st.QueryRowContext(ctx, args...)
}
