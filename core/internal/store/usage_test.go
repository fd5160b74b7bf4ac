package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func countUsage(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.rdb.WithContext(ctxT(t)).Table("usage_records").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func rec(i int) UsageRecord {
	return UsageRecord{
		RequestID: fmt.Sprintf("req-%d", i), ProjectID: "p1", Provider: "openai", Model: "gpt-4o",
		InputTokens: 10, OutputTokens: 5, ChargedMicroCredits: 100, Status: UsageStatusOK, Attempts: 1,
		Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestUsageWriterBatching(t *testing.T) {
	cases := []struct {
		name        string
		batchSize   int
		chunkSize   int
		records     int
		wantBatches int64 // transactions
	}{
		{"full batches then a flushed tail", 10, 0, 35, 4},
		{"batches written in chunks", 100, 16, 100, 7},
		// One transaction holding more rows than one INSERT statement.
		{"batch larger than one statement", 600, 600, 600, 1},
		{"nothing to write", 10, 0, 0, 0},
	}
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		var written int64
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := ctxT(t)
				w := NewUsageWriter(s, UsageWriterOptions{
					BatchSize: tc.batchSize, ChunkSize: tc.chunkSize, FlushInterval: time.Hour, QueueSize: 1000,
				})
				defer w.Close(ctx)
				for i := range tc.records {
					if !w.Write(rec(i)) {
						t.Fatalf("write %d refused", i)
					}
				}
				if err := w.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				st := w.Stats()
				if st.Written != int64(tc.records) || st.Batches != tc.wantBatches || st.Dropped != 0 || st.Failed != 0 || st.Queued != 0 {
					t.Fatalf("stats = %+v, want %d written in %d batches", st, tc.records, tc.wantBatches)
				}
				written += int64(tc.records)
				if n := countUsage(t, s); n != written {
					t.Fatalf("%d rows stored, want %d", n, written)
				}
			})
		}
		// Rollups summed every batch into one hour and one day bucket.
		sum, err := s.UsageSummary(ctxT(t), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Total.Requests != written || sum.Total.ChargedMicroCredits != 100*written {
			t.Fatalf("summary total = %+v, want %d requests", sum.Total, written)
		}
	})
}

