package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

const (
	pluginName    = "anthropic"
	pluginVersion = "1.0.0"

	defaultBaseURL = "https://api.anthropic.com"
	// anthropicVersion pins the wire format: Anthropic keeps a version's
	// request and response shapes stable, so new API features cannot break
	// this plugin behind its back.
	anthropicVersion = "2023-06-01"
	// defaultMaxTokens is sent when a request gives no max_tokens, which
	// Anthropic (unlike OpenAI) requires. Override it with the
	// default_max_tokens option.
	defaultMaxTokens = 4096

	optDefaultMaxTokens = "default_max_tokens"
	// contextWindow is the same for every Claude 3 and 3.5 model.
	contextWindow = 200000
)

// Plugin is the Anthropic provider. Its zero value is ready for Configure;
// every call before a Configure with an API key fails with KindUnconfigured.
type Plugin struct {
	// cfg is swapped whole by Configure so that calls in flight keep the
	// settings they started with.
	cfg atomic.Pointer[settings]
	// now is the clock used to read HTTP-date Retry-After headers; nil
	// means time.Now. Tests inject it.
	now func() time.Time
}

// Compile-time checks that Plugin offers what the core looks for.
var (
	_ provider.Provider     = (*Plugin)(nil)
	_ provider.Chatter      = (*Plugin)(nil)
	_ provider.ChatStreamer = (*Plugin)(nil)
	_ provider.TokenCounter = (*Plugin)(nil)
)

// settings is one Configure call's result.
type settings struct {
	apiKey           string
	baseURL          string
	client           *http.Client
	defaultMaxTokens int64
	now              func() time.Time
}

// Describe reports the plugin and its models. It never calls Anthropic.
func (p *Plugin) Describe(context.Context) (*provider.Info, error) {
	// The Claude models this plugin knows; the core's config decides which
	// of them are offered and at what price.
	models := []string{
		"claude-3-opus-20240229",
		"claude-3-sonnet-20240229",
		"claude-3-haiku-20240307",
		"claude-3-5-sonnet-20241022",
		"claude-3-5-haiku-20241022",
	}
	info := &provider.Info{Name: pluginName, Version: pluginVersion}
	for _, id := range models {
		info.Models = append(info.Models, provider.Model{
			ID:            id,
			Modality:      provider.ModalityText,
			ContextWindow: contextWindow,
		})
	}
	// Tool use is in the message bodies, so no sdk interface shows it.
	info.Capabilities = append(provider.Capabilities(p), provider.CapTools)
	return info, nil
}

// Configure validates and stores the settings. An empty API key is accepted
// so that Describe still works, but every vendor call then fails with
// KindUnconfigured.
func (p *Plugin) Configure(_ context.Context, cfg provider.Config) error {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = defaultBaseURL
	}
	// The URL is not quoted in the error: it may carry credentials.
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return provider.Errorf(provider.KindUnconfigured, "configuring anthropic: base_url must be an absolute http or https URL")
	}
	maxTokens := int64(defaultMaxTokens)
	if v, ok := cfg.Options[optDefaultMaxTokens]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return provider.Errorf(provider.KindUnconfigured, "configuring anthropic: option %s must be a positive integer, got %q", optDefaultMaxTokens, v)
		}
		maxTokens = n
	}
	now := p.now
	if now == nil {
		now = time.Now
	}
	next := &settings{
		apiKey:           cfg.APIKey,
		baseURL:          base,
		client:           vendorhttp.NewClient(cfg),
		defaultMaxTokens: maxTokens,
		now:              now,
	}
	if old := p.cfg.Swap(next); old != nil {
		// Calls in flight keep their connections; only idle ones go.
		old.client.CloseIdleConnections()
	}
	return nil
}

// settings returns the current settings, or a KindUnconfigured error when
// no usable API key has been configured.
func (p *Plugin) settings() (*settings, error) {
	s := p.cfg.Load()
	if s == nil {
		return nil, provider.Errorf(provider.KindUnconfigured, "anthropic: plugin not configured")
	}
	if s.apiKey == "" {
		return nil, provider.Errorf(provider.KindUnconfigured, "anthropic: no API key configured")
	}
	return s, nil
}

// redact removes the API key from a message that may quote vendor or
// transport text, so the key can never leak through an error.
func (s *settings) redact(msg string) string { return vendorhttp.Redact(msg, s.apiKey) }
