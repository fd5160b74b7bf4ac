package fakeupstream

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const chatJSON = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}`

// post sends a chat request with an extra header and returns the status,
// the Retry-After header and the body.
func post(t *testing.T, ctx context.Context, url string) (int, string, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", strings.NewReader(chatJSON))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Marker", "m1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), b, err
}

func start(t *testing.T, f Faults) (*Server, string) {
	t.Helper()
	s := New(f, 1)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		faults     Faults
		status     int
		retryAfter string
	}{
		{"healthy", Faults{}, 200, ""},
		{"error", Faults{ErrorRate: 1}, 500, ""},
		{"429 burst", Faults{Burst429: 1, RetryAfter: 2}, 429, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, url := start(t, tt.faults)
			status, ra, body, err := post(t, context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			if status != tt.status || ra != tt.retryAfter {
				t.Fatalf("got %d Retry-After %q (%s); want %d %q", status, ra, body, tt.status, tt.retryAfter)
			}
			if s.Requests.Load() != 1 {
				t.Fatalf("Requests = %d, want 1", s.Requests.Load())
			}
		})
	}
}

func TestBurstEndsAfterN(t *testing.T) {
	_, url := start(t, Faults{Burst429: 2, RetryAfter: 1})
	var got []int
	for i := 0; i < 3; i++ {
		status, _, _, err := post(t, context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, status)
	}
	if got[0] != 429 || got[1] != 429 || got[2] != 200 {
		t.Fatalf("statuses %v, want [429 429 200]", got)
	}
}

// TestClientGoneIsCounted: a client that gives up during a hang or a
// latency wait is seen as a cancellation, although the handler never
// needed the body to decide (net/http notices a closed connection only
// once the body is consumed).
func TestClientGoneIsCounted(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
	}{
		{"hang", Faults{HangRate: 1}},
		{"latency", Faults{Latency: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, url := start(t, tt.faults)
			// Long enough for the request to reach the handler on a
			// loaded machine: only then is it counted as cancelled.
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if _, _, _, err := post(t, ctx, url); err == nil {
				t.Fatal("a request that should wait returned")
			}
			deadline := time.Now().Add(5 * time.Second)
			for s.Canceled.Load() != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("Canceled = %d, want 1", s.Canceled.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestRecording(t *testing.T) {
	s, url := start(t, Faults{})
	if _, _, _, err := post(t, context.Background(), url); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Seen()); n != 0 {
		t.Fatalf("recorded %d requests with recording off", n)
	}

	s.SetRecording(true)
	before := time.Now()
	status, _, body, err := post(t, context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	// The handler still reads the body after recording consumed it.
	var out struct {
		Object string `json:"object"`
	}
	if status != 200 || json.Unmarshal(body, &out) != nil || out.Object != "chat.completion" {
		t.Fatalf("recorded request answered %d %s", status, body)
	}
	seen := s.Seen()
	if len(seen) != 1 {
		t.Fatalf("recorded %d requests, want 1", len(seen))
	}
	got := seen[0]
	if got.Method != http.MethodPost || got.Path != "/v1/chat/completions" || string(got.Body) != chatJSON ||
		got.Header.Get("X-Test-Marker") != "m1" || got.At.Before(before) {
		t.Fatalf("recorded %+v", got)
	}
	// Seen returns a copy: changing it does not change the record.
	seen[0].Path = "changed"
	if s.Seen()[0].Path != "/v1/chat/completions" {
		t.Fatal("Seen exposes the server's own slice")
	}

	s.SetRecording(false)
	if _, _, _, err := post(t, context.Background(), url); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Seen()); n != 1 {
		t.Fatalf("recorded %d requests after recording was turned off, want 1", n)
	}
}
