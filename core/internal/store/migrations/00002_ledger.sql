-- Double-entry credit ledger and open holds.
-- Every money movement is one transaction (tx_id) whose entries sum to zero.
-- Accounts: "project:<id>", "hold:<request id>", "revenue", "topup",
-- "writeoff". Amounts are signed micro-credits.

-- +goose Up
CREATE TABLE ledger_entries (
    id                   TEXT PRIMARY KEY,
    tx_id                TEXT NOT NULL,
    account              TEXT NOT NULL,
    amount_micro_credits BIGINT NOT NULL,
    request_id           TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    CONSTRAINT ledger_entries_kind_check
        CHECK (kind IN ('topup', 'reserve', 'settle', 'release', 'expire', 'writeoff'))
);
CREATE INDEX ledger_entries_tx_idx ON ledger_entries (tx_id);
-- Doubles as the index on account (its leading column) and makes every
-- movement idempotent per request: a hold can be reserved and closed only
-- once, a top-up with a given request id applies only once.
CREATE UNIQUE INDEX ledger_entries_account_kind_request_key ON ledger_entries (account, kind, request_id);

CREATE TABLE holds (
    request_id           TEXT PRIMARY KEY,
    project_id           TEXT NOT NULL REFERENCES projects (id),
    amount_micro_credits BIGINT NOT NULL,
    expires_at           TIMESTAMP NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    CONSTRAINT holds_amount_nonnegative CHECK (amount_micro_credits >= 0)
);
CREATE INDEX holds_expires_idx ON holds (expires_at);

-- +goose Down
DROP TABLE holds;
DROP TABLE ledger_entries;
