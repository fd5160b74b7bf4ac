package vendorhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

func TestKindForStatus(t *testing.T) {
	tests := []struct {
		status int
		want   provider.Kind
	}{
		{200, provider.KindUnknown},
		{302, provider.KindUnknown},
		{400, provider.KindInvalidRequest},
		{401, provider.KindAuth},
		{403, provider.KindAuth},
		{404, provider.KindInvalidRequest},
		{408, provider.KindTimeout},
		{409, provider.KindInvalidRequest},
		{413, provider.KindInvalidRequest},
		{422, provider.KindInvalidRequest},
		{429, provider.KindRateLimited},
		{499, provider.KindInvalidRequest},
		{500, provider.KindUnavailable},
		{502, provider.KindUnavailable},
		{503, provider.KindUnavailable},
		{504, provider.KindTimeout},
		// Anthropic's "overloaded" status; see its error docs.
		{529, provider.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			if got := KindForStatus(tt.status); got != tt.want {
				t.Errorf("KindForStatus(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		status  int
		header  http.Header
		message string
		want    *provider.Error
	}{
		{"vendor message kept", 400, nil, "max_tokens too large",
			&provider.Error{Kind: provider.KindInvalidRequest, Message: "max_tokens too large", Status: 400}},
		{"status text when no message", 503, nil, "",
			&provider.Error{Kind: provider.KindUnavailable, Message: "Service Unavailable", Status: 503}},
		{"retry after on 429", 429, http.Header{"Retry-After": {"20"}}, "slow down",
			&provider.Error{Kind: provider.KindRateLimited, Message: "slow down", Status: 429, RetryAfter: 20 * time.Second}},
		{"retry after honoured on 503 too", 503, http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, "",
			&provider.Error{Kind: provider.KindUnavailable, Message: "Service Unavailable", Status: 503, RetryAfter: 90 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: tt.header}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			got := StatusError(resp, tt.message, now)
			if *got != *tt.want {
				t.Errorf("StatusError = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRetryAfterHeaders(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"seconds with spaces", http.Header{"Retry-After": {"  3 "}}, 3 * time.Second},
		// OpenAI sends both; the millisecond one is the more precise.
		{"ms wins over seconds", http.Header{"Retry-After-Ms": {"1200"}, "Retry-After": {"2"}}, 1200 * time.Millisecond},
		{"garbage ms falls back to seconds", http.Header{"Retry-After-Ms": {"soon"}, "Retry-After": {"2"}}, 2 * time.Second},
		{"zero ms falls back to seconds", http.Header{"Retry-After-Ms": {"0"}, "Retry-After": {"2"}}, 2 * time.Second},
		{"lower-case header name", http.Header{http.CanonicalHeaderKey("retry-after-ms"): {"5"}}, 5 * time.Millisecond},
		{"RFC 850 date", http.Header{"Retry-After": {now.Add(10 * time.Second).Format(time.RFC850)}}, 10 * time.Second},
		{"garbage date", http.Header{"Retry-After": {"Fri, 99 Foo 2026 00:00:00 GMT"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.header, now); got != tt.want {
				t.Errorf("RetryAfter(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestReadErrorBodyIsBounded(t *testing.T) {
	resp := &http.Response{Body: io.NopCloser(strings.NewReader(strings.Repeat("e", 3*maxErrorBody)))}
	if got := len(ReadErrorBody(resp)); got != maxErrorBody {
		t.Errorf("read %d bytes, want %d", got, maxErrorBody)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestTransportError(t *testing.T) {
	const secret = "sk-secret-in-query"
	withURL := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://api.vendor.example/v1/chat?key=" + secret, Err: err}
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	live := context.Background()
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}

	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		want    provider.Kind
		wantMsg string
	}{
		{"caller cancelled", canceled, withURL(context.Canceled), provider.KindCanceled, "chat: canceled by caller"},
		{"caller deadline", expired, withURL(context.DeadlineExceeded), provider.KindTimeout, "chat: deadline exceeded"},
		{"deadline from the client", live, withURL(fmt.Errorf("awaiting headers: %w", context.DeadlineExceeded)), provider.KindTimeout, "deadline exceeded"},
		{"net timeout", live, withURL(timeoutErr{}), provider.KindTimeout, "chat: timed out"},
		{"connection reset", live, withURL(reset), provider.KindUnavailable, "connection failed"},
		{"connection refused", live, withURL(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), provider.KindUnavailable, "connection failed"},
		{"unexpected EOF in body", live, io.ErrUnexpectedEOF, provider.KindUnavailable, "connection failed"},
		{"EOF", live, withURL(io.EOF), provider.KindUnavailable, "connection failed"},
		{"anything else", live, withURL(errors.New("tls: bad certificate")), provider.KindUnavailable, "chat: tls: bad certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TransportError(tt.ctx, "chat", tt.err)
			if got.Kind != tt.want {
				t.Errorf("kind = %v, want %v (%v)", got.Kind, tt.want, got)
			}
			if !strings.Contains(got.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", got.Message, tt.wantMsg)
			}
			for _, leak := range []string{secret, "api.vendor.example", "https://"} {
				if strings.Contains(got.Error(), leak) {
					t.Errorf("error %q leaks %q", got, leak)
				}
			}
		})
	}
}

// TestTransportErrorFromRealClient drives real failures through an
// http.Client so that the wrapping the standard library really does (not
// just the one above) is classified and stripped of the URL.
func TestTransportErrorFromRealClient(t *testing.T) {
	const secret = "sk-query-secret"
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/reset":
			// Close without answering: the client sees EOF or a reset.
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("no hijacker")
				return
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST rather than FIN
				}
				_ = conn.Close()
			}
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(hang)
	client := NewClient(provider.Config{ReadTimeout: 5 * time.Second})

	tests := []struct {
		name    string
		path    string
		ctx     func() (context.Context, context.CancelFunc)
		want    provider.Kind
		timeout time.Duration
	}{
		{"reset", "/reset", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, provider.KindUnavailable, 0},
		{"deadline", "/hang", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, provider.KindTimeout, 0},
		{"cancel", "/hang", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, provider.KindCanceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+tt.path+"?key="+secret, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatal("request succeeded")
			}
			got := TransportError(ctx, "chat", err)
			if got.Kind != tt.want {
				t.Errorf("kind = %v, want %v (%v; raw %v)", got.Kind, tt.want, got, err)
			}
			if strings.Contains(got.Error(), secret) || strings.Contains(got.Error(), srv.URL) {
				t.Errorf("error %q leaks the URL", got)
			}
		})
	}
}

func TestNewClientTimeouts(t *testing.T) {
	tests := []struct {
		name         string
		cfg          provider.Config
		wantTLS      time.Duration
		wantResponse time.Duration
	}{
		{"defaults", provider.Config{}, DefaultConnectTimeout, DefaultReadTimeout},
		{"configured", provider.Config{ConnectTimeout: 2 * time.Second, ReadTimeout: 7 * time.Second}, 2 * time.Second, 7 * time.Second},
		{"negative means default", provider.Config{ConnectTimeout: -1, ReadTimeout: -1}, DefaultConnectTimeout, DefaultReadTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(tt.cfg)
			tr, ok := BaseTransport(c)
			if !ok {
				t.Fatalf("transport is %T", c.Transport)
			}
			if tr.TLSHandshakeTimeout != tt.wantTLS || tr.ResponseHeaderTimeout != tt.wantResponse {
				t.Errorf("tls %v, response header %v; want %v, %v", tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tt.wantTLS, tt.wantResponse)
			}
			// A whole-call timeout would cut long streams; ctx bounds calls.
			if c.Timeout != 0 {
				t.Errorf("client Timeout = %v, want 0", c.Timeout)
			}
		})
	}
}
