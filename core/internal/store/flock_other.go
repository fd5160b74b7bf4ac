//go:build !unix

package store

import "context"

// lockFile is a no-op where flock(2) does not exist: concurrent migrations
// of one SQLite file from two processes can then fail (safely: goose runs
// each migration in a transaction) and must be retried.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
