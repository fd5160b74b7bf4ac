package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A record is one Redis hash: fp (32 raw bytes), st ("p" leased, "d" done),
// tok (lease token, while leased), and status, hdr (JSON), body once done.
// The key's TTL is the lease, then the stored response's lifetime, so Redis
// itself forgets crashed leases and old responses.

// beginScript: ARGV = fp, token, lease ms. Replies {"own"}, {"conflict"},
// {"busy"} or {"done", status, hdr, body}.
const beginScript = `
local cur = redis.call("HMGET", KEYS[1], "fp", "st", "status", "hdr", "body")
if not cur[1] then
  redis.call("HSET", KEYS[1], "fp", ARGV[1], "tok", ARGV[2], "st", "p")
  redis.call("PEXPIRE", KEYS[1], ARGV[3])
  return {"own"}
end
if cur[1] ~= ARGV[1] then return {"conflict"} end
if cur[2] ~= "d" then return {"busy"} end
return {"done", cur[3], cur[4], cur[5]}
`

// completeScript: ARGV = token, status, hdr, body, ttl ms. Replies 1, or 0
// when token no longer holds the lease.
const completeScript = `
local cur = redis.call("HMGET", KEYS[1], "tok", "st")
if cur[1] ~= ARGV[1] or cur[2] ~= "p" then return 0 end
redis.call("HSET", KEYS[1], "st", "d", "status", ARGV[2], "hdr", ARGV[3], "body", ARGV[4])
redis.call("HDEL", KEYS[1], "tok")
redis.call("PEXPIRE", KEYS[1], ARGV[5])
return 1
`

// abortScript: ARGV = token. Replies 1, or 0 when token no longer holds the
// lease.
const abortScript = `
local cur = redis.call("HMGET", KEYS[1], "tok", "st")
if cur[1] ~= ARGV[1] or cur[2] ~= "p" then return 0 end
redis.call("DEL", KEYS[1])
return 1
`

// redisStore is the Store shared by all core replicas.
type redisStore struct {
	client                   redis.Scripter
	prefix                   string
	begin, complete, abortSc *redis.Script
}

// NewRedis returns a Store keeping records in Redis under keys starting with
// prefix (e.g. "oneflow:idem:"). Build the client with
// ratelimit.NewRedisClient; one client can serve both packages.
func NewRedis(client *redis.Client, prefix string) Store {
	return &redisStore{
		client:   client,
		prefix:   prefix,
		begin:    redis.NewScript(beginScript),
		complete: redis.NewScript(completeScript),
		abortSc:  redis.NewScript(abortScript),
	}
}

// key names the record. The scope's length comes first, so no choice of
// scope and key (both may hold ':') can land on another scope's record.
func (r *redisStore) key(scope, key string) string {
	return r.prefix + strconv.Itoa(len(scope)) + ":" + scope + ":" + key
}

// wrap classifies a Redis error: the caller's own cancellation is passed on
// as is, anything else means the store is unavailable.
func wrap(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", what, ctxErr)
	}
	return fmt.Errorf("%s on redis: %w: %w", what, ErrUnavailable, err)
}

// Begin implements Store.
func (r *redisStore) Begin(ctx context.Context, scope, key string, fp Fingerprint, lease time.Duration) (string, *Response, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("begin idempotent request: %w", err)
	}
	if err := validate(scope, key); err != nil {
		return "", nil, err
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, fmt.Errorf("make idempotency lease token: %w", err)
	}
	token := hex.EncodeToString(raw[:])
	reply, err := r.begin.Run(ctx, r.client, []string{r.key(scope, key)}, fp[:], token, max(lease.Milliseconds(), 1)).Slice()
	if err != nil {
		return "", nil, wrap(ctx, "begin idempotent request", err)
	}
	state, _ := reply[0].(string)
	switch {
	case state == "own":
		return token, nil, nil
	case state == "conflict":
		return "", nil, fmt.Errorf("begin idempotent request: %w", ErrConflict)
	case state == "busy":
		return "", nil, fmt.Errorf("begin idempotent request: %w", ErrInProgress)
	case state == "done" && len(reply) == 4:
		resp, err := decode(reply[1], reply[2], reply[3])
		if err != nil {
			return "", nil, fmt.Errorf("begin idempotent request: stored response: %w: %w", ErrUnavailable, err)
		}
		return "", &resp, nil
	}
	return "", nil, fmt.Errorf("begin idempotent request: unexpected reply %q: %w", state, ErrUnavailable)
}

// decode rebuilds a Response from the hash fields.
func decode(status, hdr, body any) (Response, error) {
	s, _ := status.(string)
	h, _ := hdr.(string)
	b, _ := body.(string)
	code, err := strconv.Atoi(s)
	if err != nil {
		return Response{}, fmt.Errorf("status %q: %w", s, err)
	}
	resp := Response{Status: code, Body: []byte(b)}
	if h != "" {
		if err := json.Unmarshal([]byte(h), &resp.Header); err != nil {
			return Response{}, fmt.Errorf("headers: %w", err)
		}
	}
	return resp, nil
}

// Complete implements Store.
func (r *redisStore) Complete(ctx context.Context, scope, key, token string, resp Response, ttl time.Duration) error {
	if err := validate(scope, key); err != nil {
		return err
	}
	var hdr []byte
	if len(resp.Header) > 0 {
		var err error
		if hdr, err = json.Marshal(resp.Header); err != nil {
			return fmt.Errorf("complete idempotent request: encode headers: %w", err)
		}
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	args := []any{token, resp.Status, hdr, body, max(ttl.Milliseconds(), 1)}
	return r.settle(ctx, "complete idempotent request", r.complete, r.key(scope, key), args)
}

// Abort implements Store.
func (r *redisStore) Abort(ctx context.Context, scope, key, token string) error {
	if err := validate(scope, key); err != nil {
		return err
	}
	return r.settle(ctx, "abort idempotent request", r.abortSc, r.key(scope, key), []any{token})
}

func (r *redisStore) settle(ctx context.Context, what string, s *redis.Script, key string, args []any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ok, err := s.Run(ctx, r.client, []string{key}, args...).Int()
	if err != nil {
		return wrap(ctx, what, err)
	}
	if ok != 1 {
		return fmt.Errorf("%s: %w", what, ErrLeaseLost)
	}
	return nil
}
