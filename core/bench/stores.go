package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// stores are the servers the cores use instead of the embedded defaults,
// as a production deployment would: PostgreSQL (a fresh database per
// core, dropped afterwards) and Redis (shared; every key a core writes
// belongs to its own fresh project or key).
type stores struct {
	postgres string // server URL from -database-url; "" keeps SQLite
	redis    string // URL from -redis-url; "" keeps limits in process
}

// serverComms are the process names whose CPU time a step adds up when the
// cores use external stores; those servers run outside the core's process
// tree and unpinned, so the tree's CPU per request leaves them out.
func (s stores) serverComms() []string {
	var out []string
	if s.postgres != "" {
		out = append(out, "postgres")
	}
	if s.redis != "" {
		out = append(out, "redis-server")
	}
	return out
}

// describe is the report's line about where the cores keep their state,
// with credentials removed from the URLs.
func (s stores) describe() string {
	db := "SQLite in a temporary directory"
	if s.postgres != "" {
		db = "PostgreSQL at " + redactURL(s.postgres) + " (a fresh database per core)"
	}
	rl := "rate limits in process"
	if s.redis != "" {
		rl = "rate limits in Redis at " + redactURL(s.redis)
	}
	return db + "; " + rl
}

// redactURL keeps a URL's scheme, host and path and drops its user info
// and query, which may hold a password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparseable URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// maskPasswords returns the driver's arguments for the report with the
// password of a -database-url or -redis-url replaced, so the command stays
// copyable without leaking a credential.
func maskPasswords(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		name, val, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "database-url" && name != "redis-url") {
			continue
		}
		switch {
		case inline:
			out[i] = a[:len(a)-len(val)] + maskURLPassword(val)
		case i+1 < len(out):
			out[i+1] = maskURLPassword(out[i+1])
		}
	}
	return out
}

// maskURLPassword replaces the password in a URL's user info and in a
// password query parameter with "xxxxx".
func maskURLPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if _, set := u.User.Password(); set {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// benchDatabaseName is a database name no other run uses: the flavor, the
// driver's pid and random bits, all safe to put in SQL unquoted.
func benchDatabaseName(flavor string) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("draw a database name: %w", err)
	}
	return "oneflow_bench_" + flavor + "_" + strconv.Itoa(os.Getpid()) + "_" + hex.EncodeToString(b[:]), nil
}

// checkPostgresURL refuses a -database-url that is not a postgres:// URL.
func checkPostgresURL(serverURL string) error {
	_, err := withDatabase(serverURL, "x")
	return err
}

// withDatabase returns serverURL naming database name instead of its own,
// in the path and in no query parameter (pgx lets dbname= override the
// path, which would put every core in the server's own database).
func withDatabase(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		// url.Parse quotes its input, password included.
		return "", errors.New("-database-url is not a valid URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("-database-url: scheme %q, want postgres://", u.Scheme)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("dbname")
	q.Del("database")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// scrubURLSecrets returns err with the password of rawURL, in its user
// info or a password query parameter, replaced: pgx quotes a DSN it cannot
// parse, query and all.
func scrubURLSecrets(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil {
		return err
	}
	var secrets []string
	if pw, ok := u.User.Password(); ok && pw != "" {
		secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	if pw := u.Query().Get("password"); pw != "" {
		secrets = append(secrets, pw, url.QueryEscape(pw))
	}
	msg := err.Error()
	for _, sec := range secrets {
		msg = strings.ReplaceAll(msg, sec, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// createDatabase makes a fresh database for one core on the -database-url
// server and returns the URL the core uses and a function that drops it.
func createDatabase(ctx context.Context, serverURL, flavor string) (string, func(context.Context) error, error) {
	name, err := benchDatabaseName(flavor)
	if err != nil {
		return "", nil, err
	}
	coreURL, err := withDatabase(serverURL, name)
	if err != nil {
		return "", nil, err
	}
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return fmt.Errorf("connect to -database-url: %w", scrubURLSecrets(err, serverURL))
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	drop := func(ctx context.Context) error {
		// FORCE: a core killed mid-run may leave its connections behind.
		if err := exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	if err := exec(ctx, "CREATE DATABASE "+name); err != nil {
		// The server may have made it before the error (a cancelled
		// context, a lost reply): drop it on a context of its own.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = drop(cleanup)
		cancel()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	return coreURL, drop, nil
}

// sqliteURL is the core's storage.database_url on the embedded default.
func sqliteURL(dataDir string) string {
	return "sqlite://" + strings.TrimSuffix(dataDir, "/") + "/oneflow.db"
}
