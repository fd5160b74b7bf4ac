package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

// DefaultBaseURL is OpenAI's API root, used when the provider block sets none.
const DefaultBaseURL = "https://api.openai.com/v1"

// maxResponseBody caps a successful JSON or audio body. It is far above any
// real answer (ten HD images in base64 are a few tens of MiB) and only stops
// a broken or hostile server from exhausting the plugin's memory.
const maxResponseBody = 256 << 20

// Options understood in the provider block.
const (
	optOrganization = "organization"
	optProject      = "project"
)

// Plugin is the OpenAI provider. Its zero value is ready for Configure.
type Plugin struct {
	// cur is replaced as a whole by Configure, so calls in flight keep the
	// settings they started with and no lock sits on the hot path.
	cur atomic.Pointer[settings]
}

// settings is what Configure derives from the provider block. It is never
// modified after it is published.
type settings struct {
	apiKey  string
	baseURL string
	client  *http.Client
	// header holds extra headers sent on every call (organization, project).
	header http.Header
}

var (
	_ provider.Provider       = (*Plugin)(nil)
	_ provider.Chatter        = (*Plugin)(nil)
	_ provider.ChatStreamer   = (*Plugin)(nil)
	_ provider.Embedder       = (*Plugin)(nil)
	_ provider.ImageGenerator = (*Plugin)(nil)
	_ provider.Speaker        = (*Plugin)(nil)
)

// Describe reports the models this plugin knows. The core's config decides
// which are offered; a compatible server's models need no entry here.
func (p *Plugin) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{
		Name:    "openai",
		Version: "1.0.0",
		Models: []provider.Model{
			{ID: "gpt-4o", Modality: provider.ModalityText, ContextWindow: 128000},
			{ID: "gpt-4o-mini", Modality: provider.ModalityText, ContextWindow: 128000},
			{ID: "gpt-4-turbo", Modality: provider.ModalityText, ContextWindow: 128000},
			{ID: "gpt-4", Modality: provider.ModalityText, ContextWindow: 8192},
			{ID: "gpt-3.5-turbo", Modality: provider.ModalityText, ContextWindow: 16385},
			// openai-openapi.yaml, CreateEmbeddingRequest.input: "8192 tokens
			// for all embedding models".
			{ID: "text-embedding-3-small", Modality: provider.ModalityEmbedding, ContextWindow: 8192},
			{ID: "dall-e-3", Modality: provider.ModalityImage},
			{ID: "tts-1", Modality: provider.ModalityAudio},
		},
		// Function calling and JSON mode are in the request and answer
		// bodies, so no interface shows them: declare them beside the
		// ones that do.
		Capabilities: append(provider.Capabilities(p), provider.CapTools, provider.CapResponseFormat),
	}, nil
}

// Configure validates cfg and builds the one HTTP client all calls share.
// A missing API key is not an error here: the plugin still describes
// itself, and every vendor call reports KindUnconfigured instead.
func (p *Plugin) Configure(_ context.Context, cfg provider.Config) error {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	// The parse error is not quoted: it repeats the URL, which may carry
	// credentials in its user info.
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return provider.Errorf(provider.KindUnconfigured, "configure openai: base_url must be an absolute http or https URL")
	}
	h := http.Header{}
	if v := cfg.Options[optOrganization]; v != "" {
		h.Set("OpenAI-Organization", v)
	}
	if v := cfg.Options[optProject]; v != "" {
		h.Set("OpenAI-Project", v)
	}
	next := &settings{
		apiKey:  cfg.APIKey,
		baseURL: base,
		client:  vendorhttp.NewClient(cfg),
		header:  h,
	}
	if old := p.cur.Swap(next); old != nil {
		// Calls in flight keep their connections; only idle ones go.
		old.client.CloseIdleConnections()
	}
	return nil
}

// ready returns the current settings, or the error every call reports
// when the plugin cannot reach the vendor.
func (p *Plugin) ready() (*settings, error) {
	s := p.cur.Load()
	if s == nil {
		return nil, provider.Errorf(provider.KindUnconfigured, "openai provider is not configured")
	}
	if s.apiKey == "" {
		return nil, provider.Errorf(provider.KindUnconfigured, "no API key configured")
	}
	return s, nil
}

