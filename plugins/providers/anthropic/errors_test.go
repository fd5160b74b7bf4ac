package main

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// callers returns the three vendor calls; every error path is checked on
// each.
func callers() map[string]func(p *Plugin, ctx context.Context) error {
	return map[string]func(p *Plugin, ctx context.Context) error{
		"Chat": func(p *Plugin, ctx context.Context) error {
			_, err := p.Chat(ctx, textRequest(user("Hello")))
			return err
		},
		"ChatStream": func(p *Plugin, ctx context.Context) error {
			return p.ChatStream(ctx, textRequest(user("Hello")), func(*provider.ChatChunk) error { return nil })
		},
		"CountTokens": func(p *Plugin, ctx context.Context) error {
			_, err := p.CountTokens(ctx, textRequest(user("Hello")))
			return err
		},
	}
}

func TestVendorErrorStatuses(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		kind       provider.Kind
		wantRetry  time.Duration
		wantMsg    string
	}{
		// Bodies: testdata/errors/<status>.json, ErrorResponse per the spec
		// and the errors page (testdata/README.md).
		{status: 400, kind: provider.KindInvalidRequest, wantMsg: "invalid_request_error: Invalid request"},
		{status: 401, kind: provider.KindAuth, wantMsg: "authentication_error: Authentication error"},
		{status: 403, kind: provider.KindAuth, wantMsg: "permission_error: Permission denied"},
		{status: 404, kind: provider.KindInvalidRequest, wantMsg: "not_found_error: Not found"},
		{status: 413, kind: provider.KindInvalidRequest, wantMsg: "request_too_large"},
		{status: 422, kind: provider.KindInvalidRequest, wantMsg: "invalid_request_error"},
		{status: 429, retryAfter: "12", kind: provider.KindRateLimited, wantRetry: 12 * time.Second, wantMsg: "rate_limit_error: Rate limited"},
		{status: 500, kind: provider.KindUnavailable, wantMsg: "api_error: Internal server error"},
		{status: 529, kind: provider.KindUnavailable, wantMsg: "overloaded_error: Overloaded"},
	}
	for _, tc := range tests {
		for name, call := range callers() {
			t.Run(http.StatusText(tc.status)+"/"+name, func(t *testing.T) {
				srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					if tc.retryAfter != "" {
						w.Header().Set("retry-after", tc.retryAfter)
					}
					w.WriteHeader(tc.status)
					_, _ = w.Write(readTestdata(t, "errors/"+strconv.Itoa(tc.status)+".json"))
				})
				err := call(newPlugin(t, srv.URL, nil), context.Background())
				pe := asProviderError(t, err)
				if pe.Kind != tc.kind || pe.Status != tc.status || pe.RetryAfter != tc.wantRetry {
					t.Errorf("got kind %s status %d retry %s, want %s %d %s", pe.Kind, pe.Status, pe.RetryAfter, tc.kind, tc.status, tc.wantRetry)
				}
				if !strings.Contains(pe.Message, tc.wantMsg) || !strings.Contains(pe.Message, "req_011CSHoEeqs5C35K2UUqR7Fy") {
					t.Errorf("message %q lacks the vendor's %q and request id", pe.Message, tc.wantMsg)
				}
				if pe.Partial != nil {
					t.Errorf("partial usage %+v for a refused request", *pe.Partial)
				}
				assertNoKey(t, err)
			})
		}
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write(readTestdata(t, "errors/429.json"))
	})
	p := &Plugin{now: func() time.Time { return time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC) }}
	if err := p.Configure(context.Background(), provider.Config{APIKey: testKey, BaseURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	_, err := p.Chat(context.Background(), textRequest(user("Hello")))
	if pe := asProviderError(t, err); pe.Kind != provider.KindRateLimited || pe.RetryAfter != 30*time.Second {
		t.Errorf("got kind %s retry %s, want rate_limited 30s", pe.Kind, pe.RetryAfter)
	}
}

func TestUnparsableErrorBody(t *testing.T) {
	// Not an Anthropic body: what a proxy or load balancer in front of it
	// may answer.
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	})
	err := call(t, srv.URL, "Chat")
	pe := asProviderError(t, err)
	if pe.Kind != provider.KindUnavailable || pe.Status != 502 || !strings.Contains(pe.Message, "HTTP 502") {
		t.Errorf("got %+v, want unavailable, status 502, a message naming the status", pe)
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	// Deliberately broken: a truncated Message (spec schema Message).
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"content": "not blocks"`))
	})
	for name := range callers() {
		if name == "ChatStream" {
			continue // a stream without events is covered in stream_test.go
		}
		t.Run(name, func(t *testing.T) {
			if k := provider.KindOf(call(t, srv.URL, name)); k != provider.KindUnavailable {
				t.Errorf("kind %s, want unavailable", k)
			}
		})
	}
}

// TestKeyNeverInErrors makes the fake vendor echo the key it received in
// every error it can produce; none of it may reach an error.
func TestKeyNeverInErrors(t *testing.T) {
	// Bodies in the spec's ErrorResponse and the streaming page's error
	// event shapes, made worst-case by quoting the key.
	echo := map[string]http.HandlerFunc{
		"error body": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key: ` +
				r.Header.Get("x-api-key") + `"},"request_id":"req_1"}`))
		},
		"error event": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte(`event: error` + "\n" + `data: {"type":"error","error":{"type":"api_error","message":"key ` +
				r.Header.Get("x-api-key") + `"}}` + "\n\n"))
		},
		"malformed body": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id": ` + r.Header.Get("x-api-key") + `}`))
		},
	}
	for hname, h := range echo {
		for cname := range callers() {
			t.Run(hname+"/"+cname, func(t *testing.T) {
				srv := serve(t, h)
				assertNoKey(t, call(t, srv.URL, cname))
			})
		}
	}
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		for cname := range callers() {
			err := call(t, "http://"+addr, cname)
			if k := provider.KindOf(err); k != provider.KindUnavailable {
				t.Errorf("%s: kind %s, want unavailable (%v)", cname, k, err)
			}
			assertNoKey(t, err)
		}
	})
}

func call(t *testing.T, baseURL, name string) error {
	t.Helper()
	return callers()[name](newPlugin(t, baseURL, nil), context.Background())
}
