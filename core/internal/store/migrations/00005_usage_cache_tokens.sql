-- Prompt-cache counts: how many of a request's input tokens the vendor
-- read from its prompt cache and how many it wrote to it. Both are parts of
-- input_tokens, which keeps meaning the whole prompt, so totals computed
-- before this migration stay right. The defaults make every older row a
-- request that used no cache, which is how it was billed.

-- +goose Up
ALTER TABLE usage_records ADD COLUMN cached_input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_rollups ADD COLUMN cached_input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_rollups ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE usage_rollups DROP COLUMN cache_write_tokens;
ALTER TABLE usage_rollups DROP COLUMN cached_input_tokens;
ALTER TABLE usage_records DROP COLUMN cache_write_tokens;
ALTER TABLE usage_records DROP COLUMN cached_input_tokens;
