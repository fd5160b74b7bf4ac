package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is a decoded and validated oneflow.hcl. Durations, sizes and prices
// are already parsed; Ranges keep source positions for later diagnostics.
type Config struct {
	// Path is the file the config was read from.
	Path string
	// BaseDir is the absolute directory file() and relative plugin paths
	// are resolved against.
	BaseDir string
	// Sources holds the bytes of every file parsed, keyed by the file name
	// used in diagnostic ranges, so callers can render diagnostics even
	// when loading failed.
	Sources map[string][]byte

	Server    Server
	Storage   Storage
	Redis     Redis
	Auth      Auth
	Telemetry Telemetry
	Pricing   Pricing
	Routing   Routing
	Breaker   Breaker
	Retry     Retry
	RateLimit RateLimit

	Plugins    []Plugin
	Providers  []Provider
	Strategies []Strategy
	// Quotas cap per-project spend per provider.
	Quotas []Quota
}

// Server is the HTTP listener.
type Server struct {
	Listen          string
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	ShutdownTimeout time.Duration
	// BodyLimit is the largest request body accepted, in bytes.
	BodyLimit   int64
	CORSOrigins []string
}

// Storage selects the database.
type Storage struct {
	// DatabaseURL is "sqlite://path" or a postgres:// URL.
	DatabaseURL    string
	MaxOpenConns   int
	MaxIdleConns   int
	UsageRetention time.Duration
}

// Redis is optional; an empty URL means in-process limits.
type Redis struct {
	URL string
}

// Auth configures API keys and JWTs.
type Auth struct {
	AdminKey         string
	JWTAlgorithm     string
	JWTSecret        string
	AccessTokenTTL   time.Duration
	RefreshTokenTTL  time.Duration
	KeyRotationGrace time.Duration
	// KeyRotationInterval, when positive, expires keys older than it
	// after KeyRotationGrace (scheduled rotation).
	KeyRotationInterval time.Duration
}

// Telemetry configures logs, metrics and traces.
type Telemetry struct {
	LogLevel     string
	LogFormat    string
	Tracing      bool
	OTLPEndpoint string
}

// Pricing holds global money settings.
type Pricing struct {
	// CreditsPerUSD converts USD into credits (default 100).
	CreditsPerUSD int64
	// AllowUnpriced lets models without a price be called; their usage is
	// flagged instead of billed.
	AllowUnpriced bool
}

// Routing holds the router's defaults.
type Routing struct {
	DefaultStrategy string
	StrategyTimeout time.Duration
	MaxFallbacks    int
}

// Breaker configures per provider/model circuit breakers.
type Breaker struct {
	FailureThreshold int
	FailureRatio     float64
	Window           time.Duration
	Timeout          time.Duration
	MaxTimeout       time.Duration
	HalfOpenProbes   int
}

// Retry configures retries of retryable failures.
type Retry struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	Deadline    time.Duration
}

// RateLimit holds per key/user/project limits; 0 disables a limit.
type RateLimit struct {
	PerMinute       int
	PerHour         int
	TokensPerMinute int
	FailOpen        bool
}

// PluginKind is "provider" or "strategy".
type PluginKind string

// The plugin kinds.
const (
	KindProvider PluginKind = "provider"
	KindStrategy PluginKind = "strategy"
)

// Plugin declares one plugin binary.
type Plugin struct {
	Name string
	Kind PluginKind
	// Path is resolved relative to the config file's directory.
	Path string
	// SHA256 is the expected hex checksum of the binary, empty to skip.
	SHA256 string
	Args   []string
	Env    map[string]string
	Range  hcl.Range
}

// Provider is one configured upstream served by a provider plugin.
type Provider struct {
	Name    string
	Plugin  string
	Enabled bool
	// APIKey is secret; it is never printed or put in diagnostics.
	APIKey string
	// APIKeyEnv names the variable the key is read from, for the message
	// that tells a user what to set; empty when not from env().
	APIKeyEnv      string
	BaseURL        string
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	Options        map[string]string
	Models         []Model
	Range          hcl.Range
}

// Model is one model of a provider with its price and quality.
type Model struct {
	ID            string
	Modality      string
	Aliases       []string
	Quality       float64
	ContextWindow int64
	Tokenizer     string
	// Prices in micro-USD: per million tokens for text and embeddings, per
	// image keyed by "SIZE" or "SIZE/QUALITY" for images, per thousand
	// characters for audio.
	InputMicroUSDPerMTok  int64
	OutputMicroUSDPerMTok int64
	// CachedInputMicroUSDPerMTok is the price of a prompt token the vendor
	// served from its cache, and CacheWriteMicroUSDPerMTok of one it wrote
	// to it, each per million tokens of a text model. Each is meaningful
	// only when its Has flag is set; unset, those tokens cost the input
	// price.
	CachedInputMicroUSDPerMTok int64
	HasCachedInputPrice        bool
	CacheWriteMicroUSDPerMTok  int64
	HasCacheWritePrice         bool
	ImageMicroUSD              map[string]int64
	PerKCharMicroUSD           int64
	// Priced is false when the block set no price at all.
	Priced bool
	// Effective is the date the price took effect; PriceVersion is derived
	// from it and the prices and stored with usage records.
	Effective    time.Time
	PriceVersion string
	Range        hcl.Range
}

// Strategy binds a routing strategy name to a strategy plugin.
type Strategy struct {
	Name   string
	Plugin string
	Params map[string]string
	Range  hcl.Range
}
