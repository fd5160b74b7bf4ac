package vendorhttp

import (
	"net"
	"net/http"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// Default timeouts, used when the provider block sets none.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultReadTimeout    = 30 * time.Second
)

// NewClient returns the one http.Client a plugin should use for all its
// vendor calls. ConnectTimeout bounds dialing and the TLS handshake;
// ReadTimeout bounds the wait for response headers and then each silence
// in the body (a read that returns nothing for that long fails with an
// [*IdleError]), so a long stream is not cut while a hung or stalled
// vendor still is. The call's context bounds the whole call.
func NewClient(cfg provider.Config) *http.Client {
	connect := cfg.ConnectTimeout
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	read := cfg.ReadTimeout
	if read <= 0 {
		read = DefaultReadTimeout
	}
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: read,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tracing{next: idleTimeout{next: tr, idle: read}}}
}

// BaseTransport returns the *http.Transport under a client made by
// NewClient, for tests and tuning that need its settings.
func BaseTransport(c *http.Client) (*http.Transport, bool) {
	rt := c.Transport
	if t, ok := rt.(tracing); ok {
		rt = t.next
	}
	if t, ok := rt.(idleTimeout); ok {
		rt = t.next
	}
	tr, ok := rt.(*http.Transport)
	return tr, ok
}
