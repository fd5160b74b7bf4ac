package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// UsageStatusOK is the Status of a request that succeeded; every other
// status counts as an error in the rollups.
const UsageStatusOK = "ok"

// UsageRecord is one request's usage, written asynchronously.
type UsageRecord struct {
	ID                    string // generated when empty
	RequestID             string
	Time                  time.Time // when the request started; zero means now
	UserID                string
	ProjectID             string
	KeyID                 string
	Provider              string
	Model                 string
	Strategy              string
	InputTokens           int64
	CachedInputTokens     int64 // part of InputTokens read from the vendor's prompt cache
	CacheWriteTokens      int64 // part of InputTokens written to the vendor's prompt cache
	OutputTokens          int64
	EstimatedMicroCredits int64
	ChargedMicroCredits   int64
	LatencyMS             int64
	Status                string // UsageStatusOK (also assumed when empty) or an error class
	Attempts              int
	PriceVersion          string
	Unpriced              bool
}

type usageRow struct {
	ID                    string `gorm:"primaryKey"`
	RequestID             string
	TS                    time.Time `gorm:"column:ts"`
	UserID                string
	ProjectID             string
	KeyID                 string
	Provider              string
	Model                 string
	Strategy              string
	InputTokens           int64
	CachedInputTokens     int64
	CacheWriteTokens      int64
	OutputTokens          int64
	EstimatedMicroCredits int64
	ChargedMicroCredits   int64
	LatencyMS             int64 `gorm:"column:latency_ms"`
	Status                string
	Attempts              int16
	PriceVersion          string
	Unpriced              bool
}

func (usageRow) TableName() string { return "usage_records" }

type rollupRow struct {
	Granularity         string    `gorm:"primaryKey"`
	BucketStart         time.Time `gorm:"primaryKey"`
	ProjectID           string    `gorm:"primaryKey"`
	Provider            string    `gorm:"primaryKey"`
	Model               string    `gorm:"primaryKey"`
	Requests            int64
	Errors              int64
	InputTokens         int64
	CachedInputTokens   int64
	CacheWriteTokens    int64
	OutputTokens        int64
	ChargedMicroCredits int64
}

func (rollupRow) TableName() string { return "usage_rollups" }

// Rollup granularities.
const (
	granHour = "hour"
	granDay  = "day"
)

type rollupKey struct {
	gran                     string
	bucket                   time.Time
	project, provider, model string
}

// rollupUpsert adds a batch's counts to existing rollup rows. The
// qualified "usage_rollups.x + excluded.x" form is accepted by both SQLite
// and PostgreSQL.
func rollupUpsert() clause.OnConflict {
	add := func(col string) any { return gorm.Expr("usage_rollups." + col + " + excluded." + col) }
	return clause.OnConflict{
		Columns: []clause.Column{{Name: "granularity"}, {Name: "bucket_start"}, {Name: "project_id"}, {Name: "provider"}, {Name: "model"}},
		DoUpdates: clause.Assignments(map[string]any{
			"requests":              add("requests"),
			"errors":                add("errors"),
			"input_tokens":          add("input_tokens"),
			"cached_input_tokens":   add("cached_input_tokens"),
			"cache_write_tokens":    add("cache_write_tokens"),
			"output_tokens":         add("output_tokens"),
			"charged_micro_credits": add("charged_micro_credits"),
		}),
	}
}

// usageInsertBatch keeps one INSERT's bind parameters (20 per record) far
// below SQLite's and PostgreSQL's limits.
const usageInsertBatch = 250

// InsertUsage writes records and adds them to the hourly and daily rollups,
// all in one transaction: the rollups never disagree with the raw rows they
// summarize. Its commit is not flushed to disk before it returns (see
// writeLazy): usage is lossy on a crash by design. The UsageWriter calls
// it; it is exported for tools and tests.
func (s *Store) InsertUsage(ctx context.Context, recs []UsageRecord) error {
	return s.insertUsage(ctx, recs, nil)
}

