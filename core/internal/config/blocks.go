package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// intAtLeast reads a whole number and rejects values below minimum.
func (d *decoder) intAtLeast(name string, expr hcl.Expression, def, minimum int64) int64 {
	v, ok := d.integer(name, expr, def)
	if !ok {
		return def
	}
	if v < minimum {
		want := fmt.Sprintf("at least %d", minimum)
		if minimum == 0 {
			want = "zero or more"
		}
		d.errorAt(expr.Range(), "Invalid value for "+name, fmt.Sprintf("%s must be %s, got %d.", name, want, v))
		return def
	}
	return v
}

// intField is intAtLeast for int-typed fields, also rejecting values that
// do not fit an int.
func (d *decoder) intField(name string, expr hcl.Expression, def int, minimum int64) int {
	v := d.intAtLeast(name, expr, int64(def), minimum)
	if int64(int(v)) != v {
		d.errorAt(expr.Range(), "Invalid value for "+name, name+" is too large.")
		return def
	}
	return int(v)
}

// oneOf reads a string that must be one of allowed.
func (d *decoder) oneOf(name string, expr hcl.Expression, def string, allowed ...string) string {
	v, ok := d.str(name, expr, def)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	d.errorAt(expr.Range(), "Invalid value for "+name, fmt.Sprintf("%s must be one of %s; got %q.", name, quoteList(allowed), v))
	return def
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func (d *decoder) decodeServer(block *hcl.Block, s *Server) {
	var raw rawServer
	d.decodeBody(block, &raw)
	if v, ok := d.str("listen", raw.Listen, s.Listen); ok {
		if err := checkListen(v); err != nil {
			d.errorAt(raw.Listen.Range(), "Invalid listen address",
				fmt.Sprintf(`listen must be host:port, such as "127.0.0.1:8080" or ":8080"; %s.`, err))
		} else {
			s.Listen = v
		}
	}
	s.ReadTimeout = d.duration("read_timeout", raw.ReadTimeout, s.ReadTimeout, 0)
	s.WriteTimeout = d.duration("write_timeout", raw.WriteTimeout, s.WriteTimeout, 0)
	s.ShutdownTimeout = d.duration("shutdown_timeout", raw.ShutdownTimeout, s.ShutdownTimeout, 0)
	if v, ok := d.str("body_limit", raw.BodyLimit, ""); ok {
		n, err := parseByteSize(v)
		switch {
		case err != nil:
			d.errorAt(raw.BodyLimit.Range(), "Invalid body_limit",
				fmt.Sprintf(`body_limit must be a size such as "10MB", "512KiB" or a number of bytes; %s. KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.`, err))
		case n <= 0:
			d.errorAt(raw.BodyLimit.Range(), "Invalid body_limit", "body_limit must be greater than zero.")
		default:
			s.BodyLimit = n
		}
	}
	if v, ok := d.strList("cors_origins", raw.CORSOrigins); ok {
		s.CORSOrigins = v
	}
}

// checkListen accepts host:port with a numeric port; the host may be empty
// to listen on every interface.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func (d *decoder) decodeStorage(block *hcl.Block, s *Storage) {
	var raw rawStorage
	d.decodeBody(block, &raw)
	// A postgres URL usually carries a password: never echo it.
	if v, ok := d.secret("database_url", raw.DatabaseURL, s.DatabaseURL); ok {
		if !strings.HasPrefix(v, "sqlite://") && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
			d.errorAt(raw.DatabaseURL.Range(), "Invalid database_url",
				`database_url must start with "sqlite://" (for example "sqlite://data/oneflow.db") or "postgres://". The value is not shown because it may hold a password.`)
		} else {
			s.DatabaseURL = v
		}
	}
	s.MaxOpenConns = d.intField("max_open_conns", raw.MaxOpenConns, s.MaxOpenConns, 0)
	s.MaxIdleConns = d.intField("max_idle_conns", raw.MaxIdleConns, s.MaxIdleConns, 0)
	s.UsageRetention = d.duration("usage_retention", raw.UsageRetention, s.UsageRetention, 0)
}

