package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenRejectsBadURLs(t *testing.T) {
	const secret = "hunter2-very-secret"
	cases := []struct {
		name string
		url  string
		want string // substring of the error
	}{
		{"unknown scheme", "mysql://u:" + secret + "@localhost/db", "unsupported URL scheme"},
		{"no scheme", "data/oneflow.db", "unsupported URL scheme"},
		{"empty sqlite path", "sqlite://", "empty path"},
		{"in-memory sqlite", "sqlite://:memory:", "only file paths"},
		// Nothing listens on port 1: the connection is refused at once.
		{"unreachable postgres, password in user info", "postgres://u:" + secret + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "open postgres database"},
		{"unreachable postgres, password parameter", "postgresql://u@127.0.0.1:1/db?sslmode=disable&connect_timeout=2&password=" + secret, "open postgres database"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Open(ctx, tc.url, Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		url  string
		file string
	}{
		{"absolute path, parent created", "sqlite://" + filepath.Join(dir, "a", "b", "x.db"), filepath.Join(dir, "a", "b", "x.db")},
		{"query string ignored", "sqlite://" + filepath.Join(dir, "y.db") + "?mode=rwc", filepath.Join(dir, "y.db")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			s := openTestStore(t, tc.url, Options{MaxOpenConns: 3})
			if _, err := os.Stat(tc.file); err != nil {
				t.Fatalf("database file: %v", err)
			}
			if s.Dialect() != DialectSQLite {
				t.Fatalf("Dialect = %q", s.Dialect())
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			var mode string
			if err := s.wdb.WithContext(ctx).Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil || mode != "wal" {
				t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
			}
			var fk int
			if err := s.rdb.WithContext(ctx).Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil || fk != 1 {
				t.Fatalf("foreign_keys on the read pool = %d, %v", fk, err)
			}
			// The read pool cannot write: every write must go through the
			// single writer.
			if err := s.rdb.WithContext(ctx).Exec("CREATE TABLE nope (x INTEGER)").Error; err == nil {
				t.Fatal("read pool accepted a write")
			}
			st := s.PoolStats()
			if st.MaxOpenConnections != 1+3 {
				t.Fatalf("PoolStats().MaxOpenConnections = %d, want writer 1 + readers 3", st.MaxOpenConnections)
			}
		})
	}
}

func TestOpenPostgres(t *testing.T) {
	open := postgresOpener(t)
	s := open(t, Options{MaxOpenConns: 5, MaxIdleConns: 2})
	if s.Dialect() != DialectPostgres {
		t.Fatalf("Dialect = %q", s.Dialect())
	}
	if err := s.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := s.PoolStats(); st.MaxOpenConnections != 5 {
		t.Fatalf("PoolStats().MaxOpenConnections = %d, want 5", st.MaxOpenConnections)
	}
}

func TestOpenHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Open(ctx, "postgres://u:pw@127.0.0.1:1/db?sslmode=disable", Options{})
	if err == nil || !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Open with a cancelled context = %v", err)
	}
}

func TestTimesRoundTrip(t *testing.T) {
	// Times written in any zone come back as the same instant, in UTC,
	// truncated to microseconds, on both databases.
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		p, err := s.CreateProject(ctx, "times")
		if err != nil {
			t.Fatal(err)
		}
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		for i, in := range []time.Time{
			time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2025, 1, 1, 5, 30, 0, 1, zone),
			time.Date(2031, 12, 31, 23, 59, 59, 999_999_999, zone),
		} {
			k, err := s.InsertAPIKey(ctx, APIKey{Prefix: "t" + string(rune('a'+i)), Hash: "h", ProjectID: p.ID, ExpiresAt: &in})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetAPIKey(ctx, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := in.UTC().Truncate(time.Microsecond)
			if got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) || got.ExpiresAt.Location() != time.UTC {
				t.Fatalf("ExpiresAt = %v, want %v", got.ExpiresAt, want)
			}
		}
	})
}
