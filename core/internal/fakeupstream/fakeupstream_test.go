package fakeupstream

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestCachedTokens: the usage of every kind of chat answer carries
// prompt_tokens_details.cached_tokens, a part of prompt_tokens.
func TestCachedTokens(t *testing.T) {
	type usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
	// usageOf returns the usage of a unary answer or of a stream's last
	// data event before [DONE].
	usageOf := func(t *testing.T, body []byte) usage {
		t.Helper()
		var out struct {
			Usage *usage `json:"usage"`
		}
		if !strings.HasPrefix(string(body), "data: ") {
			if err := json.Unmarshal(body, &out); err != nil || out.Usage == nil {
				t.Fatalf("no usage in %s (%v)", body, err)
			}
			return *out.Usage
		}
		for _, ev := range strings.Split(string(body), "\n\n") {
			data, ok := strings.CutPrefix(ev, "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			if err := json.Unmarshal([]byte(data), &out); err != nil {
				t.Fatalf("bad event %q: %v", data, err)
			}
		}
		if out.Usage == nil {
			t.Fatalf("no usage event in %s", body)
		}
		return *out.Usage
	}
	// "Say hello" with its quotes is 11 bytes: 2 prompt tokens.
	bodies := map[string]string{
		"unary":       chatJSON,
		"stream":      `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello"}]}`,
		"tool":        `{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"Say hello"}]}`,
		"tool stream": `{"model":"m","stream":true,"stream_options":{"include_usage":true},"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"Say hello"}]}`,
	}
	for _, cached := range []struct{ set, want int }{{0, 0}, {1, 1}, {100, 2}, {-5, 0}} {
		for name, body := range bodies {
			t.Run(fmt.Sprintf("%s/%d", name, cached.set), func(t *testing.T) {
				s, url := start(t, Faults{})
				s.CachedTokens = cached.set
				resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				u := usageOf(t, b)
				if u.PromptTokens != 2 || u.PromptTokensDetails.CachedTokens != cached.want {
					t.Errorf("usage %+v, want 2 prompt tokens of which %d cached", u, cached.want)
				}
			})
		}
	}
}