func (d *decoder) decodeAuth(block *hcl.Block, a *Auth) {
	var raw rawAuth
	d.decodeBody(block, &raw)
	a.AdminKey, _ = d.secret("admin_key", raw.AdminKey, a.AdminKey)
	a.JWTAlgorithm = d.oneOf("jwt_algorithm", raw.JWTAlgorithm, a.JWTAlgorithm, "HS256", "RS256")
	a.JWTSecret, _ = d.secret("jwt_secret", raw.JWTSecret, a.JWTSecret)
	a.AccessTokenTTL = d.duration("access_token_ttl", raw.AccessTokenTTL, a.AccessTokenTTL, 1)
	a.RefreshTokenTTL = d.duration("refresh_token_ttl", raw.RefreshTokenTTL, a.RefreshTokenTTL, 1)
	a.KeyRotationGrace = d.duration("key_rotation_grace", raw.KeyRotationGrace, a.KeyRotationGrace, 0)
	a.KeyRotationInterval = d.duration("key_rotation_interval", raw.KeyRotationInterval, a.KeyRotationInterval, 0)
}

func (d *decoder) decodeTelemetry(block *hcl.Block, t *Telemetry) {
	var raw rawTelemetry
	d.decodeBody(block, &raw)
	t.LogLevel = d.oneOf("log_level", raw.LogLevel, t.LogLevel, "trace", "debug", "info", "warn", "error")
	t.LogFormat = d.oneOf("log_format", raw.LogFormat, t.LogFormat, "json", "text")
	t.Tracing, _ = d.boolean("tracing", raw.Tracing, t.Tracing)
	t.OTLPEndpoint, _ = d.str("otlp_endpoint", raw.OTLPEndpoint, t.OTLPEndpoint)
}

func (d *decoder) decodePricing(block *hcl.Block, p *Pricing) {
	var raw rawPricing
	d.decodeBody(block, &raw)
	p.CreditsPerUSD = d.intAtLeast("credits_per_usd", raw.CreditsPerUSD, p.CreditsPerUSD, 1)
	p.AllowUnpriced, _ = d.boolean("allow_unpriced", raw.AllowUnpriced, p.AllowUnpriced)
}

func (d *decoder) decodeRouting(block *hcl.Block, rt *Routing, r *refs) {
	var raw rawRouting
	d.decodeBody(block, &raw)
	r.defaultStrategy = raw.DefaultStrategy.Range()
	mark := len(d.diags)
	rt.DefaultStrategy, r.defaultStrategySet = d.str("default_strategy", raw.DefaultStrategy, rt.DefaultStrategy)
	r.defaultStrategyFailed = d.failedSince(mark)
	rt.StrategyTimeout = d.duration("strategy_timeout", raw.StrategyTimeout, rt.StrategyTimeout, 1)
	rt.MaxFallbacks = d.intField("max_fallbacks", raw.MaxFallbacks, rt.MaxFallbacks, 0)
}

func (d *decoder) decodeBreaker(block *hcl.Block, b *Breaker) {
	var raw rawBreaker
	d.decodeBody(block, &raw)
	b.FailureThreshold = d.intField("failure_threshold", raw.FailureThreshold, b.FailureThreshold, 1)
	if v, ok := d.float("failure_ratio", raw.FailureRatio, b.FailureRatio); ok {
		if v <= 0 || v > 1 {
			d.errorAt(raw.FailureRatio.Range(), "Invalid value for failure_ratio",
				fmt.Sprintf("failure_ratio is the share of failed calls that opens the breaker and must be above 0 and at most 1, such as 0.5; got %g.", v))
		} else {
			b.FailureRatio = v
		}
	}
	b.Window = d.duration("window", raw.Window, b.Window, 1)
	b.Timeout = d.duration("timeout", raw.Timeout, b.Timeout, 1)
	b.MaxTimeout = d.duration("max_timeout", raw.MaxTimeout, b.MaxTimeout, 1)
	if b.MaxTimeout < b.Timeout {
		d.errorAt(raw.MaxTimeout.Range(), "Invalid value for max_timeout",
			fmt.Sprintf("max_timeout (%s) must not be shorter than timeout (%s): the open period backs off from timeout up to max_timeout.", b.MaxTimeout, b.Timeout))
	}
	b.HalfOpenProbes = d.intField("half_open_probes", raw.HalfOpenProbes, b.HalfOpenProbes, 1)
}

