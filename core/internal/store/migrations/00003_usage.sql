-- Usage: one lean row per request, plus hourly and daily rollups that the
-- analytics queries read. No foreign keys: the batch writer must not fail a
-- whole batch over one row, and retention deletes raw rows freely.

-- +goose Up
CREATE TABLE usage_records (
    id                      TEXT PRIMARY KEY,
    request_id              TEXT NOT NULL,
    ts                      TIMESTAMP NOT NULL,
    user_id                 TEXT NOT NULL DEFAULT '',
    project_id              TEXT NOT NULL,
    key_id                  TEXT NOT NULL DEFAULT '',
    provider                TEXT NOT NULL,
    model                   TEXT NOT NULL,
    strategy                TEXT NOT NULL DEFAULT '',
    input_tokens            BIGINT NOT NULL DEFAULT 0,
    output_tokens           BIGINT NOT NULL DEFAULT 0,
    estimated_micro_credits BIGINT NOT NULL DEFAULT 0,
    charged_micro_credits   BIGINT NOT NULL DEFAULT 0,
    latency_ms              INTEGER NOT NULL DEFAULT 0,
    status                  TEXT NOT NULL,
    attempts                SMALLINT NOT NULL DEFAULT 1,
    price_version           TEXT NOT NULL DEFAULT '',
    unpriced                BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX usage_records_project_ts_idx ON usage_records (project_id, ts);
CREATE INDEX usage_records_ts_idx ON usage_records (ts);
CREATE INDEX usage_records_provider_model_ts_idx ON usage_records (provider, model, ts);

CREATE TABLE usage_rollups (
    granularity           TEXT NOT NULL,
    bucket_start          TIMESTAMP NOT NULL,
    project_id            TEXT NOT NULL,
    provider              TEXT NOT NULL,
    model                 TEXT NOT NULL,
    requests              BIGINT NOT NULL DEFAULT 0,
    errors                BIGINT NOT NULL DEFAULT 0,
    input_tokens          BIGINT NOT NULL DEFAULT 0,
    output_tokens         BIGINT NOT NULL DEFAULT 0,
    charged_micro_credits BIGINT NOT NULL DEFAULT 0,
    -- granularity leads so a time-range scan of one granularity is one
    -- contiguous index range.
    PRIMARY KEY (granularity, bucket_start, project_id, provider, model),
    CONSTRAINT usage_rollups_granularity_check CHECK (granularity IN ('hour', 'day'))
);

-- +goose Down
DROP TABLE usage_rollups;
DROP TABLE usage_records;
