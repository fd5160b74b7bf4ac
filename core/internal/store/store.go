package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The dialects Open understands.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
)

// Defaults applied by Open when Options leaves a field at zero.
const (
	DefaultPostgresMaxOpenConns = 10
	DefaultSQLiteMaxReadConns   = 4
	// sqliteBusyTimeout is how long a SQLite connection waits for a lock held
	// by another process (say, `oneflow migrate` run beside a live server)
	// before failing with SQLITE_BUSY.
	sqliteBusyTimeout = 5 * time.Second
)

// Options tunes the connection pool. Zero values pick safe defaults.
type Options struct {
	// MaxOpenConns caps open connections. On PostgreSQL it is the pool size.
	// On SQLite it caps the read-only pool; writes always go through one
	// dedicated connection (see the package doc).
	MaxOpenConns int
	// MaxIdleConns caps idle connections kept for reuse (at most MaxOpenConns).
	MaxIdleConns int
	// ConnMaxLifetime recycles connections older than this (0 keeps them).
	ConnMaxLifetime time.Duration
	// Now is the clock used for created_at and similar stamps; nil means
	// time.Now. Tests inject a fixed clock.
	Now func() time.Time
}

// Store is a handle on the database: a connection pool plus the
// repositories defined as its methods. It is safe for concurrent use.
type Store struct {
	dialect Dialect
	// rdb serves reads. On PostgreSQL it is also the writer (wdb == rdb).
	rdb *gorm.DB
	// wdb runs every write transaction. On SQLite it owns exactly one
	// connection, which serializes writers inside this process, so SQLite
	// never reports SQLITE_BUSY between our own goroutines.
	wdb   *gorm.DB
	pools []*sql.DB
	now   func() time.Time
	// sqlitePath is the database file (SQLite only).
	sqlitePath string
}

// Open connects to databaseURL, which is "sqlite://path" (relative or
// absolute; the parent directory is created) or a "postgres://" /
// "postgresql://" URL. It checks the connection before returning. It does
// not migrate: call Migrate.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	cfg := func() *gorm.Config {
		return &gorm.Config{
			// Every multi-statement operation here opens its own
			// transaction; gorm's implicit one per write is pure overhead.
			SkipDefaultTransaction: true,
			TranslateError:         true,
			// Open pings itself, with the caller's ctx; gorm's own ping
			// ignores it.
			DisableAutomaticPing: true,
			// gorm's default logger prints to stdout, which plugins and the
			// CLI must keep clean; errors are returned instead.
			Logger:  logger.Discard,
			NowFunc: func() time.Time { return now().UTC() },
		}
	}
	switch {
	case strings.HasPrefix(databaseURL, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(databaseURL, "sqlite://"), opts, now, cfg)
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return openPostgres(ctx, databaseURL, opts, now, cfg())
	default:
		return nil, fmt.Errorf("open database: unsupported URL scheme in %q (want sqlite:// or postgres://)", redactURL(databaseURL))
	}
}