func (d *decoder) decodeRetry(block *hcl.Block, r *Retry) {
	var raw rawRetry
	d.decodeBody(block, &raw)
	r.MaxAttempts = d.intField("max_attempts", raw.MaxAttempts, r.MaxAttempts, 1)
	r.BaseDelay = d.duration("base_delay", raw.BaseDelay, r.BaseDelay, 1)
	r.MaxDelay = d.duration("max_delay", raw.MaxDelay, r.MaxDelay, 1)
	if r.MaxDelay < r.BaseDelay {
		d.errorAt(raw.MaxDelay.Range(), "Invalid value for max_delay",
			fmt.Sprintf("max_delay (%s) must not be shorter than base_delay (%s).", r.MaxDelay, r.BaseDelay))
	}
	r.Deadline = d.duration("deadline", raw.Deadline, r.Deadline, 1)
}

func (d *decoder) decodeRateLimit(block *hcl.Block, rl *RateLimit) {
	var raw rawRateLimit
	d.decodeBody(block, &raw)
	rl.PerMinute = d.intField("per_minute", raw.PerMinute, rl.PerMinute, 0)
	rl.PerHour = d.intField("per_hour", raw.PerHour, rl.PerHour, 0)
	rl.TokensPerMinute = d.intField("tokens_per_minute", raw.TokensPerMinute, rl.TokensPerMinute, 0)
	rl.FailOpen, _ = d.boolean("fail_open", raw.FailOpen, rl.FailOpen)
}

// rangeOr is expr's range when the attribute was written, else fallback.
// gohcl gives absent attributes a synthetic expression whose range is the
// block's opening brace; the block header is a clearer place to point.
func rangeOr(expr hcl.Expression, fallback hcl.Range) hcl.Range {
	if _, written := expr.(hclsyntax.Expression); written {
		return expr.Range()
	}
	return fallback
}

// checkName rejects an empty block label, which no reference could name.
func (d *decoder) checkName(block *hcl.Block) bool {
	if strings.TrimSpace(block.Labels[0]) != "" {
		return true
	}
	example := map[string]string{"model": `model "gpt-4o"`, "strategy": `strategy "balanced"`}[block.Type]
	if example == "" {
		example = block.Type + ` "openai"`
	}
	d.errorAt(block.LabelRanges[0], "Empty "+block.Type+" name", fmt.Sprintf("A %s block needs a non-empty name, such as %s.", block.Type, example))
	return false
}