// insertUsage is InsertUsage that, on SQLite, inserts one record per
// statement and calls yield between statements when yield is not nil.
func (s *Store) insertUsage(ctx context.Context, recs []UsageRecord, yield func()) error {
	if len(recs) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]usageRow, len(recs))
	agg := make(map[rollupKey]*rollupRow)
	order := make([]rollupKey, 0, 8)
	for i, r := range recs {
		if r.ID == "" {
			r.ID = newID("use", now)
		}
		if r.Time.IsZero() {
			r.Time = now
		}
		if r.Status == "" {
			r.Status = UsageStatusOK
		}
		ts := dbTime(r.Time)
		rows[i] = usageRow{
			ID: r.ID, RequestID: r.RequestID, TS: ts, UserID: r.UserID, ProjectID: r.ProjectID, KeyID: r.KeyID,
			Provider: r.Provider, Model: r.Model, Strategy: r.Strategy, InputTokens: r.InputTokens,
			CachedInputTokens: r.CachedInputTokens, CacheWriteTokens: r.CacheWriteTokens,
			OutputTokens: r.OutputTokens, EstimatedMicroCredits: r.EstimatedMicroCredits,
			ChargedMicroCredits: r.ChargedMicroCredits, LatencyMS: r.LatencyMS, Status: r.Status,
			Attempts: int16(min(max(r.Attempts, 0), 32767)), PriceVersion: r.PriceVersion, Unpriced: r.Unpriced,
		}
		for _, g := range [...]string{granHour, granDay} {
			k := rollupKey{gran: g, bucket: bucketStart(ts, g), project: r.ProjectID, provider: r.Provider, model: r.Model}
			a := agg[k]
			if a == nil {
				a = &rollupRow{Granularity: g, BucketStart: k.bucket, ProjectID: k.project, Provider: k.provider, Model: k.model}
				agg[k] = a
				order = append(order, k)
			}
			a.Requests++
			if r.Status != UsageStatusOK {
				a.Errors++
			}
			a.InputTokens += r.InputTokens
			a.CachedInputTokens += r.CachedInputTokens
			a.CacheWriteTokens += r.CacheWriteTokens
			a.OutputTokens += r.OutputTokens
			a.ChargedMicroCredits += r.ChargedMicroCredits
		}
	}
	// One row per key within a statement: PostgreSQL refuses to update the
	// same row twice in one INSERT ... ON CONFLICT.
	rollups := make([]rollupRow, len(order))
	for i, k := range order {
		rollups[i] = *agg[k]
	}
	err := s.writeLazy(ctx, func(tx *gorm.DB) error {
		if err := s.insertUsageRows(tx, rows, yield); err != nil {
			return dbErr("insert usage records", err)
		}
		if yield != nil {
			yield()
		}
		if err := tx.Clauses(rollupUpsert()).CreateInBatches(&rollups, usageInsertBatch).Error; err != nil {
			return dbErr("upsert usage rollups", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write %d usage records: %w", len(recs), err)
	}
	return nil
}

const usageInsertSQL = "INSERT INTO usage_records (id, request_id, ts, user_id, project_id, key_id, provider, model, " +
	"strategy, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, estimated_micro_credits, " +
	"charged_micro_credits, latency_ms, status, attempts, price_version, unpriced) " +
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// insertUsageRows inserts rows in tx. With a yield on SQLite it runs one
// short statement per row and yields between them, so the transaction
// never holds the CPU for more than one row at a time; otherwise it sends
// multi-row statements.
func (s *Store) insertUsageRows(tx *gorm.DB, rows []usageRow, yield func()) error {
	if yield == nil || s.dialect != DialectSQLite {
		return tx.CreateInBatches(&rows, usageInsertBatch).Error
	}
	ctx := tx.Statement.Context
	for i := range rows {
		if i > 0 {
			yield()
		}
		r := &rows[i]
		if _, err := tx.Statement.ConnPool.ExecContext(ctx, usageInsertSQL, r.ID, r.RequestID, r.TS, r.UserID,
			r.ProjectID, r.KeyID, r.Provider, r.Model, r.Strategy, r.InputTokens, r.CachedInputTokens,
			r.CacheWriteTokens, r.OutputTokens, r.EstimatedMicroCredits, r.ChargedMicroCredits, r.LatencyMS, r.Status, r.Attempts, r.PriceVersion,
			r.Unpriced); err != nil {
			// Raw statements bypass gorm's error translation, which
			// turns a duplicate id into ErrDuplicatedKey (ErrConflict).
			if t, ok := tx.Dialector.(gorm.ErrorTranslator); ok {
				err = t.Translate(err)
			}
			return err
		}
	}
	return nil
}

func bucketStart(t time.Time, gran string) time.Time {
	t = t.UTC()
	if gran == granDay {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return t.Truncate(time.Hour)
}

// deleteBatch bounds one retention DELETE so SQLite's writer is never held
// for long.
const deleteBatch = 5000

// DeleteUsageBefore deletes raw usage records older than t, in batches, and
// returns how many it deleted. Rollups are kept: they are small (one row per
// project, model and hour or day) and the analytics read them.
func (s *Store) DeleteUsageBefore(ctx context.Context, t time.Time) (int64, error) {
	t = dbTime(t)
	var total int64
	for {
		res := s.wdb.WithContext(ctx).Exec(
			"DELETE FROM usage_records WHERE id IN (SELECT id FROM usage_records WHERE ts < ? LIMIT ?)", t, deleteBatch)
		if res.Error != nil {
			return total, dbErr("delete old usage records", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < deleteBatch {
			return total, nil
		}
	}
}

// UsageWriterOptions tunes a UsageWriter. Zero values pick the defaults.
type UsageWriterOptions struct {
	BatchSize int // records gathered before a write; default 500
	// ChunkSize is how many records one transaction carries; a batch is
	// written as several paced transactions (see commit). Default 16.
	ChunkSize     int
	FlushInterval time.Duration // longest a record waits in the queue; default 1s
	QueueSize     int           // records buffered in memory; default 10000
	// EnqueueTimeout is how long Write blocks when the queue is full
	// before dropping the record; default 5ms, negative never blocks.
	EnqueueTimeout time.Duration
	// CheckpointEvery is how many transactions the writer commits between
	// two checkpoints of SQLite's write-ahead log (see Store.Checkpoint),
	// each paced like a transaction; default 8, negative never. Left to
	// SQLite, a checkpoint ran inside whichever commit filled the log to
	// 1000 pages (about 60 usage transactions) and held the CPU for 2 ms
	// and the connection for 4 ms, once a second at 1000 requests a
	// second; eight transactions' worth is a checkpoint about as long as a
	// transaction.
	CheckpointEvery int
	// WriteTimeout bounds one batch transaction; default 10s.
	WriteTimeout time.Duration
	// Retries is how many times a failed batch is retried (with a short
	// doubling pause from 100ms) before it is dropped; default 2, negative
	// means none.
	Retries int
	// OnError is told about every batch that failed for good (the records
	// are counted in Stats().Failed). It runs on the writer's goroutine.
	OnError func(err error, records int)
}

// UsageWriterStats are counters for metrics.
type UsageWriterStats struct {
	Written int64 // records committed
	Dropped int64 // records refused by Write (queue full or closed)
	Failed  int64 // records lost to batches that failed for good
	Batches int64 // transactions committed
	Queued  int   // records waiting now
}

// UsageWriter batches usage records in memory and writes them on one
// background goroutine. See the package doc for its loss bounds.
type UsageWriter struct {
	store *Store
	opts  UsageWriterOptions

	queue    chan UsageRecord
	flushReq chan chan error
	closeReq chan context.Context
	done     chan struct{}

	mu     sync.RWMutex // Write holds it shared; Close exclusively
	closed bool
	once   sync.Once

	written, dropped, failed, batches atomic.Int64

	sinceCheckpoint int       // transactions since the last checkpoint; the writer goroutine's own
	yielder         *netYield // nil when its pipe could not be made
}

// NewUsageWriter starts a writer on s. Close it to flush and stop.
func NewUsageWriter(s *Store, opts UsageWriterOptions) *UsageWriter {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 16
	}
	if opts.CheckpointEvery == 0 {
		opts.CheckpointEvery = 8
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10000
	}
	if opts.EnqueueTimeout == 0 {
		opts.EnqueueTimeout = 5 * time.Millisecond
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.Retries == 0 {
		opts.Retries = 2
	}
	w := &UsageWriter{
		store:    s,
		opts:     opts,
		queue:    make(chan UsageRecord, opts.QueueSize),
		flushReq: make(chan chan error),
		closeReq: make(chan context.Context, 1),
		done:     make(chan struct{}),
	}
	// Without the pipe (out of file descriptors, say) the writer still
	// works: it inserts a transaction's rows in one statement.
	if y, err := newNetYield(); err == nil {
		w.yielder = y
	}
	go w.run()
	return w
}

// Write enqueues rec and reports whether it was accepted. It never touches
// the database. When the queue is full it waits up to EnqueueTimeout (the
// back-pressure bound on the request path), then drops rec and counts it in
// Stats().Dropped. After Close it drops everything.
func (w *UsageWriter) Write(rec UsageRecord) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return false
	}
	select {
	case w.queue <- rec:
		return true
	default:
	}
	if w.opts.EnqueueTimeout < 0 {
		w.dropped.Add(1)
		return false
	}
	t := time.NewTimer(w.opts.EnqueueTimeout)
	defer t.Stop()
	select {
	case w.queue <- rec:
		return true
	case <-t.C:
		w.dropped.Add(1)
		return false
	}
}

// Flush writes every record accepted before the call and returns the last
// batch error, if any.
func (w *UsageWriter) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.flushReq <- reply:
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush usage: %w", ctx.Err())
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("flush usage: %w", ctx.Err())
	}
}

// Close stops accepting records, writes everything queued and stops the
// goroutine. ctx bounds the final writes: when it ends first, what is still
// queued is lost (counted as failed) and ctx's error returned.
func (w *UsageWriter) Close(ctx context.Context) error {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		w.closeReq <- ctx
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close usage writer: %w", ctx.Err())
	}
}