func openSQLite(ctx context.Context, path string, opts Options, now func() time.Time, cfg func() *gorm.Config) (*Store, error) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return nil, errors.New("open sqlite database: empty path in sqlite:// URL")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		// Reads and writes use separate pools, which would see two
		// different in-memory databases.
		return nil, fmt.Errorf("open sqlite database %q: only file paths are supported", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite database: create directory %q: %w", dir, err)
		}
	}
	common := []string{
		// busy_timeout first, so the pragmas after it wait for locks too.
		fmt.Sprintf("_pragma=busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		// FULL: a committed ledger transaction survives power loss, not
		// only a process crash; WAL keeps that to one fsync per commit.
		"_pragma=synchronous(FULL)",
		"_pragma=temp_store(2)",
		// No _time_format: the driver's default write format is already
		// "2006-01-02 15:04:05.999999999-07:00" (see times.go), and in
		// glebarez/go-sqlite v1.21 setting it makes the driver skip _txlock.
	}
	writerDSN := path + "?" + strings.Join(append([]string{"_pragma=journal_mode(WAL)", "_txlock=immediate"}, common...), "&")
	readerDSN := path + "?" + strings.Join(append([]string{"_pragma=query_only(1)"}, common...), "&")

	wsql, err := sql.Open(sqlite.DriverName, writerDSN)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %q: %w", path, err)
	}
	wsql.SetMaxOpenConns(1)
	wsql.SetMaxIdleConns(1)
	wsql.SetConnMaxLifetime(0)
	// Ping the writer first: it switches the file to WAL before any reader
	// connects.
	if err := wsql.PingContext(ctx); err != nil {
		_ = wsql.Close()
		return nil, fmt.Errorf("open sqlite database %q: %w", path, err)
	}
	rsql, err := sql.Open(sqlite.DriverName, readerDSN)
	if err != nil {
		_ = wsql.Close()
		return nil, fmt.Errorf("open sqlite database %q for reading: %w", path, err)
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = DefaultSQLiteMaxReadConns
	}
	applyPool(rsql, maxOpen, opts.MaxIdleConns, opts.ConnMaxLifetime)

	closeBoth := func() { _ = rsql.Close(); _ = wsql.Close() }
	wdb, err := gorm.Open(sqlite.Dialector{DriverName: sqlite.DriverName, Conn: wsql}, cfg())
	if err != nil {
		closeBoth()
		return nil, fmt.Errorf("open sqlite database %q: %w", path, err)
	}
	rdb, err := gorm.Open(sqlite.Dialector{DriverName: sqlite.DriverName, Conn: rsql}, cfg())
	if err != nil {
		closeBoth()
		return nil, fmt.Errorf("open sqlite database %q for reading: %w", path, err)
	}
	s := &Store{dialect: DialectSQLite, rdb: rdb, wdb: wdb, pools: []*sql.DB{wsql, rsql}, now: now, sqlitePath: path}
	if err := s.Ping(ctx); err != nil {
		closeBoth()
		return nil, err
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string, opts Options, now func() time.Time, cfg *gorm.Config) (*Store, error) {
	db, err := gorm.Open(postgres.Open(dsn), cfg)
	if err != nil {
		// pgx errors can echo the DSN, password included; say only where.
		return nil, fmt.Errorf("open postgres database %s: %w", redactURL(dsn), scrubDSN(err, dsn))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open postgres database %s: %w", redactURL(dsn), err)
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = DefaultPostgresMaxOpenConns
	}
	applyPool(sqlDB, maxOpen, opts.MaxIdleConns, opts.ConnMaxLifetime)
	s := &Store{dialect: DialectPostgres, rdb: db, wdb: db, pools: []*sql.DB{sqlDB}, now: now}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open postgres database %s: %w", redactURL(dsn), scrubDSN(err, dsn))
	}
	return s, nil
}

func applyPool(db *sql.DB, maxOpen, maxIdle int, lifetime time.Duration) {
	if maxIdle <= 0 || maxIdle > maxOpen {
		maxIdle = maxOpen
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxIdle)
	db.SetConnMaxLifetime(lifetime)
}

// Close releases every connection. The Store must not be used afterwards.
func (s *Store) Close() error {
	var errs []error
	for _, p := range s.pools {
		if err := p.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Ping checks that every pool can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	for _, p := range s.pools {
		if err := p.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s database: %w", s.dialect, err)
		}
	}
	return nil
}

// Dialect reports which database the Store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// PoolStats reports connection pool statistics for metrics. On SQLite it is
// the sum of the writer's and the readers' pools.
func (s *Store) PoolStats() sql.DBStats {
	var sum sql.DBStats
	for _, p := range s.pools {
		st := p.Stats()
		sum.MaxOpenConnections += st.MaxOpenConnections
		sum.OpenConnections += st.OpenConnections
		sum.InUse += st.InUse
		sum.Idle += st.Idle
		sum.WaitCount += st.WaitCount
		sum.WaitDuration += st.WaitDuration
		sum.MaxIdleClosed += st.MaxIdleClosed
		sum.MaxIdleTimeClosed += st.MaxIdleTimeClosed
		sum.MaxLifetimeClosed += st.MaxLifetimeClosed
	}
	return sum
}

