package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Sentinel errors. Servers map ErrConflict to 422, ErrInProgress to 409,
// ErrInvalidKey to 400 and ErrUnavailable to 503 (or run without idempotency,
// as policy decides).
var (
	ErrConflict    = errors.New("idempotency key was already used for a different request")
	ErrInProgress  = errors.New("a request with this idempotency key is still in progress")
	ErrLeaseLost   = errors.New("idempotency lease expired or is held by another request")
	ErrInvalidKey  = errors.New("invalid idempotency key")
	ErrUnavailable = errors.New("idempotency store unavailable")
)

// MaxKeyLen is the longest Idempotency-Key accepted, in bytes. Keys are meant
// to be UUIDs or similar; the bound keeps stored keys small.
const MaxKeyLen = 255

// Fingerprint identifies a request's content; see [NewFingerprint].
type Fingerprint [32]byte

// NewFingerprint hashes what makes two requests "the same": method, path
// (with query, if it matters to the route) and body. Each part is
// length-prefixed so that moving bytes between parts changes the hash.
func NewFingerprint(method, path string, body []byte) Fingerprint {
	h := sha256.New()
	var n [8]byte
	for _, part := range [][]byte{[]byte(method), []byte(path), body} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var fp Fingerprint
	h.Sum(fp[:0])
	return fp
}

// Response is what is stored and replayed. Header holds only the headers the
// server chooses to replay (e.g. Content-Type and its own X-OneFlow-*); never
// put credentials or cookies in it.
type Response struct {
	Status int
	Header map[string]string
	Body   []byte
}

// clone copies r so the caller and the store never share mutable memory.
func (r Response) clone() Response {
	out := Response{Status: r.Status, Header: maps.Clone(r.Header)}
	if r.Body != nil {
		out.Body = append([]byte(nil), r.Body...)
	}
	return out
}

// Store keeps idempotency records. Implementations must make each method
// atomic per (scope, key), also across processes for shared stores.
//
// Begin claims (scope, key) for a request with fingerprint fp:
//   - no live record: a lease record is created that lives for lease; Begin
//     returns a non-empty token identifying this claim, and the caller runs
//     the request and then calls Complete or Abort with the token;
//   - a completed record with the same fp: Begin returns it (token "");
//   - a record (completed or leased) with another fp: ErrConflict;
//   - a leased record with the same fp: ErrInProgress.
//
// Complete stores resp under the claim and keeps it for ttl; Abort deletes the
// claim so the next Begin may run the request. Both return ErrLeaseLost if
// token does not hold the lease any more (it expired, and perhaps another
// request claimed the key): the record then belongs to someone else and is
// left alone.
//
// Errors reaching a shared backend wrap ErrUnavailable; a cancelled context
// is returned as such.
type Store interface {
	Begin(ctx context.Context, scope, key string, fp Fingerprint, lease time.Duration) (token string, stored *Response, err error)
	Complete(ctx context.Context, scope, key, token string, resp Response, ttl time.Duration) error
	Abort(ctx context.Context, scope, key, token string) error
}

// validate rejects keys the stores do not accept.
func validate(scope, key string) error {
	if scope == "" {
		return fmt.Errorf("empty scope: %w", ErrInvalidKey)
	}
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("key must be 1 to %d bytes, got %d: %w", MaxKeyLen, len(key), ErrInvalidKey)
	}
	return nil
}

// Cacheable is the default rule for which responses are stored: those that
// are the request's real outcome (2xx, and 4xx that retrying will not change).
// Server errors and "try again" answers (408, 409, 425, 429) are not stored,
// so a retry with the same key runs the request again.
func Cacheable(status int) bool {
	switch {
	case status < 200, status >= 500:
		return false
	case status == 408, status == 409, status == 425, status == 429:
		return false
	}
	return true
}