func TestUsageWriterFlushesOnCloseAndInterval(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		w := NewUsageWriter(s, UsageWriterOptions{BatchSize: 100, FlushInterval: time.Hour})
		for i := range 7 {
			w.Write(rec(i))
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n := countUsage(t, s); n != 7 {
			t.Fatalf("after Close %d rows, want 7", n)
		}
		if w.Write(rec(99)) {
			t.Fatal("Write after Close accepted")
		}
		if st := w.Stats(); st.Dropped != 1 || st.Written != 7 {
			t.Fatalf("stats after Close = %+v", st)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatalf("Flush after Close: %v", err)
		}

		w2 := NewUsageWriter(s, UsageWriterOptions{BatchSize: 100, FlushInterval: 20 * time.Millisecond})
		defer w2.Close(ctx)
		for i := range 3 {
			w2.Write(rec(100 + i))
		}
		deadline := time.Now().Add(10 * time.Second)
		for countUsage(t, s) != 10 {
			if time.Now().After(deadline) {
				t.Fatalf("interval flush never wrote; stats %+v", w2.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestUsageWriterBackPressure(t *testing.T) {
	// With the database stalled, Write blocks at most EnqueueTimeout once
	// the queue is full, then drops and counts; nothing accepted is lost.
	const (
		queue   = 4
		timeout = 30 * time.Millisecond
	)
	forEachBackend(t, Options{MaxOpenConns: 1}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		// Stall the writer: hold its only connection in a transaction.
		tx := s.wdb.WithContext(ctx).Begin()
		if tx.Error != nil {
			t.Fatal(tx.Error)
		}
		w := NewUsageWriter(s, UsageWriterOptions{BatchSize: 1, FlushInterval: time.Hour, QueueSize: queue,
			EnqueueTimeout: timeout, WriteTimeout: time.Minute})
		if !w.Write(rec(0)) {
			t.Fatal("first write refused")
		}
		// Let the loop take it and block in the database.
		deadline := time.Now().Add(5 * time.Second)
		for w.Stats().Queued != 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		for i := 1; i <= queue; i++ {
			if !w.Write(rec(i)) {
				t.Fatalf("write %d refused with room in the queue", i)
			}
		}
		startAt := time.Now()
		accepted := w.Write(rec(queue + 1))
		blocked := time.Since(startAt)
		if accepted {
			t.Fatal("write accepted into a full queue")
		}
		if blocked < timeout/2 || blocked > timeout+time.Second {
			t.Fatalf("Write blocked %s, want about %s", blocked, timeout)
		}
		w.opts.EnqueueTimeout = -1 // never block: drop at once
		if w.Write(rec(queue + 2)) {
			t.Fatal("non-blocking write accepted into a full queue")
		}
		if st := w.Stats(); st.Dropped != 2 || st.Written != 0 {
			t.Fatalf("stats while stalled = %+v", st)
		}
		if err := tx.Rollback().Error; err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Written != queue+1 || st.Failed != 0 {
			t.Fatalf("stats after Close = %+v, want %d written", st, queue+1)
		}
		if n := countUsage(t, s); n != queue+1 {
			t.Fatalf("%d rows, want %d", n, queue+1)
		}
	})
}

func TestUsageWriterFailedBatch(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		// Break the rollups: the whole batch transaction must roll back.
		if err := s.wdb.WithContext(ctx).Exec("DROP TABLE usage_rollups").Error; err != nil {
			t.Fatal(err)
		}
		var reported atomic.Int64
		w := NewUsageWriter(s, UsageWriterOptions{BatchSize: 5, FlushInterval: time.Hour, Retries: 1,
			OnError: func(err error, n int) { reported.Add(int64(n)) }})
		for i := range 5 {
			w.Write(rec(i))
		}
		// Whether the batch fails in the loop or in Flush's drain depends
		// on scheduling; the counters below are what must hold.
		_ = w.Flush(ctx)
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Failed != 5 || st.Written != 0 || reported.Load() != 5 {
			t.Fatalf("stats = %+v, reported %d", st, reported.Load())
		}
		if n := countUsage(t, s); n != 0 {
			t.Fatalf("%d raw rows survived a failed batch", n)
		}
	})
}

func TestFlushReportsError(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		if err := s.wdb.WithContext(ctx).Exec("DROP TABLE usage_records").Error; err != nil {
			t.Fatal(err)
		}
		w := NewUsageWriter(s, UsageWriterOptions{BatchSize: 100, FlushInterval: time.Hour, Retries: -1})
		defer w.Close(ctx)
		w.Write(rec(1))
		if err := w.Flush(ctx); err == nil {
			t.Fatal("Flush hid a failed batch")
		}
	})
}

func TestUsageWriterConcurrentWriters(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		w := NewUsageWriter(s, UsageWriterOptions{BatchSize: 50, FlushInterval: 5 * time.Millisecond, QueueSize: 10000})
		done := make(chan int64)
		for g := range 8 {
			go func() {
				var ok int64
				for i := range 250 {
					if w.Write(rec(g*1000 + i)) {
						ok++
					}
				}
				done <- ok
			}()
		}
		var accepted int64
		for range 8 {
			accepted += <-done
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		if st.Written != accepted || st.Written+st.Dropped != 2000 {
			t.Fatalf("stats = %+v, accepted %d", st, accepted)
		}
		if n := countUsage(t, s); n != accepted {
			t.Fatalf("%d rows, want %d", n, accepted)
		}
	})
}

func TestDeleteUsageBefore(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		base := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
		var recs []UsageRecord
		for i := range 12 {
			r := rec(i)
			r.Time = base.Add(time.Duration(i) * 90 * time.Minute).Add(time.Duration(i) * time.Millisecond)
			recs = append(recs, r)
		}
		if err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}
		before, _ := s.UsageSummary(ctx, Filter{})
		// Records 0..6 are strictly before this instant (6 is 1ms before it).
		cut := base.Add(6*90*time.Minute + 7*time.Millisecond)
		n, err := s.DeleteUsageBefore(ctx, cut)
		if err != nil || n != 7 {
			t.Fatalf("DeleteUsageBefore = %d, %v; want 7", n, err)
		}
		if got := countUsage(t, s); got != 5 {
			t.Fatalf("%d rows left, want 5", got)
		}
		after, _ := s.UsageSummary(ctx, Filter{})
		if after.Total != before.Total {
			t.Fatalf("rollups changed by retention: %+v -> %+v", before.Total, after.Total)
		}
	})
}

