// Package ratelimit enforces request and token rate limits per API key, user
// and project.
//
// A request is described by a list of [Check]s — one per (principal, limit)
// pair, e.g. "key:abc" per minute, "project:p1" tokens per minute — and a
// [Limiter] decides them all at once. The decision is all-or-nothing: a
// request is allowed only if every check passes, and a denied request
// consumes no quota of any check. That way a project-level denial does not
// also burn the key's per-minute budget, and a client that is told to back
// off is not punished further for having asked.
//
// Each limit is a GCRA (generic cell rate algorithm) bucket: Rate units per
// Period, with a burst of the whole Rate. GCRA keeps one timestamp per bucket
// (the "theoretical arrival time"), so it is cheap to store and to share.
//
// Two backends implement [Limiter]:
//
//   - [NewMemory] keeps buckets in process with an injected clock. It is used
//     when no Redis is configured, and limits then apply per core replica.
//   - [NewRedis] keeps buckets in Redis and decides a whole request in one Lua
//     script call, so every core replica shares one budget and the decision is
//     atomic across all checks. Time comes from the Redis server's clock, so
//     replicas with skewed clocks still agree.
//
// [WithFailOpen] decides what happens when Redis cannot be reached: allow the
// request and report the error (fail open), or return an error wrapping
// [ErrUnavailable] so the server answers 503 (fail closed).
//
// go-redis types stay inside this package and package idempotency: callers
// build a client with [NewRedisClient] and pass it back to the constructors.
package ratelimit