// Stats returns the writer's counters.
func (w *UsageWriter) Stats() UsageWriterStats {
	return UsageWriterStats{
		Written: w.written.Load(), Dropped: w.dropped.Load(), Failed: w.failed.Load(),
		Batches: w.batches.Load(), Queued: len(w.queue),
	}
}

func (w *UsageWriter) run() {
	defer close(w.done)
	if w.yielder != nil {
		defer w.yielder.Close()
	}
	batch := make([]UsageRecord, 0, w.opts.BatchSize)
	ticker := time.NewTicker(w.opts.FlushInterval)
	defer ticker.Stop()
	commit := func(ctx context.Context, paced bool) error {
		if len(batch) == 0 {
			return nil
		}
		err := w.commit(ctx, batch, paced)
		batch = batch[:0]
		return err
	}
	// drain moves everything queued into batches and commits them.
	drain := func(ctx context.Context) error {
		var last error
		for {
			select {
			case rec := <-w.queue:
				batch = append(batch, rec)
				if len(batch) >= w.opts.BatchSize {
					if err := commit(ctx, false); err != nil {
						last = err
					}
				}
			default:
				if err := commit(ctx, false); err != nil {
					last = err
				}
				return last
			}
		}
	}
	for {
		select {
		case rec := <-w.queue:
			batch = append(batch, rec)
			if len(batch) >= w.opts.BatchSize {
				_ = commit(context.Background(), true)
			}
		case <-ticker.C:
			_ = commit(context.Background(), true)
		case reply := <-w.flushReq:
			reply <- drain(context.Background())
		case ctx := <-w.closeReq:
			// Write can no longer enqueue (closed is set under the lock),
			// so one drain empties the queue for good.
			_ = drain(ctx)
			return
		}
	}
}

