package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// shippedConfig is the default config at the repository root.
const shippedConfig = "../../../oneflow.hcl"

// envMap returns a WithEnv option backed by m.
func envMap(m map[string]string) Option {
	return WithEnv(func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	})
}

// mustParse parses src and fails the test on any diagnostic.
func mustParse(t *testing.T, src string, opts ...Option) *Config {
	t.Helper()
	cfg, diags := Parse([]byte(src), "test.hcl", opts...)
	if len(diags) > 0 {
		var b bytes.Buffer
		_ = WriteDiagnostics(&b, diags, cfg.Sources)
		t.Fatalf("unexpected diagnostics:\n%s", b.String())
	}
	return cfg
}

// parseErr parses src and returns the diagnostics rendered as text.
func parseDiags(t *testing.T, src string, opts ...Option) (*Config, string) {
	t.Helper()
	cfg, diags := Parse([]byte(src), "test.hcl", opts...)
	var b bytes.Buffer
	if err := WriteDiagnostics(&b, diags, cfg.Sources); err != nil {
		t.Fatal(err)
	}
	return cfg, b.String()
}

func TestLoadShippedConfig(t *testing.T) {
	cfg, diags := Load(shippedConfig, envMap(nil))
	if len(diags) > 0 {
		var b bytes.Buffer
		_ = WriteDiagnostics(&b, diags, cfg.Sources)
		t.Fatalf("loading %s with an empty environment:\n%s", shippedConfig, b.String())
	}
	if _, ok := cfg.Sources[shippedConfig]; !ok {
		t.Errorf("Sources lacks %s: %v", shippedConfig, cfg.Sources)
	}

	prices := []struct {
		provider, model   string
		modality          string
		in, out, perKChar int64
		image             map[string]int64
	}{
		{"openai", "gpt-4o", "text", 2_500_000, 10_000_000, 0, nil},
		{"openai", "gpt-4o-mini", "text", 150_000, 600_000, 0, nil},
		{"openai", "gpt-4-turbo", "text", 10_000_000, 30_000_000, 0, nil},
		{"openai", "gpt-4", "text", 30_000_000, 60_000_000, 0, nil},
		{"openai", "gpt-3.5-turbo", "text", 500_000, 1_500_000, 0, nil},
		{"openai", "text-embedding-3-small", "embedding", 20_000, 0, 0, nil},
		{"openai", "dall-e-3", "image", 0, 0, 0, map[string]int64{
			"1024x1024": 40_000, "1024x1792": 80_000, "1792x1024": 80_000,
			"1024x1024/hd": 80_000, "1024x1792/hd": 120_000, "1792x1024/hd": 120_000,
		}},
		{"openai", "tts-1", "audio", 0, 0, 15_000, nil},
		{"local", "llama3.1:8b", "text", 0, 0, 0, nil},
		{"anthropic", "claude-3-opus-20240229", "text", 15_000_000, 75_000_000, 0, nil},
		{"anthropic", "claude-3-sonnet-20240229", "text", 3_000_000, 15_000_000, 0, nil},
		{"anthropic", "claude-3-haiku-20240307", "text", 250_000, 1_250_000, 0, nil},
		{"anthropic", "claude-3-5-sonnet-20241022", "text", 3_000_000, 15_000_000, 0, nil},
		{"anthropic", "claude-3-5-haiku-20241022", "text", 800_000, 4_000_000, 0, nil},
		{"stability", "stable-image-ultra", "image", 0, 0, 0, map[string]int64{"*": 80_000}},
		{"stability", "stable-image-core", "image", 0, 0, 0, map[string]int64{"*": 30_000}},
		{"stability", "sd3.5-large", "image", 0, 0, 0, map[string]int64{"*": 65_000}},
		{"stability", "sd3.5-medium", "image", 0, 0, 0, map[string]int64{"*": 35_000}},
		{"elevenlabs", "eleven_multilingual_v2", "audio", 0, 0, 300_000, nil},
	}
	total := 0
	for _, p := range cfg.Providers {
		total += len(p.Models)
	}
	if total != len(prices) {
		t.Errorf("got %d models, want %d", total, len(prices))
	}
	for _, tc := range prices {
		t.Run(tc.provider+"/"+tc.model, func(t *testing.T) {
			p, ok := cfg.Provider(tc.provider)
			if !ok {
				t.Fatalf("provider %q missing", tc.provider)
			}
			m, ok := p.Model(tc.model)
			if !ok {
				t.Fatalf("model %q missing", tc.model)
			}
			if m.Modality != tc.modality {
				t.Errorf("modality = %q, want %q", m.Modality, tc.modality)
			}
			if m.InputMicroUSDPerMTok != tc.in || m.OutputMicroUSDPerMTok != tc.out || m.PerKCharMicroUSD != tc.perKChar {
				t.Errorf("prices = in %d out %d kchar %d, want in %d out %d kchar %d",
					m.InputMicroUSDPerMTok, m.OutputMicroUSDPerMTok, m.PerKCharMicroUSD, tc.in, tc.out, tc.perKChar)
			}
			if len(tc.image) > 0 && !reflect.DeepEqual(m.ImageMicroUSD, tc.image) {
				t.Errorf("image prices = %v, want %v", m.ImageMicroUSD, tc.image)
			}
			if !m.Priced {
				t.Error("Priced = false, want true")
			}
			if m.Effective.IsZero() {
				t.Error("Effective is zero")
			}
			wantPrefix := m.Effective.Format("2006-01-02") + "#"
			if !strings.HasPrefix(m.PriceVersion, wantPrefix) || len(m.PriceVersion) != len(wantPrefix)+8 {
				t.Errorf("PriceVersion = %q, want %q plus 8 hex digits", m.PriceVersion, wantPrefix)
			}
		})
	}

	// Prompt-cache prices where the vendor publishes them: OpenAI's cached
	// input at half the input price; Anthropic's cache reads at a tenth
	// and 5-minute writes at 1.25 times it (Haiku 3 as published, rounded).
	// -1 is unset.
	cachePrices := []struct {
		provider, model string
		cached, write   int64
	}{
		{"openai", "gpt-4o", 1_250_000, -1},
		{"openai", "gpt-4o-mini", 75_000, -1},
		{"openai", "gpt-4-turbo", -1, -1},
		{"openai", "gpt-4", -1, -1},
		{"openai", "gpt-3.5-turbo", -1, -1},
		{"local", "llama3.1:8b", -1, -1},
		{"anthropic", "claude-3-opus-20240229", 1_500_000, 18_750_000},
		{"anthropic", "claude-3-sonnet-20240229", -1, -1},
		{"anthropic", "claude-3-haiku-20240307", 30_000, 300_000},
		{"anthropic", "claude-3-5-sonnet-20241022", 300_000, 3_750_000},
		{"anthropic", "claude-3-5-haiku-20241022", 80_000, 1_000_000},
	}
	for _, tc := range cachePrices {
		t.Run("cache/"+tc.provider+"/"+tc.model, func(t *testing.T) {
			p, _ := cfg.Provider(tc.provider)
			m, ok := p.Model(tc.model)
			if !ok {
				t.Fatalf("model %q missing", tc.model)
			}
			got := func(v int64, set bool) int64 {
				if !set {
					return -1
				}
				return v
			}
			if c, w := got(m.CachedInputMicroUSDPerMTok, m.HasCachedInputPrice), got(m.CacheWriteMicroUSDPerMTok, m.HasCacheWritePrice); c != tc.cached || w != tc.write {
				t.Errorf("cache prices = %d / %d, want %d / %d (-1: unset)", c, w, tc.cached, tc.write)
			}
		})
	}

	t.Run("providers", func(t *testing.T) {
		openai, _ := cfg.Provider("openai")
		if openai.APIKeyEnv != "OPENAI_API_KEY" || openai.APIKey != "" || !openai.Enabled ||
			openai.BaseURL != "https://api.openai.com/v1" || openai.ConnectTimeout != 10*time.Second {
			t.Errorf("openai = %+v", openai)
		}
		local, _ := cfg.Provider("local")
		if local.Enabled || local.APIKey != "not-needed" || local.Plugin != "openai" || local.ReadTimeout != 30*time.Second {
			t.Errorf("local = %+v", local)
		}
		el, _ := cfg.Provider("elevenlabs")
		if el.Options["default_voice_id"] != "21m00Tcm4TlvDq8ikWAM" || el.ReadTimeout != time.Minute {
			t.Errorf("elevenlabs = %+v", el)
		}
		anth, _ := cfg.Provider("anthropic")
		if m, ok := anth.Model("claude-3-haiku"); !ok || m.ID != "claude-3-haiku-20240307" {
			t.Errorf("alias lookup claude-3-haiku = %v, %v", m, ok)
		}
	})

	t.Run("plugins and strategies", func(t *testing.T) {
		if len(cfg.Plugins) != 8 || len(cfg.Strategies) != 4 {
			t.Fatalf("got %d plugins, %d strategies", len(cfg.Plugins), len(cfg.Strategies))
		}
		dir, err := filepath.Abs(filepath.Dir(shippedConfig))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := cfg.Plugin("openai")
		if p.Kind != KindProvider || p.Path != filepath.Join(dir, "bin/plugins/oneflow-provider-openai") {
			t.Errorf("plugin openai = %+v", p)
		}
		s, _ := cfg.Strategy("balanced")
		want := map[string]string{"cost_weight": "0.4", "latency_weight": "0.3", "quality_weight": "0.3"}
		if s.Plugin != "balanced" || !reflect.DeepEqual(s.Params, want) {
			t.Errorf("strategy balanced = %+v", s)
		}
		if cfg.BaseDir != dir {
			t.Errorf("BaseDir = %q, want %q", cfg.BaseDir, dir)
		}
	})
}

