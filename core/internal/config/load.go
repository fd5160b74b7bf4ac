package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Option changes how a configuration is loaded.
type Option func(*options)

type options struct {
	lookupEnv func(string) (string, bool)
	baseDir   string
}

// WithEnv replaces os.LookupEnv as the source of env(). Tests inject a map
// here instead of mutating the process environment.
func WithEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) {
		if lookup != nil {
			o.lookupEnv = lookup
		}
	}
}

// WithBaseDir sets the directory file() and relative plugin paths are
// resolved against. The default is the directory of the config file.
func WithBaseDir(dir string) Option {
	return func(o *options) { o.baseDir = dir }
}

// Load reads, decodes and validates the config file at path.
//
// The returned Config is never nil. When the diagnostics contain errors it
// is incomplete and only Path, BaseDir and Sources are meaningful; Sources
// is there so callers can pass it to WriteDiagnostics. Warnings alone do
// not make a config unusable.
func Load(path string, opts ...Option) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		cfg := &Config{Path: path, Sources: map[string][]byte{}}
		return cfg, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read configuration file",
			Detail:   fmt.Sprintf("Reading %s failed: %s. Check the path given with -config.", path, unwrapPathError(err)),
			Subject:  &hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	return Parse(src, path, opts...)
}

// Parse decodes and validates config source; filename names it in
// diagnostics and, unless WithBaseDir is given, its directory is the base
// directory. The returned Config follows the same rules as Load's.
func Parse(src []byte, filename string, opts ...Option) (*Config, hcl.Diagnostics) {
	o := options{lookupEnv: os.LookupEnv, baseDir: filepath.Dir(filename)}
	for _, opt := range opts {
		opt(&o)
	}
	// An absolute base directory keeps plugin paths valid after the
	// process changes directory.
	if abs, err := filepath.Abs(o.baseDir); err == nil {
		o.baseDir = abs
	}

	cfg := defaults()
	cfg.Path = filename
	cfg.BaseDir = o.baseDir
	cfg.Sources = map[string][]byte{filename: src}

	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return cfg, diags
	}
	if body, ok := file.Body.(*hclsyntax.Body); ok {
		if nd := checkNumberLiterals(body); nd.HasErrors() {
			return cfg, append(diags, nd...)
		}
	}
	d := &decoder{ctx: evalContext(o.lookupEnv, o.baseDir), baseDir: o.baseDir, diags: diags}
	d.decodeFile(file.Body, cfg)
	sortDiagnostics(d.diags)
	return cfg, d.diags
}

// sortDiagnostics orders diagnostics by position, so the cross-block
// checks that run last still read top to bottom with the rest.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		default:
			return a.Start.Column < b.Start.Column
		}
	})
}

// defaults is the configuration an empty file produces; the values match
// the shipped oneflow.hcl.
func defaults() *Config {
	return &Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    300 * time.Second,
			ShutdownTimeout: 30 * time.Second,
			BodyLimit:       10 * 1000 * 1000,
			CORSOrigins:     []string{},
		},
		Storage: Storage{
			DatabaseURL:    "sqlite://data/oneflow.db",
			MaxOpenConns:   20,
			MaxIdleConns:   10,
			UsageRetention: 2160 * time.Hour,
		},
		Auth: Auth{
			JWTAlgorithm:     "HS256",
			AccessTokenTTL:   15 * time.Minute,
			RefreshTokenTTL:  720 * time.Hour,
			KeyRotationGrace: 24 * time.Hour,
		},
		Telemetry: Telemetry{LogLevel: "info", LogFormat: "json"},
		Pricing:   Pricing{CreditsPerUSD: 100},
		Routing: Routing{
			DefaultStrategy: "balanced",
			StrategyTimeout: 50 * time.Millisecond,
			MaxFallbacks:    3,
		},
		Breaker: Breaker{
			FailureThreshold: 5,
			FailureRatio:     0.5,
			Window:           60 * time.Second,
			Timeout:          30 * time.Second,
			MaxTimeout:       5 * time.Minute,
			HalfOpenProbes:   1,
		},
		Retry: Retry{
			MaxAttempts: 3,
			BaseDelay:   100 * time.Millisecond,
			MaxDelay:    2 * time.Second,
			Deadline:    60 * time.Second,
		},
		RateLimit: RateLimit{PerMinute: 60, PerHour: 1000, FailOpen: true},
	}
}

// Provider defaults, applied per provider block.
const (
	defaultConnectTimeout = 10 * time.Second
	defaultReadTimeout    = 30 * time.Second
)

