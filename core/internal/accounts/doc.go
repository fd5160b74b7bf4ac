// Package accounts is the store-backed implementation of server.Accounts:
// it glues core/internal/auth (API keys, JWTs, refresh sessions, the key
// cache) to core/internal/store (users, projects, keys, the credit ledger,
// usage) and maps both packages' errors onto the server's sentinels. It
// holds no globals; the composition root builds one Service per store with
// New, runs its background loops with Run, and flushes it with Close.
//
// # Credentials
//
// Authenticate takes what the client sent. A JWT (three dot-separated
// parts) is verified by the auth.Issuer, pinned to the configured
// algorithm; anything else is an API key, resolved by auth.Authenticator
// through a per-replica auth.KeyCache. The bootstrap admin key from the
// configuration authenticates as an admin whose calls bill to the built-in
// "default" project (unlimited; New creates it). A revoked key stops
// working at once on the replica that revoked it and within RevocationTTL
// (10 s by default) on the others.
//
// Access tokens carry a subject, a project and a role. The subject is the
// user of the key the session was started with or, for a key that has no
// user, "key:<key id>", which Authenticate turns back into Principal.KeyID.
// Refresh tokens rotate on every use; presenting a retired one revokes its
// whole family, and a refresh is refused as soon as the originating API key
// is revoked, expired or past its rotation grace.
//
// # Money
//
// Reserve holds the call's maximum cost on the principal's project
// (store.Reserve: one conditional UPDATE, so concurrent calls on any number
// of replicas never over-commit a balance) and fails closed: any store
// error refuses the call with server.ErrBudgetUnavailable. The hold's
// Settle charges the priced usage (or releases the hold when there is
// nothing to charge), reports what was really charged (less than asked when
// the balance could not cover an overshoot), and enqueues the usage record
// on the asynchronous usage writer. A hold nobody settles (the core died
// mid-call) expires after HoldTTL and Run's reaper returns it.
//
// Request ids are client-suppliable (X-Request-ID), but ledger request ids
// are single-use, so Reserve retries a reused id once with a random suffix
// rather than refusing the call; top-ups are deduplicated per project
// ("<project id>/<request id>" in the ledger).
//
// # Key rotation
//
// RotateKey issues a successor with the same project, user, name, role and
// lifetime, shown once; the old key keeps working for KeyRotationGrace
// (24 h by default) and then stops. With KeyRotationInterval > 0, Run also
// enforces a rotation policy: every live key older than the interval that
// is not already rotated or scheduled gets GraceUntil = now +
// KeyRotationGrace, so it keeps working through the grace period and then
// stops; a warning names each such key (id and public prefix) so the
// operator can rotate it, which shows the successor's plaintext once.
//
// # Command line
//
// RunCLI implements `oneflow users|projects|keys ...` over a Service.
package accounts