// TestDefaults checks that an empty file gives the documented defaults and
// that they match what the shipped oneflow.hcl spells out.
func TestDefaults(t *testing.T) {
	empty := mustParse(t, "", envMap(nil))
	want := Config{
		Server: Server{
			Listen: "127.0.0.1:8080", ReadTimeout: 30 * time.Second, WriteTimeout: 300 * time.Second,
			ShutdownTimeout: 30 * time.Second, BodyLimit: 10_000_000, CORSOrigins: []string{},
		},
		Storage: Storage{
			DatabaseURL: "sqlite://data/oneflow.db", MaxOpenConns: 20, MaxIdleConns: 10,
			UsageRetention: 2160 * time.Hour,
		},
		Auth: Auth{
			JWTAlgorithm: "HS256", AccessTokenTTL: 15 * time.Minute,
			RefreshTokenTTL: 720 * time.Hour, KeyRotationGrace: 24 * time.Hour,
		},
		Telemetry: Telemetry{LogLevel: "info", LogFormat: "json"},
		Pricing:   Pricing{CreditsPerUSD: 100},
		Routing:   Routing{DefaultStrategy: "balanced", StrategyTimeout: 50 * time.Millisecond, MaxFallbacks: 3},
		Breaker: Breaker{
			FailureThreshold: 5, FailureRatio: 0.5, Window: 60 * time.Second,
			Timeout: 30 * time.Second, MaxTimeout: 5 * time.Minute, HalfOpenProbes: 1,
		},
		Retry:     Retry{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, Deadline: 60 * time.Second},
		RateLimit: RateLimit{PerMinute: 60, PerHour: 1000, TokensPerMinute: 0, FailOpen: true},
	}
	shipped, diags := Load(shippedConfig, envMap(nil))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, tc := range []struct {
		name string
		cfg  *Config
	}{{"empty file", empty}, {"shipped oneflow.hcl", shipped}} {
		t.Run(tc.name, func(t *testing.T) {
			got := []any{tc.cfg.Server, tc.cfg.Storage, tc.cfg.Redis, tc.cfg.Auth, tc.cfg.Telemetry,
				tc.cfg.Pricing, tc.cfg.Routing, tc.cfg.Breaker, tc.cfg.Retry, tc.cfg.RateLimit}
			exp := []any{want.Server, want.Storage, want.Redis, want.Auth, want.Telemetry,
				want.Pricing, want.Routing, want.Breaker, want.Retry, want.RateLimit}
			for i := range got {
				if !reflect.DeepEqual(got[i], exp[i]) {
					t.Errorf("got  %+v\nwant %+v", got[i], exp[i])
				}
			}
		})
	}

	t.Run("provider defaults", func(t *testing.T) {
		cfg := mustParse(t, `
plugin "p" {
  kind = "provider"
  path = "/bin/p"
}
provider "p" {
  model "m" {}
}`, envMap(nil))
		p, _ := cfg.Provider("p")
		if !p.Enabled || p.Plugin != "p" || p.ConnectTimeout != 10*time.Second || p.ReadTimeout != 30*time.Second {
			t.Errorf("provider = %+v", p)
		}
		m := p.Models[0]
		if m.Modality != "text" || m.Priced || m.PriceVersion != "" || !m.Effective.IsZero() {
			t.Errorf("model = %+v", m)
		}
	})
}