func (d *decoder) decodePlugin(block *hcl.Block) (Plugin, bool) {
	var raw rawPlugin
	d.decodeBody(block, &raw)
	p := Plugin{Name: block.Labels[0], Range: block.DefRange}
	ok := d.checkName(block)

	mark := len(d.diags)
	kind, set := d.str("kind", raw.Kind, "")
	switch {
	case d.failedSince(mark):
		// Evaluation already reported why.
	case !set:
		d.errorAt(rangeOr(raw.Kind, block.DefRange), "Missing plugin kind", fmt.Sprintf(`plugin %q needs kind = "provider" or kind = "strategy".`, p.Name))
	case kind != string(KindProvider) && kind != string(KindStrategy):
		d.errorAt(raw.Kind.Range(), "Invalid plugin kind", fmt.Sprintf(`plugin %q has kind %q; kind must be "provider" or "strategy".`, p.Name, kind))
	default:
		p.Kind = PluginKind(kind)
	}

	mark = len(d.diags)
	path, _ := d.str("path", raw.Path, "")
	switch {
	case d.failedSince(mark):
	case strings.TrimSpace(path) == "":
		d.errorAt(rangeOr(raw.Path, block.DefRange), "Missing plugin path",
			fmt.Sprintf(`plugin %q needs path, the plugin binary, such as "bin/plugins/oneflow-provider-openai"; relative paths start at the config file's directory.`, p.Name))
	default:
		if !filepath.IsAbs(path) {
			path = filepath.Join(d.baseDir, path)
		}
		p.Path = filepath.Clean(path)
	}

	if sum, set := d.str("sha256", raw.SHA256, ""); set {
		if !isHex64(sum) {
			d.errorAt(raw.SHA256.Range(), "Invalid plugin sha256",
				fmt.Sprintf("plugin %q: sha256 must be 64 hexadecimal characters, as printed by `sha256sum <binary>`; got %d characters.", p.Name, len(sum)))
		} else {
			p.SHA256 = strings.ToLower(sum)
		}
	}
	p.Args, _ = d.strList("args", raw.Args)
	p.Env, _ = d.strMap("env", raw.Env)
	return p, ok
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func (d *decoder) decodeStrategy(block *hcl.Block) (Strategy, hcl.Range, bool) {
	var raw rawStrategy
	d.decodeBody(block, &raw)
	s := Strategy{Name: block.Labels[0], Range: block.DefRange}
	ok := d.checkName(block)
	// The plugin defaults to the strategy's own name, the common case. An
	// empty Plugin after a failed evaluation skips the reference check.
	mark := len(d.diags)
	s.Plugin, _ = d.str("plugin", raw.Plugin, s.Name)
	if d.failedSince(mark) {
		s.Plugin = ""
	}
	s.Params, _ = d.strMap("params", raw.Params)
	return s, rangeOr(raw.Plugin, block.DefRange), ok
}

func (d *decoder) decodeProvider(block *hcl.Block) (Provider, hcl.Range, []hcl.Range, bool) {
	var raw rawProvider
	d.decodeBody(block, &raw)
	p := Provider{
		Name:           block.Labels[0],
		Enabled:        true,
		ConnectTimeout: defaultConnectTimeout,
		ReadTimeout:    defaultReadTimeout,
		Range:          block.DefRange,
	}
	ok := d.checkName(block)
	// The plugin defaults to the provider's own name, the common case. An
	// empty Plugin after a failed evaluation skips the reference check.
	mark := len(d.diags)
	p.Plugin, _ = d.str("plugin", raw.Plugin, p.Name)
	if d.failedSince(mark) {
		p.Plugin = ""
	}
	p.Enabled, _ = d.boolean("enabled", raw.Enabled, p.Enabled)
	p.APIKey, _ = d.secret("api_key", raw.APIKey, "")
	p.APIKeyEnv = envCallName(raw.APIKey)
	if u, set := d.str("base_url", raw.BaseURL, ""); set && u != "" {
		if err := checkBaseURL(u); err != nil {
			d.errorAt(raw.BaseURL.Range(), "Invalid base_url",
				fmt.Sprintf(`provider %q: base_url must be an absolute http:// or https:// URL such as "https://api.openai.com/v1"; %s.`, p.Name, err))
		} else {
			p.BaseURL = u
		}
	}
	p.ConnectTimeout = d.duration("connect_timeout", raw.ConnectTimeout, p.ConnectTimeout, 1)
	p.ReadTimeout = d.duration("read_timeout", raw.ReadTimeout, p.ReadTimeout, 1)
	p.Options, _ = d.strMap("options", raw.Options)

	var aliasRanges []hcl.Range
	if raw.Remain != nil {
		content, diags := raw.Remain.Content(providerRestSchema())
		d.add(diags)
		seen := map[string]hcl.Range{}
		for _, mb := range content.Blocks {
			m, aliasRange, mok := d.decodeModel(mb)
			if !mok {
				continue
			}
			if first, dup := seen[m.ID]; dup {
				d.errorAt(mb.LabelRanges[0], "Duplicate model",
					fmt.Sprintf("provider %q already declares model %q at %s; model ids must be unique within a provider.", p.Name, m.ID, pos(first)))
				continue
			}
			seen[m.ID] = mb.DefRange
			p.Models = append(p.Models, m)
			aliasRanges = append(aliasRanges, aliasRange)
		}
	}
	return p, rangeOr(raw.Plugin, block.DefRange), aliasRanges, ok
}

// checkBaseURL keeps error text free of the URL itself, which may carry
// credentials in its userinfo.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("it does not parse as a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("the scheme must be http or https")
	}
	if u.Host == "" {
		return fmt.Errorf("the host is missing")
	}
	return nil
}

