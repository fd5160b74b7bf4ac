// Package auth is OneFlow's identity logic: API keys, JWT access tokens,
// refresh-token sessions, role-based access control and the route table
// the server and the OpenAPI document share. It does no I/O of its own;
// what must be persisted goes through the small KeyStore and RefreshStore
// interfaces, implemented by core/internal/store.
//
// # API keys
//
// A key looks like of_live_<id>_<secret>: an 8-character base62 id that is
// public (it is the store's lookup key and safe to log) and a 32-character
// base62 secret (≈190 bits). The store keeps only the hex SHA-256 of the
// whole key. A fast hash is deliberate: with that much entropy a stolen hash
// cannot be brute-forced, and a slow password hash (bcrypt, argon2) would
// cost every request tens of milliseconds of CPU and give attackers a cheap
// way to burn it. Verification is constant-time.
//
// # Key lifecycle and rotation
//
// KeyUsable decides from a KeyState: a revoked key never works, an expired
// key never works, and a rotated key keeps working until its GraceUntil so
// clients can roll the new key out. RotationDue implements a "rotate every
// N" policy.
//
// # Revocation across replicas
//
// Each replica caches resolved keys by hash in a KeyCache for at most its
// TTL (10 s by default) and never caches failures, so revocation takes
// effect on every replica within 10 s without any cross-replica messaging.
// A cached entry also never outlives the key's own expiry or grace period.
// Access tokens already issued stay valid until they expire (AccessTTL,
// 15 min by default); keep AccessTTL short, and set
// SessionsConfig.Reauthorize so refreshes stop as soon as a key is revoked.
//
// # Access tokens (JWT)
//
// An Issuer signs with HS256 (shared secret ≥ 32 bytes) or RS256 (RSA ≥ 2048
// bits), and verification is pinned to that one algorithm: "none", and an
// HS256 token "signed" with the RSA public key (the algorithm-confusion
// attack), are refused. Issuer, audience, exp (required), nbf and iat are
// checked with a small leeway for clock skew. Claims: sub (user), pid
// (project), role, jti.
//
// # Refresh tokens: rotation and reuse detection
//
// POST /api/v1/auth/token exchanges an API key for an access token and an
// opaque refresh token (Sessions.Start), which opens a new family: a random
// family id shared by every token descended from that login, with one
// absolute expiry. POST /api/v1/auth/refresh (Sessions.Refresh) exchanges a
// refresh token for a new pair, and the store implements it like this:
//
//  1. Look the token up by hash. Unknown, revoked (family revoked) or
//     expired: refuse.
//  2. Already rotated (RotatedAt set): this token was used before, so
//     either the client or a thief holds a copy. Revoke the whole family
//     (RevokedAt on every member) and refuse; the legitimate client logs in
//     again with its API key, the thief's descendant tokens are dead.
//  3. Otherwise rotate in one transaction: UPDATE ... SET rotated_at = now
//     WHERE hash = old AND rotated_at IS NULL AND revoked_at IS NULL; if no
//     row changed, a concurrent request used the token first — treat it as
//     reuse (step 2); else INSERT the successor with the same family id and
//     expiry. The compare-and-swap guarantees two racing uses of one token
//     cannot both succeed.
//
// Rotation never extends the family's expiry, so a session lives at most
// RefreshTTL after the API key exchange. Sessions.Revoke (logout) revokes
// the family.
//
// # Authorization
//
// Roles are admin (everything), member (call models, read usage of own
// projects, list plugins and providers) and viewer (read usage of own
// projects). Allowed answers per route kind; Principal.CanAccessProject
// scopes rows. Routes is the single list of HTTP routes with the permission
// each needs; PermissionPublic ("") marks public routes, and a route missing
// from the table must be treated as forbidden.
//
// Secrets — keys, tokens, HMAC secrets, private keys — never appear in
// errors or in the String forms of Key and TokenPair.
package auth