// TestEnvStringsConvert checks that numbers and booleans coming from env()
// as strings decode into typed fields.
func TestEnvStringsConvert(t *testing.T) {
	src := `
server {
  body_limit = env("BODY", "1MiB")
}
storage {
  max_open_conns = env("DATABASE_POOL_SIZE", "20")
}
telemetry {
  tracing = env("ENABLE_TRACING", "false")
}
pricing {
  credits_per_usd = env("CREDITS", "100")
}
circuit_breaker {
  failure_threshold = env("THRESHOLD", "5")
  failure_ratio     = env("RATIO", "0.5")
}
`
	tests := []struct {
		name    string
		env     map[string]string
		check   func(*Config) bool
		wantErr string
	}{
		{"defaults from env()", nil, func(c *Config) bool {
			return c.Storage.MaxOpenConns == 20 && !c.Telemetry.Tracing && c.Breaker.FailureRatio == 0.5 &&
				c.Server.BodyLimit == 1<<20 && c.Pricing.CreditsPerUSD == 100
		}, ""},
		{"values from env", map[string]string{
			"DATABASE_POOL_SIZE": "42", "ENABLE_TRACING": "true", "RATIO": "0.25", "THRESHOLD": "7",
			"BODY": "2048", "CREDITS": "1000",
		}, func(c *Config) bool {
			return c.Storage.MaxOpenConns == 42 && c.Telemetry.Tracing && c.Breaker.FailureRatio == 0.25 &&
				c.Breaker.FailureThreshold == 7 && c.Server.BodyLimit == 2048 && c.Pricing.CreditsPerUSD == 1000
		}, ""},
		{"not a number", map[string]string{"DATABASE_POOL_SIZE": "lots"}, nil,
			"test.hcl:6:20: error: Invalid value for max_open_conns; max_open_conns must be a whole number; a number is required."},
		{"not a whole number", map[string]string{"DATABASE_POOL_SIZE": "2.5"}, nil,
			"test.hcl:6:20: error: Invalid value for max_open_conns; max_open_conns must be a whole number"},
		{"not a bool", map[string]string{"ENABLE_TRACING": "maybe"}, nil,
			"test.hcl:9:13: error: Invalid value for tracing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, out := parseDiags(t, src, envMap(tc.env))
			if tc.wantErr == "" {
				if out != "" {
					t.Fatalf("unexpected diagnostics:\n%s", out)
				}
				if !tc.check(cfg) {
					t.Errorf("unexpected config: %+v %+v %+v", cfg.Storage, cfg.Telemetry, cfg.Breaker)
				}
				return
			}
			if !strings.Contains(out, tc.wantErr) {
				t.Errorf("diagnostics:\n%s\nwant a line containing:\n%s", out, tc.wantErr)
			}
		})
	}
}