// The modalities a model can have, matching sdk/provider.Modality.
const (
	modalityText      = "text"
	modalityEmbedding = "embedding"
	modalityImage     = "image"
	modalityAudio     = "audio"
)

const dateLayout = "2006-01-02"

func (d *decoder) decodeModel(block *hcl.Block) (Model, hcl.Range, bool) {
	var raw rawModel
	d.decodeBody(block, &raw)
	m := Model{ID: block.Labels[0], Range: block.DefRange}
	ok := d.checkName(block)

	m.Modality = modalityText
	modalityOK := true
	if v, set := d.str("modality", raw.Modality, ""); set {
		switch v {
		case modalityText, modalityEmbedding, modalityImage, modalityAudio:
			m.Modality = v
		default:
			modalityOK = false
			d.errorAt(raw.Modality.Range(), "Invalid value for modality",
				fmt.Sprintf(`model %q: modality must be one of "text", "embedding", "image", "audio"; got %q.`, m.ID, v))
		}
	}
	if aliases, set := d.strList("aliases", raw.Aliases); set {
		for _, a := range aliases {
			if strings.TrimSpace(a) == "" {
				d.errorAt(raw.Aliases.Range(), "Empty model alias", fmt.Sprintf("model %q: aliases must not contain an empty string.", m.ID))
				continue
			}
			m.Aliases = append(m.Aliases, a)
		}
	}
	if q, set := d.float("quality", raw.Quality, 0); set {
		if q < 0 || q > 100 {
			d.errorAt(raw.Quality.Range(), "Invalid value for quality",
				fmt.Sprintf("model %q: quality is a score from 0 to 100 used by the quality strategy; got %g.", m.ID, q))
		} else {
			m.Quality = q
		}
	}
	m.ContextWindow = d.intAtLeast("context_window", raw.ContextWindow, 0, 0)
	m.Tokenizer, _ = d.str("tokenizer", raw.Tokenizer, "")

	var setIn, setOut, setK, setImg bool
	m.InputMicroUSDPerMTok, setIn = d.price("input_price", raw.InputPrice)
	m.OutputMicroUSDPerMTok, setOut = d.price("output_price", raw.OutputPrice)
	m.PerKCharMicroUSD, setK = d.price("per_1k_chars", raw.PerKChars)
	m.ImageMicroUSD, setImg = d.imagePrices("image_prices", raw.ImagePrices)
	var cacheOK [2]bool
	m.CachedInputMicroUSDPerMTok, m.HasCachedInputPrice, cacheOK[0] = d.checkedPrice("cached_input_price", raw.CachedInput)
	m.CacheWriteMicroUSDPerMTok, m.HasCacheWritePrice, cacheOK[1] = d.checkedPrice("cache_write_price", raw.CacheWrite)
	m.Priced = setIn || setOut || setK || setImg

	// Each modality is billed in one unit; a price in another unit would
	// be silently ignored by the pricing code, so it is an error here.
	wrong := func(attr string, set bool, expr hcl.Expression, want string) {
		if set {
			d.errorAt(expr.Range(), "Price does not match modality",
				fmt.Sprintf("model %q has modality %q, which is priced with %s; remove %s.", m.ID, m.Modality, want, attr))
		}
	}
	switch {
	case !modalityOK:
		// The prices cannot be checked against an unknown modality.
	case m.Modality == modalityText:
		const want = "input_price and output_price (USD per 1M tokens)"
		wrong("per_1k_chars", setK, raw.PerKChars, want)
		wrong("image_prices", setImg, raw.ImagePrices, want)
		d.checkCachePrices(&m, raw, setIn, cacheOK)
	case m.Modality == modalityEmbedding:
		// No vendor caches embedding input, so a cache price there would
		// never apply.
		const want = "input_price and output_price (USD per 1M tokens)"
		wrong("per_1k_chars", setK, raw.PerKChars, want)
		wrong("image_prices", setImg, raw.ImagePrices, want)
		wrong("cached_input_price", m.HasCachedInputPrice, raw.CachedInput, want)
		wrong("cache_write_price", m.HasCacheWritePrice, raw.CacheWrite, want)
	case m.Modality == modalityImage:
		const want = "image_prices (USD per image)"
		wrong("input_price", setIn, raw.InputPrice, want)
		wrong("output_price", setOut, raw.OutputPrice, want)
		wrong("per_1k_chars", setK, raw.PerKChars, want)
		wrong("cached_input_price", m.HasCachedInputPrice, raw.CachedInput, want)
		wrong("cache_write_price", m.HasCacheWritePrice, raw.CacheWrite, want)
	case m.Modality == modalityAudio:
		const want = "per_1k_chars (USD per 1000 characters)"
		wrong("input_price", setIn, raw.InputPrice, want)
		wrong("output_price", setOut, raw.OutputPrice, want)
		wrong("image_prices", setImg, raw.ImagePrices, want)
		wrong("cached_input_price", m.HasCachedInputPrice, raw.CachedInput, want)
		wrong("cache_write_price", m.HasCacheWritePrice, raw.CacheWrite, want)
	}

	if s, set := d.str("effective", raw.Effective, ""); set {
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			d.errorAt(raw.Effective.Range(), "Invalid effective date",
				fmt.Sprintf(`model %q: effective must be the date the price took effect as "YYYY-MM-DD", such as "2024-10-01"; got %q.`, m.ID, s))
		} else {
			m.Effective = t
		}
	}
	if m.Priced {
		m.PriceVersion = priceVersion(&m)
	}
	return m, raw.Aliases.Range(), ok
}