// BenchmarkInsertUsageSQLite measures the usage writer's cost per record on
// the default store: it runs on the core's own CPU, so every microsecond
// here is taken from requests.
func BenchmarkInsertUsageSQLite(b *testing.B) {
	ctx := context.Background()
	s := openBenchStore(b)
	const batch = 16 // the writer's default ChunkSize: one transaction
	recs := make([]UsageRecord, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		for j := range recs {
			recs[j] = UsageRecord{
				RequestID: fmt.Sprintf("req-%d-%d", i, j), ProjectID: "prj_default", KeyID: "key_admin",
				Provider: "openai", Model: "gpt-4o-mini", Strategy: "cost", InputTokens: 12, OutputTokens: 40,
				EstimatedMicroCredits: 900, ChargedMicroCredits: 700, LatencyMS: 1, Attempts: 1, PriceVersion: "v1",
			}
		}
		if err := s.InsertUsage(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
}

// A usage commit relaxes durability for itself only: the writer connection
// the ledger commits on must be back at synchronous=FULL (2) afterwards.
func TestInsertUsageKeepsLedgerCommitsDurable(t *testing.T) {
	s := openTestStore(t, "sqlite://"+t.TempDir()+"/durable.db", Options{})
	ctx := ctxT(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertUsage(ctx, []UsageRecord{rec(1), rec(2)}); err != nil {
		t.Fatal(err)
	}
	var level int
	if err := s.wdb.WithContext(ctx).Raw("PRAGMA synchronous").Scan(&level).Error; err != nil {
		t.Fatal(err)
	}
	if level != 2 {
		t.Fatalf("writer connection synchronous = %d after a usage commit, want 2 (FULL)", level)
	}
}

// TestUsageCacheTokens: the prompt-cache counts survive the multi-row
// insert and reach the rollups, and rows written before the migration
// that added them read back as using no cache.
func TestUsageCacheTokens(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		latest, err := LatestVersion()
		if err != nil {
			t.Fatal(err)
		}
		// A row as the schema before the cache columns stored it.
		if err := s.MigrateDown(ctx); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Version(ctx); v != latest-1 {
			t.Fatalf("version %d after one step down from %d", v, latest)
		}
		old := rec(1)
		old.RequestID, old.ID = "req-before-cache", "use_before_cache"
		if err := s.wdb.WithContext(ctx).Exec("INSERT INTO usage_records (id, request_id, ts, project_id, provider, model, "+
			"input_tokens, output_tokens, charged_micro_credits, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			old.ID, old.RequestID, dbTime(old.Time), old.ProjectID, old.Provider, old.Model, old.InputTokens,
			old.OutputTokens, old.ChargedMicroCredits, old.Status).Error; err != nil {
			t.Fatalf("insert a pre-migration row: %v", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := s.UsageRecordsForRequest(ctx, "req-before-cache")
		if err != nil || len(got) != 1 || got[0].CachedInputTokens != 0 || got[0].CacheWriteTokens != 0 || got[0].InputTokens != 10 {
			t.Fatalf("pre-migration row = %+v, %v; want no cache counts", got, err)
		}

		recs := []UsageRecord{rec(2), rec(3)}
		recs[0].RequestID, recs[0].InputTokens, recs[0].CachedInputTokens, recs[0].CacheWriteTokens = "req-cache", 3000, 2048, 512
		recs[1].RequestID, recs[1].InputTokens, recs[1].CachedInputTokens = "req-cache-2", 1100, 1024
		if err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}
		got, err = s.UsageRecordsForRequest(ctx, "req-cache")
		if err != nil || len(got) != 1 || got[0].CachedInputTokens != 2048 || got[0].CacheWriteTokens != 512 {
			t.Fatalf("stored %+v, %v; want 2048 cached and 512 written", got, err)
		}
		sum, err := s.UsageSummary(ctx, Filter{UserID: ""})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Total.InputTokens != 3000+1100 || sum.Total.CachedInputTokens != 2048+1024 || sum.Total.CacheWriteTokens != 512 {
			t.Fatalf("rollup total = %+v", sum.Total)
		}
	})
}