// commit writes recs in transactions of ChunkSize records. Paced, it
// pauses after each transaction (see pause); a flush or the final drain
// writes as fast as it can.
func (w *UsageWriter) commit(ctx context.Context, recs []UsageRecord, paced bool) error {
	// IDs are fixed before the first attempt so that a retry after a lost
	// commit acknowledgement hits the primary key instead of writing the
	// records twice; that conflict then means "already written".
	now := w.store.now()
	for i := range recs {
		if recs[i].ID == "" {
			recs[i].ID = newID("use", now)
		}
	}
	var last error
	for start := 0; start < len(recs); start += w.opts.ChunkSize {
		chunk := recs[start:min(start+w.opts.ChunkSize, len(recs))]
		began := time.Now()
		if err := w.commitChunk(ctx, chunk); err != nil {
			last = err
		}
		more := start+len(chunk) < len(recs)
		w.sinceCheckpoint++
		if w.opts.CheckpointEvery > 0 && w.sinceCheckpoint >= w.opts.CheckpointEvery {
			if paced {
				w.pause(time.Since(began))
			}
			began = time.Now()
			// A failed checkpoint loses nothing: the log keeps the pages
			// and SQLite's own automatic checkpoint still bounds its size.
			_ = w.store.Checkpoint(ctx)
			w.sinceCheckpoint = 0
		}
		if paced && more {
			w.pause(time.Since(began))
		}
	}
	return last
}

