package vendorhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// streamServer sends a chunk every gap, n times, then holds the response
// open (without ending it) for hold.
func streamServer(t *testing.T, n int, gap, hold time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := 0; i < n; i++ {
			if i > 0 {
				select {
				case <-time.After(gap):
				case <-r.Context().Done():
					return
				}
			}
			_, _ = io.WriteString(w, "data: {}\n\n")
			w.(http.Flusher).Flush()
		}
		select {
		case <-time.After(hold):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestIdleTimeout(t *testing.T) {
	const read = 300 * time.Millisecond
	tests := []struct {
		name      string
		chunks    int
		gap, hold time.Duration
		wantIdle  bool
	}{
		// Ten chunks 100 ms apart take a second, more than the read
		// timeout, but no silence is that long: the stream is not cut.
		{"steady slow stream", 10, 100 * time.Millisecond, 0, false},
		// Two chunks, then silence: cut about one read timeout later.
		{"stalled stream", 2, 50 * time.Millisecond, 10 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := streamServer(t, tt.chunks, tt.gap, tt.hold)
			c := NewClient(provider.Config{ReadTimeout: read})
			ctx := context.Background()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			start := time.Now()
			_, err = io.ReadAll(resp.Body)
			took := time.Since(start)
			var idle *IdleError
			if got := errors.As(err, &idle); got != tt.wantIdle {
				t.Fatalf("ReadAll err = %v, want an IdleError: %v", err, tt.wantIdle)
			}
			if !tt.wantIdle {
				return
			}
			if took > 3*time.Second {
				t.Errorf("a stalled stream was cut after %v; want about %v after its last chunk", took, read)
			}
			if pe := TransportError(ctx, "read stream", err); pe.Kind != provider.KindTimeout {
				t.Errorf("TransportError kind = %v, want timeout", pe.Kind)
			}
		})
	}
}

// TestIdleTimeoutLeavesCallerCancellationAlone: a caller that cancels is
// still reported as a cancellation, not as a vendor gone quiet.
func TestIdleTimeoutLeavesCallerCancellationAlone(t *testing.T) {
	url := streamServer(t, 1, 0, 10*time.Second)
	c := NewClient(provider.Config{ReadTimeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = io.ReadAll(resp.Body)
	var idle *IdleError
	if err == nil || errors.As(err, &idle) {
		t.Fatalf("ReadAll err = %v, want the caller's cancellation", err)
	}
	if pe := TransportError(ctx, "read stream", err); pe.Kind != provider.KindCanceled {
		t.Errorf("TransportError kind = %v, want canceled", pe.Kind)
	}
}