// post sends body as JSON to path and returns the response when the vendor
// answered 2xx; the caller closes its body. Any other answer becomes a
// classified *provider.Error.
func (s *settings) post(ctx context.Context, what, path string, body any, accept string) (*http.Response, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		// Only unencodable numbers (NaN, ±Inf) get here.
		return nil, provider.Errorf(provider.KindInvalidRequest, "%s: encode request: %v", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.baseURL+path, bytes.NewReader(buf))
	if err != nil {
		return nil, provider.Errorf(provider.KindUnconfigured, "%s: build request: invalid base URL", what)
	}
	req.Header.Set("Authorization", "Bearer "+s.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	for k, v := range s.header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, vendorhttp.TransportError(ctx, what, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw := vendorhttp.ReadErrorBody(resp)
	msg := errorMessage(raw, resp.Header.Get("Content-Type"))
	e := vendorhttp.StatusError(resp, msg, time.Now())
	e.Message = what + ": " + e.Message
	return nil, e
}

// readAll reads a successful response body, bounded by maxResponseBody.
func readAll(ctx context.Context, what string, resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, vendorhttp.TransportError(ctx, what+": read response", err)
	}
	if len(b) > maxResponseBody {
		return nil, provider.Errorf(provider.KindUnavailable, "%s: response larger than %d bytes", what, maxResponseBody)
	}
	return b, nil
}

// vendorEnvelope is embedded in every response type decodeJSON fills:
// some compatible servers answer 200 with an error object, and the field
// lets one decoding pass catch it.
type vendorEnvelope struct {
	Error json.RawMessage `json:"error"`
}

func (e *vendorEnvelope) vendorError() json.RawMessage { return e.Error }

// enveloped is a response type with a vendorEnvelope embedded.
type enveloped interface{ vendorError() json.RawMessage }

// decodeJSON reads and decodes a successful JSON response into v, once; an
// error object in it becomes an error.
func decodeJSON(ctx context.Context, what string, resp *http.Response, v enveloped) error {
	b, err := readAll(ctx, what, resp)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		// An error object whose other fields clash with v's types still
		// says more than the decoding error.
		var env vendorEnvelope
		if json.Unmarshal(b, &env) == nil && hasValue(env.Error) {
			return vendorErrorOf(what, env.Error)
		}
		return provider.Errorf(provider.KindUnavailable, "%s: decode response: %v", what, err)
	}
	if raw := v.vendorError(); hasValue(raw) {
		return vendorErrorOf(what, raw)
	}
	return nil
}

func vendorErrorOf(what string, raw json.RawMessage) error {
	ae := parseErrorValue(raw)
	return &provider.Error{Kind: ae.kind(), Message: what + ": " + ae.Message}
}