// Pacing of the usage writer. On a gateway with one CPU the writer and the
// requests share it, and Go's scheduler has no priorities: a goroutine
// woken by a timer or a channel runs next, ahead of every request already
// waiting, and a goroutine that only calls runtime.Gosched starves the
// network poller (the scheduler serves its run queues before it polls, so
// ready connections wait for sysmon's 10 ms poll). Writing a 500-record
// batch in one go held the CPU for ~15 ms and was the gateway's p99. So
// the writer writes a small transaction, then sleeps several times as long
// as that took: requests queued meanwhile are served first, and the writer
// takes at most 1/(1+usagePauseFactor) of the CPU while it has work. On
// SQLite, within a transaction, it also steps aside for the network after
// every row (see netYield): a 16-row statement held the CPU for ~450 µs,
// one row takes ~15 µs, and the commit that follows ~150 µs.
const (
	usagePauseFactor = 4
	usageMinPause    = 200 * time.Microsecond
	usageMaxPause    = 20 * time.Millisecond
)

// pause sleeps after a transaction that took took, unless the queue is
// backing up: then throughput matters more than the CPU share, since a full
// queue drops records.
func (w *UsageWriter) pause(took time.Duration) {
	if len(w.queue) > cap(w.queue)/2 {
		return
	}
	time.Sleep(min(max(took*usagePauseFactor, usageMinPause), usageMaxPause))
}

// commitChunk writes one transaction, retrying transient failures a
// bounded number of times. Records that keep failing are dropped so that
// one poison record or a long outage cannot grow memory without bound.
func (w *UsageWriter) commitChunk(parent context.Context, recs []UsageRecord) error {
	pause := 100 * time.Millisecond
	var err error
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(parent, w.opts.WriteTimeout)
		err = w.store.insertUsage(ctx, recs, w.yielder.yieldFunc())
		cancel()
		if err == nil || (attempt > 0 && errors.Is(err, ErrConflict)) {
			w.written.Add(int64(len(recs)))
			w.batches.Add(1)
			return nil
		}
		if attempt >= w.opts.Retries || parent.Err() != nil || errors.Is(err, ErrInvalidArgument) {
			break
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-parent.Done():
			t.Stop()
		}
		pause *= 2
	}
	w.failed.Add(int64(len(recs)))
	if w.opts.OnError != nil {
		w.opts.OnError(err, len(recs))
	}
	return err
}