func TestEnvFunction(t *testing.T) {
	env := map[string]string{"SET": "value", "EMPTY": ""}
	tests := []struct {
		name    string
		expr    string
		want    string
		wantErr []string
	}{
		{"set", `env("SET")`, "value", nil},
		{"set with default", `env("SET", "d")`, "value", nil},
		{"unset with default", `env("UNSET", "d")`, "d", nil},
		{"empty with default", `env("EMPTY", "d")`, "d", nil},
		{"empty without default", `env("EMPTY")`, "", nil},
		{"unset without default", `env("UNSET")`, "", []string{
			"test.hcl:2:19: error: Error in function call;",
			"environment variable UNSET is not set; set it, or give a default with env(\"UNSET\", \"default\")",
		}},
		{"empty name", `env("")`, "", []string{"the environment variable name must not be empty"}},
		{"too many arguments", `env("A", "b", "c")`, "", []string{"at most one default"}},
		{"no arguments", `env()`, "", []string{"Not enough function arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, out := parseDiags(t, "telemetry {\n  otlp_endpoint = "+tc.expr+"\n}\n", envMap(env))
			if len(tc.wantErr) == 0 {
				if out != "" {
					t.Fatalf("unexpected diagnostics:\n%s", out)
				}
				if cfg.Telemetry.OTLPEndpoint != tc.want {
					t.Errorf("got %q, want %q", cfg.Telemetry.OTLPEndpoint, tc.want)
				}
				return
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(out, w) {
					t.Errorf("diagnostics:\n%s\nwant them to contain %q", out, w)
				}
			}
		})
	}
}

