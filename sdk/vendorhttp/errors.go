package vendorhttp

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// maxErrorBody caps how much of a vendor's error body is read and quoted.
const maxErrorBody = 4 << 10

// KindForStatus maps a vendor HTTP status to an sdk error kind.
func KindForStatus(status int) provider.Kind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return provider.KindAuth
	case status == http.StatusTooManyRequests:
		return provider.KindRateLimited
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return provider.KindTimeout
	case status >= 500:
		return provider.KindUnavailable
	case status >= 400:
		return provider.KindInvalidRequest
	}
	return provider.KindUnknown
}

// StatusError builds the *provider.Error for a non-2xx vendor response.
// message is the vendor's own error message when the caller could parse
// one, else the status text is used. Retry-After (seconds or an HTTP date)
// is honoured for every status.
func StatusError(resp *http.Response, message string, now time.Time) *provider.Error {
	if message == "" {
		message = http.StatusText(resp.StatusCode)
	}
	return &provider.Error{
		Kind:       KindForStatus(resp.StatusCode),
		Message:    message,
		Status:     resp.StatusCode,
		RetryAfter: RetryAfter(resp.Header, now),
	}
}

// ReadErrorBody reads at most a few KiB of a failed response's body, so a
// huge or endless error page cannot stall the plugin.
func ReadErrorBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return b
}

// RetryAfter parses the Retry-After header (delta seconds or HTTP date).
// It also understands the retry-after-ms header some vendors send.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return clampDuration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return clampDuration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// clampDuration converts nanoseconds held in a float to a Duration. The
// conversion of NaN, ±Inf or a value beyond int64 is implementation-defined
// in Go (it yields a large negative Duration on amd64), so a header such as
// "Retry-After: 1e30" or "Inf" would otherwise become a negative wait.
// NaN is ignored; huge values and +Inf saturate, as time.Time.Sub does.
func clampDuration(ns float64) time.Duration {
	switch {
	case math.IsNaN(ns) || ns <= 0:
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// TransportError classifies an error from http.Client.Do or from reading a
// response body: the caller's cancellation, deadlines, and connection
// failures that another attempt may not hit. The returned message names
// what was attempted but never the request's headers.
func TransportError(ctx context.Context, what string, err error) *provider.Error {
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		return &provider.Error{Kind: provider.KindCanceled, Message: what + ": canceled by caller"}
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return &provider.Error{Kind: provider.KindTimeout, Message: what + ": deadline exceeded"}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &provider.Error{Kind: provider.KindTimeout, Message: what + ": timed out"}
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) {
		return &provider.Error{Kind: provider.KindUnavailable, Message: what + ": connection failed: " + errMessage(err)}
	}
	return &provider.Error{Kind: provider.KindUnavailable, Message: what + ": " + errMessage(err)}
}

// errMessage drops the URL that *url.Error adds: some vendors take keys in
// the query string, and a URL has no place in a user-facing message anyway.
func errMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
