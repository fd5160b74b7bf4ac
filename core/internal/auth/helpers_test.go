package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/clocktest"
)

// fakeClock is a settable clock safe for concurrent use.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

// constReader returns b forever; a broken source of randomness.
type constReader byte

func (r constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// assertNoSecrets fails if err's text contains any of secrets.
func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Fatalf("error %q leaks a secret", msg)
		}
	}
}

func ptr[T any](v T) *T { return &v }