// apiError is the "error" object of OpenAI's ErrorResponse schema
// (openai-openapi.yaml, components.schemas.Error). Code is raw because
// compatible servers send it as a number (vLLM: the HTTP status).
type apiError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// hasValue reports whether a raw JSON field was present and not null.
func hasValue(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// parseErrorValue reads the value of an "error" field: OpenAI's object, or
// the bare string some servers (Ollama's native API) send.
func parseErrorValue(raw json.RawMessage) apiError {
	var ae apiError
	if json.Unmarshal(raw, &ae) == nil {
		if ae.Message == "" {
			ae.Message = "vendor reported an error"
		}
		return ae
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return apiError{Message: s}
	}
	return apiError{Message: "vendor reported an error"}
}

// code returns the error code as text whether it was sent as a string or
// a number.
func (e apiError) code() string {
	var s string
	if json.Unmarshal(e.Code, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(e.Code))
}

// kind classifies an error that arrived without a useful HTTP status: in a
// stream, or in a 200 body.
func (e apiError) kind() provider.Kind {
	c := e.code()
	if n, err := strconv.Atoi(c); err == nil && n >= 400 && n < 600 {
		return vendorhttp.KindForStatus(n)
	}
	t := strings.ToLower(e.Type + " " + c)
	switch {
	case strings.Contains(t, "rate_limit"), strings.Contains(t, "ratelimit"), strings.Contains(t, "insufficient_quota"):
		return provider.KindRateLimited
	case strings.Contains(t, "invalid_api_key"), strings.Contains(t, "authentication"), strings.Contains(t, "permission"):
		return provider.KindAuth
	case strings.Contains(t, "invalid_request"), strings.Contains(t, "badrequest"), strings.Contains(t, "not_found"),
		strings.Contains(t, "context_length"):
		return provider.KindInvalidRequest
	}
	// Server errors, overload and anything unknown: another attempt may
	// succeed.
	return provider.KindUnavailable
}

// maxExcerpt bounds how much of an unparseable error body is quoted.
const maxExcerpt = 200

// errorMessage extracts the vendor's message from an error body: OpenAI's
// {"error":{...}}, the top-level "message" older vLLM versions send, or
// FastAPI's "detail". Failing that it quotes a short excerpt of a text body
// (never HTML, which is a proxy's page, not the vendor's words).
func errorMessage(body []byte, contentType string) string {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &env) == nil {
		if hasValue(env.Error) {
			return parseErrorValue(env.Error).Message
		}
		if env.Message != "" {
			return env.Message
		}
		if m := detailMessage(env.Detail); m != "" {
			return m
		}
	}
	if strings.Contains(strings.ToLower(contentType), "html") || !utf8.Valid(body) {
		return ""
	}
	return vendorhttp.Excerpt(body, maxExcerpt)
}

// detailMessage reads FastAPI's "detail": a string, or a list of
// validation errors each with a "msg".
func detailMessage(raw json.RawMessage) string {
	if !hasValue(raw) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &list) == nil {
		msgs := make([]string, 0, len(list))
		for _, d := range list {
			if d.Msg != "" {
				msgs = append(msgs, d.Msg)
			}
		}
		return strings.Join(msgs, "; ")
	}
	return ""
}

// scrub makes sure no credential leaves the plugin in an error: vendors
// quote the key they were sent ("Incorrect API key provided: sk-…"), and a
// compatible server may echo it whole. It is applied to every error the
// plugin returns.
func (s *settings) scrub(err error) error {
	if err == nil {
		return nil
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		pe = &provider.Error{Kind: provider.KindOf(err), Message: err.Error()}
	}
	msg := pe.Message
	if s != nil {
		msg = vendorhttp.Redact(msg, s.apiKey)
	}
	msg = maskKeyLike(msg)
	if msg == pe.Message && pe == err {
		return err
	}
	cp := *pe
	cp.Message = msg
	return &cp
}

// maskKeyLike replaces anything shaped like an OpenAI key ("sk-" followed
// by key characters, as OpenAI quotes a partly masked key in its 401
// message) so that even a fragment of a key is not logged by the core.
func maskKeyLike(s string) string {
	if !strings.Contains(s, "sk-") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "sk-")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		if i > 0 && isKeyChar(s[i-1]) {
			// Part of a longer word ("task-1"), not a key.
			b.WriteString(s[:i+3])
			s = s[i+3:]
			continue
		}
		j := i + 3
		for j < len(s) && isKeyChar(s[j]) {
			j++
		}
		b.WriteString(s[:i])
		b.WriteString("sk-" + vendorhttp.Redacted)
		s = s[j:]
	}
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*'
}

// estimateTokens is the rough count used when the vendor reports none:
// about four characters per token for English text, rounded up.
func estimateTokens(chars int) int64 {
	return int64((chars + 3) / 4)
}

// promptChars counts the characters of a request's text parts; images are
// not counted, so an estimate for a vision request is low.
func promptChars(msgs []provider.Message) int {
	n := 0
	for _, m := range msgs {
		for _, part := range m.Content {
			n += utf8.RuneCountInString(part.Text)
		}
	}
	return n
}
