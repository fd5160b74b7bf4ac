package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oneflow-ai/oneflow/core/internal/clocktest"
)

// fakeClock is a settable clock for the memory store.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

func testRedisURL() string {
	if u := os.Getenv("ONEFLOW_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// newTestRedisClient connects to the test Redis; under CI=true a missing
// Redis fails the test, elsewhere it skips.
func newTestRedisClient(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testRedisURL())
	if err != nil {
		t.Fatalf("ONEFLOW_TEST_REDIS_URL is not a redis URL")
	}
	opts.DialerRetries = 1 // a missing Redis should fail (or skip) fast
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis at ONEFLOW_TEST_REDIS_URL unreachable under CI: %v", err)
		}
		t.Skipf("redis unreachable, skipping: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// testPrefix returns a key prefix unique to this test and deletes its keys
// afterwards.
func testPrefix(t testing.TB, client *redis.Client) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random prefix: %v", err)
	}
	prefix := "oneflow-test:idem:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	return prefix
}
