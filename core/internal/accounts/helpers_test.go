package accounts

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/oneflow-ai/oneflow/core/internal/clocktest"
	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

const (
	defaultTestPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	testAdminKey           = "bootstrap-admin-key-for-tests-0123456789"
	testJWTSecret          = "0123456789abcdef0123456789abcdef-test-secret"
)

// t0 is the fake clock's start: a fixed instant makes failures repeatable.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fakeClock is a settable clock shared by the store and the service.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(t0) }

// env is one test database: open returns a new store handle on it (a
// "replica"), migrated once.
type env struct {
	name  string
	clock *fakeClock
	open  func(t *testing.T) *store.Store
}

// forEachBackend runs fn on a fresh SQLite database and a fresh PostgreSQL
// schema. PostgreSQL is skipped when unreachable, unless CI=true.
func forEachBackend(t *testing.T, fn func(t *testing.T, e env)) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			var dsn string
			if name == "sqlite" {
				dsn = "sqlite://" + filepath.Join(t.TempDir(), "oneflow.db")
			} else {
				dsn = testPostgresSchema(t)
			}
			clock := newFakeClock()
			var once sync.Once
			fn(t, env{name: name, clock: clock, open: func(t *testing.T) *store.Store {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				opts := store.Options{Now: clock.Now}
				if name == "postgres" {
					// Other packages test against the same server.
					opts.MaxOpenConns = 8
				}
				st, err := store.Open(ctx, dsn, opts)
				if err != nil {
					t.Fatalf("open store: %v", err)
				}
				t.Cleanup(func() { _ = st.Close() })
				once.Do(func() {
					if err := st.Migrate(ctx); err != nil {
						t.Fatalf("migrate: %v", err)
					}
				})
				return st
			}})
		})
	}
}

// testPostgresSchema creates schema "acct_<random>" and returns a DSN whose
// search_path is it; the schema is dropped at cleanup.
func testPostgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ONEFLOW_TEST_POSTGRES_URL")
	if base == "" {
		base = defaultTestPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postgres unreachable under CI: %v", err)
		}
		t.Skipf("postgres unreachable: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "acct_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = conn.Close(ctx)
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = conn.Close(ctx)
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

// newService builds a Service on st with the test defaults; edit adjusts
// the config first. Logs go to the returned buffer.
func newService(t *testing.T, e env, st *store.Store, edit func(*Config)) (*Service, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{
		Store: st, AdminKey: testAdminKey, JWT: JWTConfig{Secret: testJWTSecret},
		Clock: e.clock.Now,
		Log:   hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace, JSONFormat: true}),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close service: %v", err)
		}
	})
	return s, logs
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mustProject creates a project topped up with balance micro-credits.
func mustProject(t *testing.T, s *Service, name string, balance int64) server.Project {
	t.Helper()
	ctx := ctxT(t)
	p, err := s.CreateProject(ctx, name)
	if err != nil {
		t.Fatalf("create project: %v", err)
	}
	if balance > 0 {
		if _, err := s.TopUp(ctx, p.ID, balance, "seed"); err != nil {
			t.Fatalf("top up: %v", err)
		}
	}
	return p
}

// mustKey creates a key in project with role.
func mustKey(t *testing.T, s *Service, req server.KeyRequest) server.CreatedKey {
	t.Helper()
	k, err := s.CreateKey(ctxT(t), req)
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return k
}

// wantErr checks that err wraps want (nil: no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want one wrapping %q", what, err, want)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !bytes.Contains([]byte(s), []byte(sub)) {
			return false
		}
	}
	return true
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}