// checkedPrice is d.price that also reports whether the value was a valid
// price, so that checks of a bad one add no noise to its error.
func (d *decoder) checkedPrice(name string, expr hcl.Expression) (micro int64, set, ok bool) {
	before := len(d.diags)
	micro, set = d.price(name, expr)
	return micro, set, len(d.diags) == before
}

// checkCachePrices checks a text model's prompt-cache prices against its
// input price; ok says which of the two (cached input, cache write) parsed.
// They replace the input price for some of the prompt's tokens, so they
// need one; and a cache read dearer than a fresh token or a cache write
// cheaper than one is in no vendor's price list, most likely a misplaced
// decimal point, so it is worth a warning.
func (d *decoder) checkCachePrices(m *Model, raw rawModel, setIn bool, ok [2]bool) {
	for _, c := range []struct {
		attr, what string
		set        bool
		expr       hcl.Expression
	}{
		{"cached_input_price", "reads from", m.HasCachedInputPrice, raw.CachedInput},
		{"cache_write_price", "writes to", m.HasCacheWritePrice, raw.CacheWrite},
	} {
		if c.set && !setIn {
			d.errorAt(c.expr.Range(), "Cache price without an input price",
				fmt.Sprintf("model %q sets %s but no input_price; %s prices the prompt tokens the vendor %s its cache in place of input_price, so set input_price too.", m.ID, c.attr, c.attr, c.what))
		}
	}
	if !setIn {
		return
	}
	if m.HasCachedInputPrice && ok[0] && m.CachedInputMicroUSDPerMTok > m.InputMicroUSDPerMTok {
		d.warnAt(raw.CachedInput.Range(), "Cached input dearer than input",
			fmt.Sprintf("model %q: cached_input_price (%s) is above input_price (%s), but vendors bill prompt tokens read from their cache below the input price (OpenAI at half of it, Anthropic at a tenth). Check the decimal point.",
				m.ID, usd(m.CachedInputMicroUSDPerMTok), usd(m.InputMicroUSDPerMTok)))
	}
	if m.HasCacheWritePrice && ok[1] && m.CacheWriteMicroUSDPerMTok < m.InputMicroUSDPerMTok {
		d.warnAt(raw.CacheWrite.Range(), "Cache write cheaper than input",
			fmt.Sprintf("model %q: cache_write_price (%s) is below input_price (%s), but vendors bill prompt tokens written to their cache at or above the input price (Anthropic at 1.25 times it). Check the decimal point.",
				m.ID, usd(m.CacheWriteMicroUSDPerMTok), usd(m.InputMicroUSDPerMTok)))
	}
}