// Wait claims (scope, key) like [Store.Begin], but while another request
// holds the lease it polls every poll until that request finishes — then
// returns its stored response, or claims the key itself if the holder
// aborted or its lease expired. When ctx ends first it returns an error
// wrapping ErrInProgress. Bound the wait with ctx (e.g. the request deadline).
func Wait(ctx context.Context, s Store, scope, key string, fp Fingerprint, lease, poll time.Duration) (string, *Response, error) {
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	var timer *time.Timer
	for waited := false; ; waited = true {
		token, stored, err := s.Begin(ctx, scope, key, fp, lease)
		if err != nil && waited && ctx.Err() != nil {
			// The deadline hit while we were asking: report what the wait
			// was for, not the store call that happened to be cut short.
			return "", nil, fmt.Errorf("wait for idempotency key: %w", ErrInProgress)
		}
		if !errors.Is(err, ErrInProgress) {
			return token, stored, err
		}
		if timer == nil {
			timer = time.NewTimer(poll)
			defer timer.Stop()
		} else {
			timer.Reset(poll)
		}
		select {
		case <-ctx.Done():
			return "", nil, fmt.Errorf("wait for idempotency key: %w", ErrInProgress)
		case <-timer.C:
		}
	}
}

// Options tune [Do]. Zero fields take the defaults noted.
type Options struct {
	// Lease bounds how long a claim lives without Complete or Abort, i.e.
	// how long a crashed core blocks the key. Set it above the longest
	// request the server allows (its write timeout). Default 10 minutes.
	Lease time.Duration
	// TTL is how long a stored response is replayed. Default 24 hours.
	TTL time.Duration
	// Poll is how often a duplicate checks whether the first request is
	// done. Default 100 ms.
	Poll time.Duration
	// MaxWait bounds how long a duplicate waits before ErrInProgress, on top
	// of ctx. Default: only ctx bounds it.
	MaxWait time.Duration
	// Cacheable picks the responses to store. Default [Cacheable].
	Cacheable func(status int) bool
	// MaxBody is the largest body stored; a larger response is returned but
	// not stored (the claim is released). Default 4 MiB.
	MaxBody int
	// FinishTimeout bounds Complete and Abort, which run even if ctx was
	// cancelled so that the claim is not left to expire. Default 5 s.
	FinishTimeout time.Duration
	// OnStoreError is told about Complete/Abort failures, which do not fail
	// the request (its response is already made); log and count them.
	OnStoreError func(error)
}

func (o Options) withDefaults() Options {
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.TTL <= 0 {
		o.TTL = 24 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.Cacheable == nil {
		o.Cacheable = Cacheable
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 4 << 20
	}
	if o.FinishTimeout <= 0 {
		o.FinishTimeout = 5 * time.Second
	}
	return o
}

// Do runs fn at most once per (scope, key, fp) while its stored response
// lives: it claims the key ([Wait]), runs fn, and stores fn's response if
// Options.Cacheable accepts it, or releases the claim otherwise (fn's error,
// a 5xx, a panic). replayed is true when resp is a stored response of an
// earlier request and fn did not run.
//
// Errors are fn's error, or Wait's (ErrConflict, ErrInProgress,
// ErrInvalidKey, ErrUnavailable): fn did not run for those.
func Do(ctx context.Context, s Store, scope, key string, fp Fingerprint, o Options, fn func(context.Context) (Response, error)) (resp Response, replayed bool, err error) {
	o = o.withDefaults()
	waitCtx := ctx
	if o.MaxWait > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, o.MaxWait)
		defer cancel()
	}
	token, stored, err := Wait(waitCtx, s, scope, key, fp, o.Lease, o.Poll)
	if err != nil {
		return Response{}, false, err
	}
	if stored != nil {
		return *stored, true, nil
	}

	// Settle the claim whatever happens, even if the client has gone away
	// (ctx cancelled) or fn panics: an unsettled claim makes every retry
	// wait for the lease to expire.
	finish := func(complete bool, resp Response) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.FinishTimeout)
		defer cancel()
		var ferr error
		if complete {
			ferr = s.Complete(fctx, scope, key, token, resp, o.TTL)
		} else {
			ferr = s.Abort(fctx, scope, key, token)
		}
		if ferr != nil && o.OnStoreError != nil {
			o.OnStoreError(ferr)
		}
	}
	settled := false
	defer func() {
		if !settled {
			finish(false, Response{})
		}
	}()

	resp, err = fn(ctx)
	settled = true
	if err != nil || !o.Cacheable(resp.Status) || len(resp.Body) > o.MaxBody {
		finish(false, Response{})
		return resp, false, err
	}
	finish(true, resp)
	return resp, false, nil
}
