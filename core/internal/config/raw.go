package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// The raw structs mirror oneflow.hcl block by block. Every attribute is an
// unevaluated hcl.Expression: gohcl still rejects unknown attributes and
// blocks, while keeping the expression lets us evaluate it with env() and
// file(), apply a default when it is absent (gohcl hands us a null), point
// diagnostics at its range, and read prices as exact cty numbers.

// topSchema lists the top-level blocks. It is built on demand rather than
// held in a package variable.
func topSchema() *hcl.BodySchema {
	return &hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "server"},
			{Type: "storage"},
			{Type: "redis"},
			{Type: "auth"},
			{Type: "telemetry"},
			{Type: "pricing"},
			{Type: "routing"},
			{Type: "circuit_breaker"},
			{Type: "retry"},
			{Type: "rate_limit"},
			{Type: "plugin", LabelNames: []string{"name"}},
			{Type: "strategy", LabelNames: []string{"name"}},
			{Type: "provider", LabelNames: []string{"name"}},
			{Type: "quota", LabelNames: []string{"provider"}},
		},
	}
}

// providerRestSchema decodes what gohcl leaves in rawProvider.Remain: the
// model blocks. It lists the provider's attributes too (already consumed,
// so they match nothing) so that a misspelt attribute still gets a "Did
// you mean" suggestion.
func providerRestSchema() *hcl.BodySchema {
	schema, _ := gohcl.ImpliedBodySchema(&rawProvider{})
	schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: "model", LabelNames: []string{"id"}})
	return schema
}

type rawServer struct {
	Listen          hcl.Expression `hcl:"listen,optional"`
	ReadTimeout     hcl.Expression `hcl:"read_timeout,optional"`
	WriteTimeout    hcl.Expression `hcl:"write_timeout,optional"`
	ShutdownTimeout hcl.Expression `hcl:"shutdown_timeout,optional"`
	BodyLimit       hcl.Expression `hcl:"body_limit,optional"`
	CORSOrigins     hcl.Expression `hcl:"cors_origins,optional"`
}

type rawStorage struct {
	DatabaseURL    hcl.Expression `hcl:"database_url,optional"`
	MaxOpenConns   hcl.Expression `hcl:"max_open_conns,optional"`
	MaxIdleConns   hcl.Expression `hcl:"max_idle_conns,optional"`
	UsageRetention hcl.Expression `hcl:"usage_retention,optional"`
}

type rawRedis struct {
	URL hcl.Expression `hcl:"url,optional"`
}

type rawAuth struct {
	AdminKey         hcl.Expression `hcl:"admin_key,optional"`
	JWTAlgorithm     hcl.Expression `hcl:"jwt_algorithm,optional"`
	JWTSecret        hcl.Expression `hcl:"jwt_secret,optional"`
	AccessTokenTTL   hcl.Expression `hcl:"access_token_ttl,optional"`
	RefreshTokenTTL  hcl.Expression `hcl:"refresh_token_ttl,optional"`
	KeyRotationGrace hcl.Expression `hcl:"key_rotation_grace,optional"`
	// KeyRotationInterval: keys older than this are put on their grace
	// period automatically; "0s" (the default) turns the policy off.
	KeyRotationInterval hcl.Expression `hcl:"key_rotation_interval,optional"`
}

type rawTelemetry struct {
	LogLevel     hcl.Expression `hcl:"log_level,optional"`
	LogFormat    hcl.Expression `hcl:"log_format,optional"`
	Tracing      hcl.Expression `hcl:"tracing,optional"`
	OTLPEndpoint hcl.Expression `hcl:"otlp_endpoint,optional"`
}

type rawPricing struct {
	CreditsPerUSD hcl.Expression `hcl:"credits_per_usd,optional"`
	AllowUnpriced hcl.Expression `hcl:"allow_unpriced,optional"`
}

type rawRouting struct {
	DefaultStrategy hcl.Expression `hcl:"default_strategy,optional"`
	StrategyTimeout hcl.Expression `hcl:"strategy_timeout,optional"`
	MaxFallbacks    hcl.Expression `hcl:"max_fallbacks,optional"`
}

type rawBreaker struct {
	FailureThreshold hcl.Expression `hcl:"failure_threshold,optional"`
	FailureRatio     hcl.Expression `hcl:"failure_ratio,optional"`
	Window           hcl.Expression `hcl:"window,optional"`
	Timeout          hcl.Expression `hcl:"timeout,optional"`
	MaxTimeout       hcl.Expression `hcl:"max_timeout,optional"`
	HalfOpenProbes   hcl.Expression `hcl:"half_open_probes,optional"`
}

type rawRetry struct {
	MaxAttempts hcl.Expression `hcl:"max_attempts,optional"`
	BaseDelay   hcl.Expression `hcl:"base_delay,optional"`
	MaxDelay    hcl.Expression `hcl:"max_delay,optional"`
	Deadline    hcl.Expression `hcl:"deadline,optional"`
}

type rawRateLimit struct {
	PerMinute       hcl.Expression `hcl:"per_minute,optional"`
	PerHour         hcl.Expression `hcl:"per_hour,optional"`
	TokensPerMinute hcl.Expression `hcl:"tokens_per_minute,optional"`
	FailOpen        hcl.Expression `hcl:"fail_open,optional"`
}

type rawPlugin struct {
	Kind   hcl.Expression `hcl:"kind,optional"`
	Path   hcl.Expression `hcl:"path,optional"`
	SHA256 hcl.Expression `hcl:"sha256,optional"`
	Args   hcl.Expression `hcl:"args,optional"`
	Env    hcl.Expression `hcl:"env,optional"`
}

type rawStrategy struct {
	Plugin hcl.Expression `hcl:"plugin,optional"`
	Params hcl.Expression `hcl:"params,optional"`
}

type rawProvider struct {
	Plugin         hcl.Expression `hcl:"plugin,optional"`
	Enabled        hcl.Expression `hcl:"enabled,optional"`
	APIKey         hcl.Expression `hcl:"api_key,optional"`
	BaseURL        hcl.Expression `hcl:"base_url,optional"`
	ConnectTimeout hcl.Expression `hcl:"connect_timeout,optional"`
	ReadTimeout    hcl.Expression `hcl:"read_timeout,optional"`
	Options        hcl.Expression `hcl:"options,optional"`
	// Remain holds the model blocks, decoded separately so that each
	// keeps its block and label ranges for diagnostics.
	Remain hcl.Body `hcl:",remain"`
}

type rawModel struct {
	Modality      hcl.Expression `hcl:"modality,optional"`
	Aliases       hcl.Expression `hcl:"aliases,optional"`
	Quality       hcl.Expression `hcl:"quality,optional"`
	ContextWindow hcl.Expression `hcl:"context_window,optional"`
	Tokenizer     hcl.Expression `hcl:"tokenizer,optional"`
	InputPrice    hcl.Expression `hcl:"input_price,optional"`
	OutputPrice   hcl.Expression `hcl:"output_price,optional"`
	CachedInput   hcl.Expression `hcl:"cached_input_price,optional"`
	CacheWrite    hcl.Expression `hcl:"cache_write_price,optional"`
	PerKChars     hcl.Expression `hcl:"per_1k_chars,optional"`
	ImagePrices   hcl.Expression `hcl:"image_prices,optional"`
	Effective     hcl.Expression `hcl:"effective,optional"`
}