func TestFileFunction(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("plain", "secret")
	write("newline", "secret\n")
	write("two-newlines", "secret\n\n")
	write("crlf", "secret\r\n")
	write("big", strings.Repeat("x", maxFileSize+1))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("sub/nested", "nested")

	tests := []struct {
		name    string
		expr    string
		want    string
		wantErr string
	}{
		{"plain", `file("plain")`, "secret", ""},
		{"one newline trimmed", `file("newline")`, "secret", ""},
		{"only one newline trimmed", `file("two-newlines")`, "secret\n", ""},
		{"crlf trimmed", `file("crlf")`, "secret", ""},
		{"nested relative", `file("sub/nested")`, "nested", ""},
		{"absolute", `file("` + filepath.ToSlash(filepath.Join(dir, "plain")) + `")`, "secret", ""},
		{"missing", `file("missing")`, "", "no such file or directory"},
		{"directory", `file("sub")`, "", "not a regular file"},
		{"too big", `file("big")`, "", "larger than"},
		{"device", `file("/dev/zero")`, "", "not a regular file"},
		{"env inside", `file(env("F", "plain"))`, "secret", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, out := parseDiags(t, "telemetry {\n  otlp_endpoint = "+tc.expr+"\n}\n", envMap(nil), WithBaseDir(dir))
			if tc.wantErr == "" {
				if out != "" {
					t.Fatalf("unexpected diagnostics:\n%s", out)
				}
				if cfg.Telemetry.OTLPEndpoint != tc.want {
					t.Errorf("got %q, want %q", cfg.Telemetry.OTLPEndpoint, tc.want)
				}
				return
			}
			if !strings.Contains(out, tc.wantErr) || !strings.HasPrefix(out, "test.hcl:2:") {
				t.Errorf("diagnostics:\n%s\nwant test.hcl:2:... containing %q", out, tc.wantErr)
			}
		})
	}

	t.Run("base dir defaults to the config file's directory", func(t *testing.T) {
		path := filepath.Join(dir, "oneflow.hcl")
		write("oneflow.hcl", "telemetry {\n  otlp_endpoint = file(\"plain\")\n}\n")
		cfg, diags := Load(path, envMap(nil))
		if len(diags) > 0 || cfg.Telemetry.OTLPEndpoint != "secret" || cfg.BaseDir != dir {
			t.Errorf("got %q, base %q, %v", cfg.Telemetry.OTLPEndpoint, cfg.BaseDir, diags)
		}
	})
}

func TestAPIKeyEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("sk-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, expr, wantEnv, wantKey string
	}{
		{"env with default", `env("OPENAI_API_KEY", "")`, "OPENAI_API_KEY", "sk-env"},
		{"env without default", `env("OPENAI_API_KEY")`, "OPENAI_API_KEY", "sk-env"},
		{"unset env with default", `env("OTHER_KEY", "fallback")`, "OTHER_KEY", "fallback"},
		{"literal", `"sk-literal"`, "", "sk-literal"},
		{"file", `file("key")`, "", "sk-file"},
		{"env in template", `"${env("OPENAI_API_KEY")}"`, "", "sk-env"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, `
plugin "openai" {
  kind = "provider"
  path = "p"
}
provider "openai" {
  api_key = `+tc.expr+`
}`, envMap(map[string]string{"OPENAI_API_KEY": "sk-env"}), WithBaseDir(dir))
			p, _ := cfg.Provider("openai")
			if p.APIKeyEnv != tc.wantEnv || p.APIKey != tc.wantKey {
				t.Errorf("APIKeyEnv %q APIKey %q, want %q %q", p.APIKeyEnv, p.APIKey, tc.wantEnv, tc.wantKey)
			}
		})
	}
}

// TestSecretsNeverEchoed feeds secrets into every secret attribute in ways
// that produce diagnostics and checks no diagnostic text holds them.
func TestSecretsNeverEchoed(t *testing.T) {
	const secret = "sk-live-0123456789abcdef"
	plugin := `
plugin "openai" {
  kind = "provider"
  path = "p"
}
`
	tests := []struct {
		name string
		src  string
		// wantSummary proves a diagnostic was produced for the case.
		wantSummary string
	}{
		{"api_key list", plugin + `provider "openai" { api_key = ["` + secret + `"] }`, "Invalid value for api_key"},
		{"api_key object", plugin + `provider "openai" { api_key = { k = "` + secret + `" } }`, "Invalid value for api_key"},
		{"api_key from env as list", plugin + `provider "openai" { api_key = [env("SECRET")] }`, "Invalid value for api_key"},
		{"api_key arithmetic", plugin + `provider "openai" { api_key = "` + secret + `" + 1 }`, "Invalid operand"},
		{"api_key lone interpolation of list", plugin + `provider "openai" { api_key = "${["` + secret + `"]}" }`, "Invalid value for api_key"},
		{"api_key template of list", plugin + `provider "openai" { api_key = "Bearer ${["` + secret + `"]}" }`, "Invalid template interpolation value"},
		{"admin_key list", `auth { admin_key = ["` + secret + `"] }`, "Invalid value for admin_key"},
		{"jwt_secret map", `auth { jwt_secret = { a = "` + secret + `" } }`, "Invalid value for jwt_secret"},
		{"database_url bad scheme", `storage { database_url = "mysql://u:` + secret + `@db/x" }`, "Invalid database_url"},
		{"redis url list", `redis { url = ["redis://:` + secret + `@r"] }`, "Invalid value for url"},
		{"base_url with credentials", plugin + `provider "openai" { base_url = "ftp://u:` + secret + `@h" }`, "Invalid base_url"},
		{"duplicate provider", plugin + `
provider "openai" { api_key = "` + secret + `" }
provider "openai" { api_key = env("SECRET") }`, "Duplicate provider"},
		{"unknown plugin with key", `provider "x" { api_key = env("SECRET") }`, "Unknown plugin"},
		{"bad sibling attribute", plugin + `provider "openai" {
  api_key = env("SECRET")
  read_timeout = "soon"
}`, "Invalid duration for read_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := Parse([]byte(tc.src), "test.hcl", envMap(map[string]string{"SECRET": secret}))
			var b bytes.Buffer
			if err := WriteDiagnostics(&b, diags, cfg.Sources); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tc.wantSummary) {
				t.Fatalf("diagnostics:\n%s\nwant one with %q", b.String(), tc.wantSummary)
			}
			if strings.Contains(b.String(), secret) {
				t.Errorf("secret echoed:\n%s", b.String())
			}
			// Renderers with source snippets print values from the
			// expression and context; those must be gone too.
			for _, d := range diags {
				if strings.Contains(d.Summary+d.Detail, secret) {
					t.Errorf("secret in %q / %q", d.Summary, d.Detail)
				}
				if d.EvalContext != nil && strings.Contains(d.Summary, "api_key") {
					t.Errorf("diagnostic about api_key keeps its EvalContext")
				}
			}
		})
	}
}

