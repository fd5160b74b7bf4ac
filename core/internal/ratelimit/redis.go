package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowScript decides every check of one request atomically with GCRA, so a
// denied request writes nothing and concurrent replicas cannot interleave.
// It is our own script rather than github.com/go-redis/redis_rate because
// redis_rate decides one key per call with one cost: a request with request
// and token limits on a key, a user and a project would take one round trip
// per limit, and a late denial could not be undone (its refund by negative
// cost is dropped whenever the bucket was full before the request).
//
// Time is the Redis server's clock in whole microseconds, which a Lua double
// holds exactly; tats are written with %.0f for the same reason (tostring
// would round them to 14 digits).
//
// KEYS[i] is the bucket of check i; ARGV[3i-2], ARGV[3i-1], ARGV[3i] are its
// emission interval in µs, rate and cost. The reply holds 4 integers per
// check: status (1 allowed, 0 denied, -1 oversize), units available,
// retry-after µs and reset-after µs.
const allowScript = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local res, new, ok = {}, {}, true
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3*i-2])
  local rate = tonumber(ARGV[3*i-1])
  local cost = tonumber(ARGV[3*i])
  local burst = interval * rate
  local tat = tonumber(redis.call("GET", KEYS[i]) or "0")
  if tat < now then tat = now end
  local available = math.floor((now - (tat - burst)) / interval)
  local b = 4 * (i - 1)
  if cost > rate then
    ok = false
    res[b+1], res[b+2], res[b+3], res[b+4] = -1, available, 0, tat - now
  else
    local nt = tat + cost * interval
    local allow_at = nt - burst
    if allow_at > now then
      ok = false
      res[b+1], res[b+2], res[b+3], res[b+4] = 0, available, allow_at - now, tat - now
    else
      res[b+1], res[b+2], res[b+3], res[b+4] = 1, math.floor((now - allow_at) / interval), 0, nt - now
      if cost > 0 then new[i] = nt end
    end
  end
end
if ok then
  for i, nt in pairs(new) do
    redis.call("SET", KEYS[i], string.format("%.0f", nt), "PX", math.ceil((nt - now) / 1000))
  end
end
return res
`

// redisLimiter is the Limiter shared by all core replicas through Redis.
type redisLimiter struct {
	client redis.Scripter
	prefix string
	script *redis.Script
}

// NewRedis returns a Limiter whose buckets live in Redis under keys starting
// with prefix (e.g. "oneflow:rl:"), so every replica using the same Redis and
// prefix shares one budget. Errors reaching Redis wrap [ErrUnavailable].
//
// All buckets of one request are touched by one script call; on Redis
// Cluster they would have to share a hash slot, so use a single primary (with
// replicas or Sentinel) for rate limits.
func NewRedis(client *redis.Client, prefix string) Limiter {
	return &redisLimiter{client: client, prefix: prefix, script: redis.NewScript(allowScript)}
}

// Allow implements Limiter.
func (r *redisLimiter) Allow(ctx context.Context, checks ...Check) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("rate limit check: %w", err)
	}
	n, err := validate(checks)
	if err != nil {
		return Result{}, err
	}
	if n == 0 {
		return Result{Allowed: true}, nil
	}
	keys := make([]string, 0, n)
	args := make([]any, 0, 3*n)
	for _, c := range checks {
		if c.Limit.Rate == 0 {
			continue
		}
		// The name comes first and never holds ':', so no two (name, key)
		// pairs map to the same Redis key whatever the key contains.
		keys = append(keys, r.prefix+c.Limit.Name+":"+c.Key)
		interval := c.Limit.Period / time.Duration(c.Limit.Rate) / time.Microsecond
		args = append(args, int64(interval), c.Limit.Rate, c.Cost)
	}
	raw, err := r.script.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The caller gave up; Redis is not to blame, so this must not
			// fail open or count as an outage.
			return Result{}, fmt.Errorf("rate limit check on redis: %w", ctxErr)
		}
		return Result{}, fmt.Errorf("rate limit check on redis: %w: %w", ErrUnavailable, err)
	}
	if len(raw) != 4*n {
		return Result{}, fmt.Errorf("rate limit check on redis: %d values in reply, want %d: %w", len(raw), 4*n, ErrUnavailable)
	}
	var stack [8]outcome
	outs := stack[:0]
	if len(checks) > len(stack) {
		outs = make([]outcome, 0, len(checks))
	}
	j := 0
	for _, c := range checks {
		if c.Limit.Rate == 0 {
			outs = append(outs, outcome{allowed: true})
			continue
		}
		v := raw[4*j : 4*j+4]
		j++
		outs = append(outs, outcome{
			allowed:    v[0] == 1,
			oversize:   v[0] == -1,
			remaining:  int(v[1]),
			retryAfter: time.Duration(v[2]) * time.Microsecond,
			resetAfter: time.Duration(v[3]) * time.Microsecond,
		})
	}
	return pick(checks, outs), nil
}

// NewRedisClient builds a client from a redis:// (or rediss://, unix://) URL,
// e.g. redis://:password@host:6379/0?dial_timeout=2s. It does not connect;
// the first command does. The caller closes the client.
//
// The client sits on the request path, so its defaults favour failing fast
// over waiting: one dial attempt per command (go-redis would otherwise try 5
// times with 100 ms pauses, adding 400 ms to every request while Redis is
// down), and 1 s dial, read and write timeouts unless the URL sets them.
// After repeated dial failures the pool answers at once and redials in the
// background, so an outage costs little latency once detected.
//
// The URL usually carries a password, so errors never quote it.
func NewRedisClient(rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse redis URL: %s (expected redis://[user:password@]host:port/db)", redactURLError(rawURL, err))
	}
	opts.DialerRetries = 1
	for _, d := range []*time.Duration{&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout} {
		if *d == 0 {
			*d = time.Second
		}
	}
	return redis.NewClient(opts), nil
}

// redactURLError describes a URL parse error without leaking credentials.
// net/url's errors quote the whole URL or fragments of it (a port that is
// really a password, say), so those are replaced by a fixed text; go-redis's
// own messages quote parts such as the scheme or path, which are scrubbed of
// the password in case it was misplaced there.
func redactURLError(rawURL string, err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return "malformed URL"
	}
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return strconv.Quote(msg)
}
