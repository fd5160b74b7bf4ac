package ratelimit

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

// fakeClock is a settable clock for the memory limiter.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// testRedisURL is where the integration tests find Redis.
func testRedisURL() string {
	if u := os.Getenv("ONEFLOW_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// newTestRedisClient connects to the test Redis. Under CI=true a missing
// Redis fails the test (CI must exercise the shared backend); elsewhere the
// test is skipped so a laptop without Redis can still run the package.
func newTestRedisClient(t testing.TB) *redis.Client {
	t.Helper()
	client, err := NewRedisClient(testRedisURL())
	if err != nil {
		t.Fatalf("redis client: %v", err)
	}
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

// testPrefix returns a key prefix unique to this test run and deletes its
// keys afterwards, so parallel packages and reruns never share buckets.
func testPrefix(t testing.TB, client *redis.Client) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random prefix: %v", err)
	}
	prefix := "oneflow-test:rl:" + hex.EncodeToString(b) + ":"
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
