// Package store is OneFlow's persistence layer: users, projects, API keys,
// refresh tokens, the credit ledger and usage, on SQLite (the default, pure
// Go) or PostgreSQL (production). It is the only package that imports gorm;
// its API takes and returns plain Go structs, and every repository is a
// method on *Store, which the composition root creates once and passes
// down. There is no package-level database handle.
//
// # Opening and migrating
//
// Open takes "sqlite://path" or a "postgres://" / "postgresql://" URL. The
// schema is versioned SQL embedded in the binary (migrations/*.sql) and run
// by goose: Migrate applies what is pending, MigrateDown rolls back one
// version (`oneflow db-rollback`), Version reports the current one. The same
// files run on both databases, so they use only portable SQL: TEXT ids made
// by the application, BIGINT money, TIMESTAMP columns that always hold UTC
// (times.go explains why that matters on SQLite), BOOLEAN, and
// INSERT ... ON CONFLICT ... DO UPDATE. On PostgreSQL, Migrate holds an
// advisory lock derived from the current schema, so replicas that start
// together migrate one at a time; on SQLite an flock on
// "<path>-migrate.lock" does the same for processes sharing the file.
//
// # SQLite: one writer
//
// SQLite allows one writer at a time. A Store on SQLite opens two pools on
// the file: a writer pool of exactly one connection (WAL journal,
// synchronous=FULL, foreign keys on, BEGIN IMMEDIATE, 5s busy timeout) that
// runs every write transaction, and a read-only pool (Options.MaxOpenConns,
// default 4) that WAL lets read alongside the writer. Writers in this
// process therefore queue in database/sql for the one connection instead of
// failing with SQLITE_BUSY, and reads (API key lookups, balances) never wait
// behind a usage batch. Several processes on one SQLite file are not
// supported beyond the busy timeout; run PostgreSQL for more than one
// replica.
//
// # Money and concurrency guarantees
//
// Credits are int64 micro-credits, never floats. Every movement is a
// balanced double-entry transaction in ledger_entries (accounts
// "project:<id>", "hold:<request>", "revenue", "topup", "writeoff"), written
// in the same database transaction as the balance it moves, so for every
// project balance == sum of its account's entries, and all entries sum to
// zero; VerifyLedger checks exactly that.
//
//   - Reserve debits the balance with one conditional UPDATE
//     (balance = balance - x WHERE id = ? AND (unlimited OR balance >= x)).
//     On PostgreSQL the row lock makes concurrent Reserves from any number
//     of replicas queue on the project row and re-check against the
//     committed balance (READ COMMITTED re-evaluates the WHERE clause after
//     the lock wait); on SQLite the single writer serializes them. Either
//     way a limited project's balance is never over-committed, and a CHECK
//     constraint (unlimited OR balance >= 0) backs that up in the schema.
//   - Settle, Release and ReapExpired claim the hold by deleting its row
//     first, so exactly one of any concurrent closers acts; the others get
//     ErrHoldNotFound and change nothing, which makes every close
//     idempotent. Settle charges the actual usage; what exceeds the hold is
//     taken from the balance only as far as the balance goes, and the rest
//     is booked to the "writeoff" account (a limited balance never goes
//     negative).
//   - The unique key (account, kind, request_id) on ledger entries makes
//     request ids single-use: a second Reserve or TopUp with the same id
//     returns ErrDuplicateRequest.
//   - Unlimited projects skip the balance check but still post every
//     entry; their balance goes negative by what they used.
//
// A core killed mid-request leaves its hold open; ReapExpired, run
// periodically, returns holds past their expiry to their projects.
//
// # Usage: asynchronous, bounded, lossy on crash
//
// The request path never writes usage synchronously. UsageWriter.Write
// enqueues into a bounded in-memory queue (QueueSize, default 10000); one
// goroutine gathers batches (BatchSize, default 500, or every
// FlushInterval, default 1s) and writes each as small transactions
// (ChunkSize, default 16 records), each of which also adds its records to
// the hourly and daily rollups, so rollups always agree with the raw rows
// they summarize. Between transactions the writer sleeps several times as
// long as the last one took, and on SQLite it lets waiting connections in
// between the rows of a transaction and checkpoints the write-ahead log
// every few transactions itself, so that on a busy CPU requests are served
// first (the reasons are in usage.go and BENCHMARKS.md). When the queue is
// full Write blocks for at most EnqueueTimeout (5ms by default:
// back-pressure without stalling requests) and then drops the record and
// counts it (Stats().Dropped). A failing transaction is retried twice, then
// dropped and counted (Stats().Failed). Close flushes everything on
// graceful shutdown. A crash loses at most the records still queued plus
// the batch being written: QueueSize + BatchSize records. Since usage is
// lossy on a crash by design, its commits (and the batched charges of
// unlimited projects) are not flushed to disk before they return
// (synchronous=NORMAL for that transaction on SQLite, synchronous_commit=off
// on PostgreSQL): an operating-system crash or power loss can also lose
// the last of them, never corrupt them. Usage loss never affects a limited
// project's money: the ledger is written synchronously, and durably, by
// Reserve and Settle.
//
// Analytics (UsageSeries, UsageSummary) read the rollups; a query filtered
// by user reads raw usage_records instead, which have a user column and the
// (project_id, ts) index. DeleteUsageBefore enforces retention on raw
// records; rollups are kept.
package store
