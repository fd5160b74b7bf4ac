// Package idempotency makes POST requests safe to retry with an
// Idempotency-Key header: a retried request gets the stored response of the
// first one instead of running (and billing) the upstream call twice.
//
// The rules, per (scope, key):
//
//   - Same key, same request (see [NewFingerprint]) within the TTL: the
//     stored response is replayed and nothing runs upstream.
//   - Same key, different request: [ErrConflict] (answer 422); a key names
//     one request, and silently replaying another request's answer would be
//     wrong.
//   - Concurrent duplicates: exactly one runs. The first caller gets a lease;
//     the others wait for its stored response ([Wait], [Do]) and get
//     [ErrInProgress] (answer 409) if it does not finish in time.
//   - A first attempt that fails without a response worth keeping (an error,
//     a 5xx, a 429, see [Cacheable]) releases its lease, so a retry runs.
//   - Leases expire, so a core that crashed mid-request blocks the key only
//     until the lease ends.
//
// Scope is the caller's principal id (API key, user or project as the server
// chooses): keys are looked up only within their scope, so one tenant can
// never read, or collide with, another tenant's stored responses. Scopes and
// keys end up in Redis key names, so pass an id, never a raw API key.
//
// [Store] is the storage contract and has two implementations here: in
// process ([NewMemory], for a single core or tests) and Redis ([NewRedis],
// shared by all replicas; each operation is one atomic Lua script). Another
// backend (e.g. SQL) only has to implement the three methods with the
// semantics documented on [Store]; [Do] and [Wait] work on any of them.
package idempotency
