package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFiles holds the versioned schema. The same files run on SQLite
// and PostgreSQL, so they use only SQL both accept.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies every pending migration. On PostgreSQL it first takes a
// session advisory lock scoped to the current schema, so replicas started
// together migrate one at a time and the others find nothing to do; on
// SQLite an flock on "<path>-migrate.lock" does the same across processes.
func (s *Store) Migrate(ctx context.Context) error {
	unlock, err := s.lockMigrations(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := s.migrator(ctx)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s database up: %w", s.dialect, err)
	}
	return nil
}

// MigrateDown rolls back the most recent migration (one step). At version 0
// it returns an error wrapping ErrNotFound.
func (s *Store) MigrateDown(ctx context.Context) error {
	unlock, err := s.lockMigrations(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := s.migrator(ctx)
	if err != nil {
		return err
	}
	if _, err := p.Down(ctx); err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return fmt.Errorf("roll back %s database: no migration applied: %w", s.dialect, ErrNotFound)
		}
		return fmt.Errorf("roll back %s database: %w", s.dialect, err)
	}
	return nil
}

// Version reports the schema version applied (0 for an empty database).
func (s *Store) Version(ctx context.Context) (int64, error) {
	p, err := s.migrator(ctx)
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read %s schema version: %w", s.dialect, err)
	}
	return v, nil
}

// LatestVersion is the newest schema version embedded in this binary.
func LatestVersion() (int64, error) {
	entries, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return 0, fmt.Errorf("list embedded migrations: %w", err)
	}
	var latest int64
	for _, e := range entries {
		v, err := goose.NumericComponent(e)
		if err != nil {
			return 0, fmt.Errorf("parse migration version of %q: %w", e, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

func (s *Store) migrator(ctx context.Context) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("open embedded migrations: %w", err)
	}
	// Migrations always run on the writer: on SQLite that is the single
	// connection allowed to write.
	sqlDB, err := s.wdb.DB()
	if err != nil {
		return nil, fmt.Errorf("get connection pool for migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if s.dialect == DialectPostgres {
		dialect = goose.DialectPostgres
		id, err := migrationLockID(ctx, sqlDB)
		if err != nil {
			return nil, err
		}
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("create migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, sqlDB, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// migrationLockID derives the advisory lock id from the current schema:
// advisory locks are database-wide, and two schemas (say, two test runs)
// have nothing to serialize between them.
func migrationLockID(ctx context.Context, db *sql.DB) (int64, error) {
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return 0, fmt.Errorf("read current schema for the migration lock: %w", err)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("oneflow-migrations:" + schema))
	return int64(h.Sum64() >> 1), nil
}

// lockMigrations serializes SQLite migrations across processes (PostgreSQL
// uses goose's advisory session lock instead).
func (s *Store) lockMigrations(ctx context.Context) (func(), error) {
	if s.dialect != DialectSQLite {
		return func() {}, nil
	}
	unlock, err := lockFile(ctx, s.sqlitePath+"-migrate.lock")
	if err != nil {
		return nil, fmt.Errorf("lock sqlite migrations: %w", err)
	}
	return unlock, nil
}
