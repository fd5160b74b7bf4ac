package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
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

const (
	pluginName    = "elevenlabs"
	pluginVersion = "1.0.0"

	defaultBaseURL = "https://api.elevenlabs.io"
	// defaultVoiceID is "Rachel", the voice ElevenLabs' own examples use.
	defaultVoiceID = "21m00Tcm4TlvDq8ikWAM"
	// defaultModelID is the API's own default model_id.
	defaultModelID = "eleven_multilingual_v2"

	// maxResponseBody bounds the audio of one call; 40,000 characters of
	// 192 kbps mp3 is well below it.
	maxResponseBody = 256 << 20
	// defaultFullReadTimeout replaces the sdk's 30s wait for response
	// headers on the non-streaming endpoint when the provider block sets
	// none: it answers only once the audio of up to 40,000 characters is
	// made. The streaming endpoint answers at once and keeps the sdk's.
	defaultFullReadTimeout = 120 * time.Second
)

// Plugin is the ElevenLabs provider. The zero value is ready for
// Configure; until then every call fails with KindUnconfigured.
type Plugin struct {
	// state is swapped whole by Configure so calls never see half a config.
	state atomic.Pointer[state]
	// now is the clock used to read Retry-After dates; nil means time.Now.
	now func() time.Time
}

// state is what Configure builds: the settings and the one HTTP client.
type state struct {
	key       string
	base      string
	voice     string
	model     string
	streaming bool
	settings  voiceSettings
	client    *http.Client
	now       func() time.Time
}

// voiceSettings overrides a voice's stored settings for one request. Only
// the fields set are sent, so the rest keep the voice's stored values.
type voiceSettings struct {
	Stability       *float64 `json:"stability,omitempty"`
	SimilarityBoost *float64 `json:"similarity_boost,omitempty"`
	Style           *float64 `json:"style,omitempty"`
	UseSpeakerBoost *bool    `json:"use_speaker_boost,omitempty"`
	Speed           *float64 `json:"speed,omitempty"`
}

func (v voiceSettings) empty() bool {
	return v.Stability == nil && v.SimilarityBoost == nil && v.Style == nil && v.UseSpeakerBoost == nil && v.Speed == nil
}

// ttsRequest is the body of text_to_speech_full and text_to_speech_stream
// (components.schemas.Body_text_to_speech_full in the vendor's spec).
type ttsRequest struct {
	Text          string         `json:"text"`
	ModelID       string         `json:"model_id"`
	VoiceSettings *voiceSettings `json:"voice_settings,omitempty"`
}

// Describe reports the plugin and its models; it never calls the vendor.
func (p *Plugin) Describe(context.Context) (*provider.Info, error) {
	ids := []string{"eleven_multilingual_v2", "eleven_turbo_v2_5", "eleven_flash_v2_5"}
	models := make([]provider.Model, 0, len(ids))
	for _, id := range ids {
		models = append(models, provider.Model{ID: id, Modality: provider.ModalityAudio})
	}
	return &provider.Info{Name: pluginName, Version: pluginVersion, Models: models}, nil
}

// Configure stores the settings and builds the HTTP client. An empty API
// key is accepted so that the plugin can still be described; every call
// then fails with KindUnconfigured.
func (p *Plugin) Configure(_ context.Context, cfg provider.Config) error {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = defaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return provider.Errorf(provider.KindUnconfigured, "configuring elevenlabs: base_url %q is not an http(s) URL", base)
	}
	st := &state{
		key:   cfg.APIKey,
		base:  base,
		voice: strings.TrimSpace(cfg.Options["default_voice_id"]),
		model: strings.TrimSpace(cfg.Options["default_model_id"]),
		now:   p.now,
	}
	if st.voice == "" {
		st.voice = defaultVoiceID
	}
	if st.model == "" {
		st.model = defaultModelID
	}
	if st.now == nil {
		st.now = time.Now
	}
	if v := strings.TrimSpace(cfg.Options["streaming"]); v != "" {
		if st.streaming, err = strconv.ParseBool(v); err != nil {
			return provider.Errorf(provider.KindUnconfigured, "configuring elevenlabs: option streaming must be true or false, not %q", v)
		}
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{
		{"stability", &st.settings.Stability},
		{"similarity_boost", &st.settings.SimilarityBoost},
		{"style", &st.settings.Style},
	} {
		v := strings.TrimSpace(cfg.Options[f.name])
		if v == "" {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || x > 1 {
			return provider.Errorf(provider.KindUnconfigured, "configuring elevenlabs: option %s must be a number from 0 to 1, not %q", f.name, v)
		}
		*f.dst = &x
	}
	if v := strings.TrimSpace(cfg.Options["use_speaker_boost"]); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return provider.Errorf(provider.KindUnconfigured, "configuring elevenlabs: option use_speaker_boost must be true or false, not %q", v)
		}
		st.settings.UseSpeakerBoost = &b
	}
	if cfg.ReadTimeout <= 0 && !st.streaming {
		cfg.ReadTimeout = defaultFullReadTimeout
	}
	st.client = vendorhttp.NewClient(cfg)
	if old := p.state.Swap(st); old != nil {
		// Calls still running on the old client finish; its idle
		// connections would otherwise stay open until the process ends.
		old.client.CloseIdleConnections()
	}
	return nil
}