// write runs fn in one transaction on the writer pool.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.wdb.WithContext(ctx).Transaction(fn)
}

// writeLazy is write for data whose loss in a crash is already accepted
// (usage records and the batched charges of unlimited projects are queued
// in memory first, see the package doc): the commit is atomic and
// consistent but not flushed to disk before it returns. On SQLite that is
// synchronous=NORMAL for this one transaction, on PostgreSQL
// synchronous_commit=off; only an operating system crash or power loss
// (SQLite) or a database server crash (PostgreSQL) can lose the last such
// commits. Flushing every usage commit cost an fsync each, on the core's
// own CPU, many times a second.
func (s *Store) writeLazy(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.dialect == DialectPostgres {
		return s.write(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL synchronous_commit = off").Error; err != nil {
				return dbErr("relax commit durability", err)
			}
			return fn(tx)
		})
	}
	// The writer pool has one connection; holding it keeps every other
	// write off it until synchronous is FULL again.
	return s.wdb.WithContext(ctx).Connection(func(conn *gorm.DB) (err error) {
		if err := conn.Exec("PRAGMA synchronous = NORMAL").Error; err != nil {
			return dbErr("relax commit durability", err)
		}
		defer func() {
			if rerr := conn.Exec("PRAGMA synchronous = FULL").Error; rerr != nil {
				// Left at NORMAL, the connection would weaken every later
				// ledger commit: have database/sql discard it.
				if c, ok := conn.Statement.ConnPool.(*sql.Conn); ok {
					_ = c.Raw(func(any) error { return driver.ErrBadConn })
				}
				if err == nil {
					err = dbErr("restore commit durability", rerr)
				}
			}
		}()
		return conn.Transaction(fn)
	})
}

// Checkpoint copies the pages in SQLite's write-ahead log back into the
// database file so the log can start over (a PASSIVE checkpoint: it never
// waits for readers, and copies what they no longer need). SQLite also
// checkpoints by itself when a commit finds the log at 1000 pages, inside
// that commit; the UsageWriter calls Checkpoint far more often than that,
// as a small step of its own, so the work is spread out. It does nothing
// on PostgreSQL.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.dialect != DialectSQLite {
		return nil
	}
	if err := s.wdb.WithContext(ctx).Exec("PRAGMA wal_checkpoint(PASSIVE)").Error; err != nil {
		return dbErr("checkpoint the write-ahead log", err)
	}
	return nil
}

// read returns a session on the read pool.
func (s *Store) read(ctx context.Context) *gorm.DB {
	return s.rdb.WithContext(ctx)
}

// stamp is the current time as stored: UTC, microsecond precision (what
// PostgreSQL keeps), so values round-trip identically on both databases.
func (s *Store) stamp() time.Time { return dbTime(s.now()) }

// redactURL drops the password (user info or a password= parameter) from a
// URL so it can appear in errors.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable url>"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// dsnSecrets lists the passwords a DSN carries.
func dsnSecrets(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	var out []string
	if pw, ok := u.User.Password(); ok && pw != "" {
		out = append(out, pw)
	}
	if pw := u.Query().Get("password"); pw != "" {
		out = append(out, pw)
	}
	return out
}

// scrubDSN returns err with any echo of the DSN's password removed. The
// original error is not reachable through the result (it would print the
// secret); only a context cancellation stays visible to errors.Is.
func scrubDSN(err error, dsn string) error {
	msg := err.Error()
	leaked := false
	for _, pw := range dsnSecrets(dsn) {
		if strings.Contains(msg, pw) {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
			leaked = true
		}
	}
	if !leaked {
		return err
	}
	var cause error
	switch {
	case errors.Is(err, context.Canceled):
		cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		cause = context.DeadlineExceeded
	}
	return &scrubbedError{msg: msg, cause: cause}
}

// scrubbedError is an error whose text had a secret removed.
type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.cause }