// refs remembers where cross-references were written so the checks that
// run after every block is decoded can point at them.
type refs struct {
	defaultStrategy    hcl.Range
	defaultStrategySet bool
	// defaultStrategyFailed skips the check after an evaluation error.
	defaultStrategyFailed bool
	routingBlock          *hcl.Range
	providerPlugin        []hcl.Range // parallel to Config.Providers
	strategyPlugin        []hcl.Range // parallel to Config.Strategies
	modelAliases          [][]hcl.Range
}

func (d *decoder) decodeFile(body hcl.Body, cfg *Config) {
	content, diags := body.Content(topSchema())
	d.add(diags)

	var r refs
	seen := map[string]*hcl.Block{}
	for _, block := range content.Blocks {
		if len(block.Labels) == 0 {
			if first, dup := seen[block.Type]; dup {
				d.errorAt(block.DefRange, "Duplicate "+block.Type+" block",
					fmt.Sprintf("Only one %s block is allowed; the first is at %s. Merge the two.", block.Type, pos(first.DefRange)))
				continue
			}
			seen[block.Type] = block
		}
		switch block.Type {
		case "server":
			d.decodeServer(block, &cfg.Server)
		case "storage":
			d.decodeStorage(block, &cfg.Storage)
		case "redis":
			var raw rawRedis
			d.decodeBody(block, &raw)
			// The URL may carry a password, so it is treated as a secret.
			cfg.Redis.URL, _ = d.secret("url", raw.URL, cfg.Redis.URL)
		case "auth":
			d.decodeAuth(block, &cfg.Auth)
		case "telemetry":
			d.decodeTelemetry(block, &cfg.Telemetry)
		case "pricing":
			d.decodePricing(block, &cfg.Pricing)
		case "routing":
			rng := block.DefRange
			r.routingBlock = &rng
			d.decodeRouting(block, &cfg.Routing, &r)
		case "circuit_breaker":
			d.decodeBreaker(block, &cfg.Breaker)
		case "retry":
			d.decodeRetry(block, &cfg.Retry)
		case "rate_limit":
			d.decodeRateLimit(block, &cfg.RateLimit)
		case "plugin":
			if p, ok := d.decodePlugin(block); ok {
				cfg.Plugins = append(cfg.Plugins, p)
			}
		case "strategy":
			if s, rng, ok := d.decodeStrategy(block); ok {
				cfg.Strategies = append(cfg.Strategies, s)
				r.strategyPlugin = append(r.strategyPlugin, rng)
			}
		case "quota":
			if q, ok := d.decodeQuota(block); ok {
				cfg.Quotas = append(cfg.Quotas, q)
			}
		case "provider":
			if p, rng, aliases, ok := d.decodeProvider(block); ok {
				cfg.Providers = append(cfg.Providers, p)
				r.providerPlugin = append(r.providerPlugin, rng)
				r.modelAliases = append(r.modelAliases, aliases)
			}
		}
	}
	d.validate(cfg, &r)
	d.checkQuotas(cfg)
}

// decodeBody runs gohcl over a block body, which reports unknown
// attributes and blocks with "did you mean" suggestions. A nil context is
// right because every field is an unevaluated hcl.Expression.
//
// gohcl fills every field it can even when it reports an unknown
// attribute, so decoding carries on and the rest of the block is checked
// in the same run.
func (d *decoder) decodeBody(block *hcl.Block, raw any) {
	d.add(gohcl.DecodeBody(block.Body, nil, raw))
}

// maxNumberExp bounds number literals to about 1e±1000 (2^3322 ≈ 1e1000).
// cty turns a number into a string by printing every digit, so a literal
// like 1e99999999 used where a string is expected (or inside "${...}")
// would print a hundred million digits before anything could reject it.
const maxNumberExp = 3322

// checkNumberLiterals rejects number literals too large or too small for
// any setting, before evaluation can try to print them.
func checkNumberLiterals(body *hclsyntax.Body) hcl.Diagnostics {
	var diags hcl.Diagnostics
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		lit, ok := n.(*hclsyntax.LiteralValueExpr)
		if !ok || !lit.Val.Type().Equals(cty.Number) || !lit.Val.IsKnown() || lit.Val.IsNull() {
			return nil
		}
		if numberOutOfRange(lit.Val) {
			rng := lit.SrcRange
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Number out of range",
				Detail:   "Numbers in the configuration must lie between 1e-1000 and 1e1000 in magnitude.",
				Subject:  &rng,
			})
		}
		return nil
	})
	return diags
}

// numberOutOfRange reports whether a known number is beyond maxNumberExp.
func numberOutOfRange(v cty.Value) bool {
	bf := v.AsBigFloat()
	if bf.IsInf() {
		return false // cty prints infinities compactly
	}
	if bf.Sign() == 0 {
		return false
	}
	exp := bf.MantExp(nil)
	return exp > maxNumberExp || exp < -maxNumberExp
}