// configured returns the current state, or KindUnconfigured when there is
// none or it has no API key.
func (p *Plugin) configured() (*state, error) {
	st := p.state.Load()
	if st == nil {
		return nil, provider.Errorf(provider.KindUnconfigured, "elevenlabs: plugin not configured")
	}
	if st.key == "" {
		return nil, provider.Errorf(provider.KindUnconfigured, "elevenlabs: no API key configured")
	}
	return st, nil
}

// Speech converts req.Input to audio.
func (p *Plugin) Speech(ctx context.Context, req *provider.SpeechRequest) (*provider.SpeechResponse, error) {
	st, err := p.configured()
	if err != nil {
		return nil, err
	}
	if req == nil || strings.TrimSpace(req.Input) == "" {
		return nil, provider.Errorf(provider.KindInvalidRequest, "elevenlabs: no text to speak")
	}
	format, err := outputFormat(req.Format, st.streaming)
	if err != nil {
		return nil, err
	}
	voice := strings.TrimSpace(req.Voice)
	if voice == "" {
		voice = st.voice
	}
	body := ttsRequest{Text: req.Input, ModelID: strings.TrimSpace(req.Model)}
	if body.ModelID == "" {
		body.ModelID = st.model
	}
	settings := st.settings
	if req.Speed != nil {
		speed := *req.Speed
		settings.Speed = &speed
	}
	if !settings.empty() {
		body.VoiceSettings = &settings
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, provider.Errorf(provider.KindInvalidRequest, "elevenlabs: encoding request: %v", err)
	}

	what, path := "calling elevenlabs text-to-speech", "/v1/text-to-speech/"+url.PathEscape(voice)
	if st.streaming {
		what, path = "calling elevenlabs text-to-speech stream", path+"/stream"
	}
	target := st.base + path + "?" + url.Values{"output_format": {format}}.Encode()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(raw))
	if err != nil {
		return nil, provider.Errorf(provider.KindInvalidRequest, "elevenlabs: building request: %v", err)
	}
	hreq.Header.Set("xi-api-key", st.key)
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", acceptFor(format))
	resp, err := st.client.Do(hreq)
	if err != nil {
		return nil, vendorhttp.TransportError(ctx, what, err)
	}
	defer drainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, st.statusError(resp)
	}

	usage := charactersUsed(resp.Header, req.Input)
	// The streaming endpoint sends the audio chunked as it is made; reading
	// it whole is the same as for the full endpoint, just longer.
	audio, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		// The vendor produced (and billed) the audio before the connection
		// broke, so the core is told what was consumed.
		pe := vendorhttp.TransportError(ctx, what+": reading audio", err)
		pe.Partial = &usage
		return nil, pe
	}
	if len(audio) > maxResponseBody {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Message: "elevenlabs: audio larger than " + strconv.Itoa(maxResponseBody) + " bytes", Partial: &usage}
	}
	if len(audio) == 0 {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Message: "elevenlabs: empty audio in response", Partial: &usage}
	}
	return &provider.SpeechResponse{
		Audio:    audio,
		MIMEType: audioMIME(resp.Header.Get("Content-Type"), format),
		Usage:    usage,
	}, nil
}

// charactersUsed is the vendor's own count from the character-cost header
// when it sent one, else the number of characters in the text, marked as
// estimated.
func charactersUsed(h http.Header, text string) provider.Usage {
	if v := strings.TrimSpace(h.Get("Character-Cost")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return provider.Usage{Characters: n}
		}
	}
	return provider.Usage{Characters: int64(utf8.RuneCountInString(text)), Estimated: true}
}

// audioMIME is the response's audio type, else the one format implies.
func audioMIME(contentType, format string) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && strings.HasPrefix(mt, "audio/") {
		return mt
	}
	return mimeFor(format)
}

// drainClose reads a little of what is left so the connection can be
// reused, then closes the body.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	_ = body.Close()
}
