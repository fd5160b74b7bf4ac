package vendorhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// idleTimeout ends a response whose body goes quiet for longer than idle.
// The transport's ResponseHeaderTimeout bounds only the wait for headers,
// so a vendor that stopped sending in the middle of a stream would hold
// the call, and the client's stream, until the host gave up on it.
type idleTimeout struct {
	next http.RoundTripper
	idle time.Duration
}

// IdleError is what reading a response body returns once the vendor has
// sent nothing for the client's read timeout. It is a net.Error whose
// Timeout is true, so TransportError reports it as KindTimeout.
type IdleError struct{ After time.Duration }

func (e *IdleError) Error() string   { return fmt.Sprintf("the vendor sent nothing for %v", e.After) }
func (e *IdleError) Timeout() bool   { return true }
func (e *IdleError) Temporary() bool { return false }

func (t idleTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, err
	}
	b := &idleBody{body: resp.Body, ctx: ctx, cancel: cancel, idle: t.idle}
	b.timer = time.AfterFunc(t.idle, func() { cancel(&IdleError{After: t.idle}) })
	resp.Body = b
	return resp, nil
}

// idleBody re-arms the idle timer on every read that returns data.
type idleBody struct {
	body   io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	idle   time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF {
		// The transport reports the cancellation as context.Canceled;
		// say why it happened instead.
		var idle *IdleError
		if cause := context.Cause(b.ctx); errors.As(cause, &idle) {
			return n, idle
		}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}
