-- Refresh tokens as the auth package's rotation protocol keeps them
-- (auth.RefreshRecord): keyed by hash, carrying the project, role and API
-- key the session was started with, and a rotated_at stamp for the
-- compare-and-swap that detects reuse.
--
-- A new table rather than columns on refresh_tokens: refresh_tokens.user_id
-- is NOT NULL and references users, but a session may belong to an API key
-- without a user, or to the bootstrap admin key, and SQLite cannot drop a
-- NOT NULL or a foreign key with ALTER TABLE. user_id here is the token's
-- subject (a user id, "key:<key id>" or "bootstrap-admin"), so it has no
-- foreign key; key_id is checked by the application on every refresh.

-- +goose Up
CREATE TABLE auth_refresh_tokens (
    hash       TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    project_id TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL,
    key_id     TEXT NOT NULL DEFAULT '',
    issued_at  TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    rotated_at TIMESTAMP,
    revoked_at TIMESTAMP,
    CONSTRAINT auth_refresh_tokens_role_check CHECK (role IN ('admin', 'member', 'viewer'))
);
CREATE INDEX auth_refresh_tokens_family_idx ON auth_refresh_tokens (family_id);
CREATE INDEX auth_refresh_tokens_expires_idx ON auth_refresh_tokens (expires_at);

-- +goose Down
DROP TABLE auth_refresh_tokens;
