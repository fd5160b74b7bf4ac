package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/clocktest"
)

// defaultTestPostgresURL is used when ONEFLOW_TEST_POSTGRES_URL is unset.
const defaultTestPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// fakeClock is a settable clock for Options.Now.
type fakeClock = clocktest.Clock

func newFakeClock(t time.Time) *fakeClock { return clocktest.New(t) }

// backend opens fresh, migrated stores of one kind. open returns a new
// handle on the same database each call (a "replica").
type backend struct {
	name string
	open func(t *testing.T, opts Options) *Store
}

// backends returns a SQLite backend (always) and a PostgreSQL backend on a
// fresh schema (skipped when the server is unreachable and CI is not
// "true"; fatal under CI).
func backends(t *testing.T) []backend {
	t.Helper()
	return []backend{
		{name: "sqlite", open: sqliteOpener(t)},
		{name: "postgres", open: postgresOpener(t)},
	}
}

// forEachBackend runs fn as a subtest on a fresh store of each backend.
func forEachBackend(t *testing.T, opts Options, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			var open func(*testing.T, Options) *Store
			if b == "sqlite" {
				open = sqliteOpener(t)
			} else {
				open = postgresOpener(t)
			}
			fn(t, open(t, opts))
		})
	}
}

func sqliteOpener(t *testing.T) func(*testing.T, Options) *Store {
	t.Helper()
	// A nested directory checks that Open creates the parent.
	path := filepath.Join(t.TempDir(), "data", "oneflow.db")
	var once sync.Once
	return func(t *testing.T, opts Options) *Store {
		t.Helper()
		s := openTestStore(t, "sqlite://"+path, opts)
		once.Do(func() { mustMigrate(t, s) })
		return s
	}
}

func postgresOpener(t *testing.T) func(*testing.T, Options) *Store {
	t.Helper()
	dsn := testPostgresSchema(t)
	var once sync.Once
	return func(t *testing.T, opts Options) *Store {
		t.Helper()
		if dsn == "" {
			t.Skip("postgres unavailable")
		}
		if opts.MaxOpenConns == 0 {
			// Several packages test against one server in parallel; stay
			// well inside max_connections.
			opts.MaxOpenConns = 8
		}
		s := openTestStore(t, dsn, opts)
		once.Do(func() { mustMigrate(t, s) })
		return s
	}
}

func openTestStore(t *testing.T, dsn string, opts Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("open %s: %v", redactURL(dsn), err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

func mustMigrate(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
}

// testPostgresSchema creates a schema "t_<random>" for this test and
// returns a DSN whose search_path points at it; the schema is dropped at
// cleanup. It returns "" after t.Skip when the server is unreachable
// outside CI, and fails the test under CI=true.
func testPostgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ONEFLOW_TEST_POSTGRES_URL")
	if base == "" {
		base = defaultTestPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := Open(ctx, base, Options{MaxOpenConns: 1})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postgres at %s unreachable under CI: %v", redactURL(base), err)
		}
		t.Skipf("postgres at %s unreachable: %v", redactURL(base), err)
		return ""
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if err := admin.wdb.WithContext(ctx).Exec("CREATE SCHEMA " + schema).Error; err != nil {
		_ = admin.Close()
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin.wdb.WithContext(ctx).Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse postgres url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openBenchStore opens a migrated SQLite store in a temporary directory,
// closed when the benchmark ends.
func openBenchStore(b *testing.B) *Store {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+b.TempDir()+"/bench.db", Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}