func TestPluginPaths(t *testing.T) {
	base := t.TempDir()
	tests := []struct {
		name, path, want string
	}{
		{"relative", "bin/plugins/x", filepath.Join(base, "bin/plugins/x")},
		{"dot relative", "./x", filepath.Join(base, "x")},
		{"absolute kept", "/opt/oneflow/x", "/opt/oneflow/x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, `
plugin "x" {
  kind   = "strategy"
  path   = "`+tc.path+`"
  sha256 = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
  args   = ["-v"]
  env    = { A = "1" }
}`, envMap(nil), WithBaseDir(base))
			p, ok := cfg.Plugin("x")
			if !ok || p.Path != tc.want {
				t.Fatalf("path = %q, want %q", p.Path, tc.want)
			}
			if p.SHA256 != "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789" {
				t.Errorf("sha256 not lower-cased: %q", p.SHA256)
			}
			if !reflect.DeepEqual(p.Args, []string{"-v"}) || p.Env["A"] != "1" {
				t.Errorf("args %v env %v", p.Args, p.Env)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	cfg, diags := Load(shippedConfig, envMap(nil))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	found := func(_ any, ok bool) bool { return ok }
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"provider anthropic", found(cfg.Provider("anthropic")), true},
		{"provider nope", found(cfg.Provider("nope")), false},
		{"plugin cost", found(cfg.Plugin("cost")), true},
		{"plugin nope", found(cfg.Plugin("nope")), false},
		{"strategy latency", found(cfg.Strategy("latency")), true},
		{"strategy nope", found(cfg.Strategy("nope")), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("found = %v, want %v", tc.got, tc.want)
			}
		})
	}
	t.Run("pointer refers into config", func(t *testing.T) {
		p, _ := cfg.Provider("openai")
		p.Enabled = false
		again, _ := cfg.Provider("openai")
		if again.Enabled {
			t.Error("Provider returned a copy")
		}
	})
}

// TestCachePrices: a text model's cache prices decode exactly, and an
// unset one is told apart from an explicit 0.
func TestCachePrices(t *testing.T) {
	cfg := mustParse(t, `
plugin "p" {
  kind = "provider"
  path = "p"
}
provider "p" {
  model "both" {
    input_price        = 0.15
    output_price       = 0.60
    cached_input_price = 0.075
    cache_write_price  = env("WRITE", "0.1875")
  }
  model "free-reads" {
    input_price        = 1
    cached_input_price = 0
  }
  model "none" {
    input_price = 1
  }
}`, envMap(nil))
	tests := []struct {
		model                string
		cached, write        int64
		hasCached, hasWrites bool
	}{
		{"both", 75_000, 187_500, true, true},
		{"free-reads", 0, 0, true, false},
		{"none", 0, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			m, ok := cfg.Providers[0].Model(tc.model)
			if !ok {
				t.Fatalf("model %q missing", tc.model)
			}
			if m.CachedInputMicroUSDPerMTok != tc.cached || m.HasCachedInputPrice != tc.hasCached ||
				m.CacheWriteMicroUSDPerMTok != tc.write || m.HasCacheWritePrice != tc.hasWrites {
				t.Errorf("cache prices = %d (%v) / %d (%v), want %d (%v) / %d (%v)",
					m.CachedInputMicroUSDPerMTok, m.HasCachedInputPrice, m.CacheWriteMicroUSDPerMTok, m.HasCacheWritePrice,
					tc.cached, tc.hasCached, tc.write, tc.hasWrites)
			}
		})
	}
}

func TestUSD(t *testing.T) {
	for micro, want := range map[int64]string{0: "0", 1: "0.000001", 75_000: "0.075", 1_250_000: "1.25", 3_000_000: "3", 18_750_000: "18.75"} {
		if got := usd(micro); got != want {
			t.Errorf("usd(%d) = %q, want %q", micro, got, want)
		}
	}
}

func TestPriceVersion(t *testing.T) {
	model := func(price, date string) string {
		return `
plugin "p" {
  kind = "provider"
  path = "p"
}
provider "p" {
  model "m" {
    input_price = ` + price + `
    effective   = "` + date + `"
  }
}`
	}
	version := func(src string) string {
		cfg := mustParse(t, src, envMap(nil))
		return cfg.Providers[0].Models[0].PriceVersion
	}
	base := version(model("2.50", "2024-10-01"))
	// The version of a model without cache prices is the one it had
	// before they existed, so its usage records group with the older ones.
	if base != "2024-10-01#8e33c9c2" {
		t.Errorf("version without cache prices = %q, want the old 2024-10-01#8e33c9c2", base)
	}
	if a, b := version(model("2.50\n    cached_input_price = 2.5", "2024-10-01")), version(model("2.50\n    cache_write_price = 2.5", "2024-10-01")); a == b {
		t.Errorf("a cached-input and a cache-write price of the same amount share version %q", a)
	}
	tests := []struct {
		name     string
		src      string
		wantSame bool
	}{
		{"same prices written differently", model("2.5", "2024-10-01"), true},
		{"price from env string", model(`env("P", "2.500")`, "2024-10-01"), true},
		{"changed price", model("2.51", "2024-10-01"), false},
		{"changed date", model("2.50", "2024-10-02"), false},
		{"cached input price added", model("2.50\n    cached_input_price = 1.25", "2024-10-01"), false},
		{"cache write price added", model("2.50\n    cache_write_price = 3.125", "2024-10-01"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := version(tc.src)
			if (got == base) != tc.wantSame {
				t.Errorf("version %q vs base %q, want same=%v", got, base, tc.wantSame)
			}
		})
	}
	t.Run("undated", func(t *testing.T) {
		cfg := mustParse(t, `
plugin "p" {
  kind = "provider"
  path = "p"
}
provider "p" {
  model "m" { input_price = 0 }
}`, envMap(nil))
		m := cfg.Providers[0].Models[0]
		if !m.Priced || !strings.HasPrefix(m.PriceVersion, "undated#") {
			t.Errorf("model = %+v", m)
		}
	})
}

func TestWriteDiagnostics(t *testing.T) {
	rng := hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: 3, Column: 7}, End: hcl.Pos{Line: 3, Column: 9}}
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Bad thing", Detail: "Fix it\nlike this.", Subject: &rng},
		{Severity: hcl.DiagWarning, Summary: "Odd thing", Subject: &rng},
		{Severity: hcl.DiagError, Summary: "No place", Detail: "Somewhere."},
	}
	var b bytes.Buffer
	if err := WriteDiagnostics(&b, diags, nil); err != nil {
		t.Fatal(err)
	}
	want := "a.hcl:3:7: error: Bad thing; Fix it like this.\n" +
		"a.hcl:3:7: warning: Odd thing\n" +
		"error: No place; Somewhere.\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.hcl")
	cfg, diags := Load(path)
	if cfg == nil || !diags.HasErrors() {
		t.Fatalf("cfg %v diags %v", cfg, diags)
	}
	var b bytes.Buffer
	_ = WriteDiagnostics(&b, diags, cfg.Sources)
	want := path + ":1:1: error: Failed to read configuration file; Reading " + path + " failed: no such file or directory."
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("got %q, want prefix %q", b.String(), want)
	}
}
