package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

// testKey is a recognizable fake credential; no error may contain it.
const testKey = "xi-TEST-do-not-leak-7b3d9e21"

// seen is what the fake vendor observed of one request.
type seen struct {
	method, path, query   string
	apiKey, accept, ctype string
	authorization         string
	body                  string
}

// fakeVendor is an httptest server on loopback that records requests and
// answers with handler.
type fakeVendor struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newFake(t *testing.T, handler http.HandlerFunc) *fakeVendor {
	t.Helper()
	f := &fakeVendor{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("fake vendor: reading body: %v", err)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{
			method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery,
			apiKey: r.Header.Get("xi-api-key"), accept: r.Header.Get("Accept"),
			ctype: r.Header.Get("Content-Type"), authorization: r.Header.Get("Authorization"),
			body: string(b),
		})
		f.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeVendor) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func newPlugin(t *testing.T, base string, opts map[string]string) *Plugin {
	t.Helper()
	p := &Plugin{}
	cfg := provider.Config{APIKey: testKey, BaseURL: base, ReadTimeout: 5 * time.Second, Options: opts}
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

// fakeMP3 is an ID3 tag followed by MPEG-1 layer III frame headers: enough
// to look like mp3 to a sniffer, made here rather than stored.
func fakeMP3(frames int) []byte {
	b := []byte("ID3\x04\x00\x00\x00\x00\x00\x00")
	for range frames {
		frame := make([]byte, 417)
		copy(frame, []byte{0xFF, 0xFB, 0x90, 0x64})
		b = append(b, frame...)
	}
	return b
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading testdata: %v", err)
	}
	return b
}

// asProviderError checks that err is a *provider.Error of kind and that it
// does not contain the API key.
func asProviderError(t *testing.T, err error, kind provider.Kind) *provider.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", kind)
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(fmt.Sprintf("%+v", err), testKey) {
		t.Fatalf("error leaks the API key: %v", err)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("want *provider.Error, got %T: %v", err, err)
	}
	if pe.Kind != kind {
		t.Fatalf("kind = %s, want %s (%v)", pe.Kind, kind, err)
	}
	return pe
}

func ptr[T any](v T) *T { return &v }

func TestSpeechRequests(t *testing.T) {
	audio := fakeMP3(3)
	tests := []struct {
		name       string
		opts       map[string]string
		req        provider.SpeechRequest
		wantPath   string
		wantQuery  string
		wantAccept string
		wantBody   string
	}{
		{
			name:       "defaults",
			req:        provider.SpeechRequest{Input: "Hello there."},
			wantPath:   "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM",
			wantQuery:  "output_format=mp3_44100_128",
			wantAccept: "audio/mpeg",
			wantBody:   `{"text":"Hello there.","model_id":"eleven_multilingual_v2"}`,
		},
		{
			name:       "voice, model, pcm and speed from the request",
			req:        provider.SpeechRequest{Input: "Hi", Voice: "pNInz6obpgDQGcFmaJgB", Model: "eleven_flash_v2_5", Format: "pcm", Speed: ptr(1.1)},
			wantPath:   "/v1/text-to-speech/pNInz6obpgDQGcFmaJgB",
			wantQuery:  "output_format=pcm_44100",
			wantAccept: "*/*",
			wantBody:   `{"text":"Hi","model_id":"eleven_flash_v2_5","voice_settings":{"speed":1.1}}`,
		},
		{
			name:       "defaults and voice settings from options",
			opts:       map[string]string{"default_voice_id": "EXAVITQu4vr4xnSDxMaL", "default_model_id": "eleven_turbo_v2_5", "stability": "0.3", "similarity_boost": "0.9", "style": "0", "use_speaker_boost": "false"},
			req:        provider.SpeechRequest{Input: "Hi", Format: "mp3_22050_32"},
			wantPath:   "/v1/text-to-speech/EXAVITQu4vr4xnSDxMaL",
			wantQuery:  "output_format=mp3_22050_32",
			wantAccept: "audio/mpeg",
			wantBody:   `{"text":"Hi","model_id":"eleven_turbo_v2_5","voice_settings":{"stability":0.3,"similarity_boost":0.9,"style":0,"use_speaker_boost":false}}`,
		},
		{
			name:       "streaming endpoint",
			opts:       map[string]string{"streaming": "true"},
			req:        provider.SpeechRequest{Input: "Hi", Format: "opus"},
			wantPath:   "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream",
			wantQuery:  "output_format=opus_48000_128",
			wantAccept: "*/*",
			wantBody:   `{"text":"Hi","model_id":"eleven_multilingual_v2"}`,
		},
		{
			name:       "voice id is path-escaped",
			req:        provider.SpeechRequest{Input: "Hi", Voice: "a/b c"},
			wantPath:   "/v1/text-to-speech/a%2Fb%20c",
			wantQuery:  "output_format=mp3_44100_128",
			wantAccept: "audio/mpeg",
			wantBody:   `{"text":"Hi","model_id":"eleven_multilingual_v2"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 200 of text_to_speech_full / text_to_speech_stream: audio/mpeg
			// binary (vendor-specs/elevenlabs-openapi.json).
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "audio/mpeg")
				w.Header().Set("Character-Cost", "2")
				_, _ = w.Write(audio)
			})
			p := newPlugin(t, f.URL, tt.opts)
			resp, err := p.Speech(context.Background(), &tt.req)
			if err != nil {
				t.Fatalf("Speech: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("vendor saw %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.method != http.MethodPost || got.path != tt.wantPath || got.query != tt.wantQuery {
				t.Errorf("request = %s %s?%s, want POST %s?%s", got.method, got.path, got.query, tt.wantPath, tt.wantQuery)
			}
			if got.apiKey != testKey || got.authorization != "" {
				t.Errorf("xi-api-key = %q, Authorization = %q", got.apiKey, got.authorization)
			}
			if got.accept != tt.wantAccept || got.ctype != "application/json" {
				t.Errorf("Accept = %q, Content-Type = %q", got.accept, got.ctype)
			}
			if got.body != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", got.body, tt.wantBody)
			}
			if !bytes.Equal(resp.Audio, audio) || resp.MIMEType != "audio/mpeg" {
				t.Errorf("audio = %d bytes, %q", len(resp.Audio), resp.MIMEType)
			}
			if resp.Usage.Characters != 2 || resp.Usage.Estimated {
				t.Errorf("usage = %+v, want the character-cost header", resp.Usage)
			}
		})
	}
}

func TestSpeechStreamingReadsWholeBody(t *testing.T) {
	chunks := [][]byte{fakeMP3(1), fakeMP3(2)[10:], fakeMP3(1)[10:]}
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		for _, c := range chunks {
			_, _ = w.Write(c)
			w.(http.Flusher).Flush() // no Content-Length: chunked, as the vendor streams
			time.Sleep(5 * time.Millisecond)
		}
	})
	p := newPlugin(t, f.URL, map[string]string{"streaming": "true"})
	resp, err := p.Speech(context.Background(), &provider.SpeechRequest{Input: "Hello"})
	if err != nil {
		t.Fatalf("Speech: %v", err)
	}
	if want := bytes.Join(chunks, nil); !bytes.Equal(resp.Audio, want) {
		t.Errorf("audio = %d bytes, want %d", len(resp.Audio), len(want))
	}
	if !strings.HasSuffix(f.requests()[0].path, "/stream") {
		t.Errorf("path = %s", f.requests()[0].path)
	}
}

func TestSpeechUsageAndMIME(t *testing.T) {
	text := "Grüße, wörld ✓"
	tests := []struct {
		name          string
		format        string
		cost          string
		contentType   string
		wantChars     int64
		wantEstimated bool
		wantMIME      string
	}{
		{"vendor cost wins", "mp3", "42", "audio/mpeg", 42, false, "audio/mpeg"},
		{"no header: rune count, estimated", "mp3", "", "audio/mpeg", int64(utf8.RuneCountInString(text)), true, "audio/mpeg"},
		{"bad header: rune count", "mp3", "lots", "audio/mpeg", int64(utf8.RuneCountInString(text)), true, "audio/mpeg"},
		{"negative header: rune count", "mp3", "-3", "audio/mpeg", int64(utf8.RuneCountInString(text)), true, "audio/mpeg"},
		{"generic content type: from format", "pcm", "1", "application/octet-stream", 1, false, "audio/pcm"},
		{"no content type: from format", "ulaw", "1", "", 1, false, "audio/basic"},
		{"vendor audio type kept", "opus", "1", "audio/ogg; codecs=opus", 1, false, "audio/ogg"},
		{"wav", "wav", "1", "", 1, false, "audio/wav"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.contentType == "" {
					w.Header()["Content-Type"] = nil
				} else {
					w.Header().Set("Content-Type", tt.contentType)
				}
				if tt.cost != "" {
					w.Header().Set("Character-Cost", tt.cost)
				}
				_, _ = w.Write([]byte{1, 2, 3, 4})
			})
			p := newPlugin(t, f.URL, nil)
			resp, err := p.Speech(context.Background(), &provider.SpeechRequest{Input: text, Format: tt.format})
			if err != nil {
				t.Fatalf("Speech: %v", err)
			}
			if resp.Usage.Characters != tt.wantChars || resp.Usage.Estimated != tt.wantEstimated || resp.MIMEType != tt.wantMIME {
				t.Errorf("usage = %+v, MIME %q; want %d chars (estimated %v), %q", resp.Usage, resp.MIMEType, tt.wantChars, tt.wantEstimated, tt.wantMIME)
			}
		})
	}
}

func TestVendorErrors(t *testing.T) {
	tests := []struct {
		status      int
		file        string
		contentType string
		retryAfter  string
		kind        provider.Kind
		wantMsg     string
		wantRetry   time.Duration
	}{
		{401, "error_401_invalid_api_key.json", "application/json", "", provider.KindAuth, "invalid_api_key: Invalid API key", 0},
		{401, "error_401_quota_exceeded.json", "application/json", "", provider.KindUnavailable, "quota_exceeded: You have insufficient quota", 0},
		{403, "error_403_missing_permissions.json", "application/json", "", provider.KindAuth, "missing_permissions: The API key you used is missing", 0},
		{400, "error_400_character_limit.json", "application/json", "", provider.KindInvalidRequest, "max_character_limit_exceeded: This request's text has 627 characters", 0},
		{404, "error_404_voice_not_found.json", "application/json", "", provider.KindInvalidRequest, "voice_not_found: A voice with the voice_id", 0},
		{422, "error_422_validation.json", "application/json", "", provider.KindInvalidRequest, "body.text: field required; body.voice_settings.stability: ensure this value", 0},
		{422, "error_422_invalid_parameters.json", "application/json", "", provider.KindInvalidRequest, "invalid_parameters: The 'keyterms' parameter is only supported with the 'scribe_v2' model. You specified 'scribe_v1'. (param keyterms)", 0},
		{429, "error_429_concurrent.json", "application/json", "3", provider.KindRateLimited, "concurrent_limit_exceeded: Your subscription allows", 3 * time.Second},
		{500, "error_500.json", "application/json", "", provider.KindUnavailable, "internal_server_error: An internal server error occurred.", 0},
		{503, "error_503.html", "text/html", "", provider.KindUnavailable, "503 Service Temporarily Unavailable", 0},
	}
	for _, tt := range tests {
		for _, streaming := range []string{"false", "true"} {
			t.Run(fmt.Sprintf("%d_%s_streaming_%s", tt.status, tt.file, streaming), func(t *testing.T) {
				body := readTestdata(t, tt.file)
				f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", tt.contentType)
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					w.WriteHeader(tt.status)
					_, _ = w.Write(body)
				})
				p := newPlugin(t, f.URL, map[string]string{"streaming": streaming})
				_, err := p.Speech(context.Background(), &provider.SpeechRequest{Input: "Hello"})
				pe := asProviderError(t, err, tt.kind)
				if pe.Status != tt.status || !strings.Contains(pe.Message, tt.wantMsg) || pe.RetryAfter != tt.wantRetry {
					t.Errorf("error = %+v\nwant status %d, message containing %q, retry %v", pe, tt.status, tt.wantMsg, tt.wantRetry)
				}
			})
		}
	}
}

func TestSlowUpstreamTimesOut(t *testing.T) {
	canceled := make(chan struct{})
	f := newFake(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(canceled)
		case <-time.After(10 * time.Second):
		}
	})
	p := newPlugin(t, f.URL, nil)
	// Long enough for the request to reach the vendor on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Speech(ctx, &provider.SpeechRequest{Input: "Hello"})
	asProviderError(t, err, provider.KindTimeout)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("call took %v; the deadline was not honoured", d)
	}
	select {
	case <-canceled:
	case <-time.After(3 * time.Second):
		t.Error("the vendor never saw the request canceled")
	}
}

func TestCallerCancelsMidStream(t *testing.T) {
	canceled := make(chan struct{})
	flushed := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		_, _ = w.Write(fakeMP3(1))
		w.(http.Flusher).Flush()
		close(flushed)
		<-r.Context().Done()
		close(canceled)
	})
	p := newPlugin(t, f.URL, map[string]string{"streaming": "true"})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Mid-stream: after the vendor sent its first bytes, with a
		// moment for them to arrive.
		<-flushed
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	_, err := p.Speech(ctx, &provider.SpeechRequest{Input: "Hello"})
	pe := asProviderError(t, err, provider.KindCanceled)
	if pe.Partial == nil || pe.Partial.Characters != 5 {
		t.Errorf("Partial = %+v, want the text's characters", pe.Partial)
	}
	select {
	case <-canceled:
	case <-time.After(3 * time.Second):
		t.Error("the vendor never saw the request canceled")
	}
}

func TestConnectionDroppedMidBody(t *testing.T) {
	tests := []struct {
		name          string
		streaming     string
		contentLength bool
	}{
		{"full endpoint with content length", "false", true},
		{"stream endpoint, chunked", "true", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "audio/mpeg")
				w.Header().Set("Character-Cost", "5")
				if tt.contentLength {
					w.Header().Set("Content-Length", "100000")
				}
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(fakeMP3(2))
				w.(http.Flusher).Flush()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				_ = conn.Close()
			})
			p := newPlugin(t, f.URL, map[string]string{"streaming": tt.streaming})
			_, err := p.Speech(context.Background(), &provider.SpeechRequest{Input: "Hello"})
			pe := asProviderError(t, err, provider.KindUnavailable)
			if pe.Partial == nil || pe.Partial.Characters != 5 || pe.Partial.Estimated {
				t.Errorf("Partial = %+v, want the 5 characters the vendor billed", pe.Partial)
			}
		})
	}
}

func TestUnconfigured(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	empty := &Plugin{}
	if err := empty.Configure(context.Background(), provider.Config{BaseURL: f.URL}); err != nil {
		t.Fatalf("Configure with no key must succeed (Describe still works): %v", err)
	}
	for name, p := range map[string]*Plugin{"never configured": {}, "empty key": empty} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Speech(context.Background(), &provider.SpeechRequest{Input: "Hello"})
			asProviderError(t, err, provider.KindUnconfigured)
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("vendor saw %d calls without a key", n)
	}
}

func TestKeyNeverInErrors(t *testing.T) {
	// A misbehaving upstream that echoes the credential back must not get
	// it into the error.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, `{"detail":{"status":"invalid_api_key","message":"key %s is invalid"}}`, r.Header.Get("xi-api-key"))
	})
	p := newPlugin(t, f.URL, nil)
	_, err := p.Speech(context.Background(), &provider.SpeechRequest{Input: "Hello"})
	pe := asProviderError(t, err, provider.KindAuth)
	if !strings.Contains(pe.Message, "[redacted]") {
		t.Errorf("message = %q, want the echoed key redacted", pe.Message)
	}

	// Transport failure: nothing listens at the base URL any more.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	p = newPlugin(t, dead.URL, nil)
	_, err = p.Speech(context.Background(), &provider.SpeechRequest{Input: "Hello"})
	asProviderError(t, err, provider.KindUnavailable)
}

func TestRequestValidation(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	tests := []struct {
		name string
		opts map[string]string
		req  *provider.SpeechRequest
	}{
		{"nil request", nil, nil},
		{"empty input", nil, &provider.SpeechRequest{Input: " \n"}},
		{"unknown format", nil, &provider.SpeechRequest{Input: "Hi", Format: "flac"}},
		{"wav on the stream endpoint", map[string]string{"streaming": "true"}, &provider.SpeechRequest{Input: "Hi", Format: "wav"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlugin(t, f.URL, tt.opts)
			_, err := p.Speech(context.Background(), tt.req)
			asProviderError(t, err, provider.KindInvalidRequest)
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("vendor saw %d calls for invalid requests", n)
	}
}

func TestOutputFormat(t *testing.T) {
	tests := []struct {
		in        string
		streaming bool
		want      string
		wantErr   bool
	}{
		{"", false, "mp3_44100_128", false},
		{"mp3", false, "mp3_44100_128", false},
		{"MP3", true, "mp3_44100_128", false},
		{"pcm", false, "pcm_44100", false},
		{"opus", true, "opus_48000_128", false},
		{"wav", false, "wav_44100", false},
		{"wav", true, "", true},
		{"wav_16000", true, "", true},
		{"ulaw", false, "ulaw_8000", false},
		{"alaw", true, "alaw_8000", false},
		{"pcm_24000", true, "pcm_24000", false},
		{"mp3_44100_192", false, "mp3_44100_192", false},
		{"aac", false, "", true},
		{"flac", false, "", true},
		{"mp3_1_1", false, "", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_stream_%v", tt.in, tt.streaming), func(t *testing.T) {
			got, err := outputFormat(tt.in, tt.streaming)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("outputFormat(%q, %v) = %q, %v; want %q, error %v", tt.in, tt.streaming, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name, body, wantCode, wantMsg string
	}{
		{"validation list", `{"detail":[{"loc":["body","text"],"msg":"field required","type":"x"}]}`, "validation_error", "body.text: field required"},
		{"validation list, int loc", `{"detail":[{"loc":["body","items",0],"msg":"bad","type":"x"}]}`, "validation_error", "body.items.0: bad"},
		{"validation list, no loc", `{"detail":[{"msg":"bad"}]}`, "validation_error", "bad"},
		{"legacy object", `{"detail":{"status":"voice_not_found","message":"Voice not found"}}`, "voice_not_found", "voice_not_found: Voice not found"},
		{"code wins over status", `{"detail":{"code":"a","status":"b","message":"m"}}`, "a", "a: m"},
		{"status only", `{"detail":{"status":"system_busy"}}`, "system_busy", "system_busy"},
		{"message only", `{"detail":{"message":"m"}}`, "", "m"},
		{"string detail", `{"detail":"Not Found"}`, "", "Not Found"},
		{"empty object", `{"detail":{}}`, "", `{"detail":{}}`},
		{"null detail", `{"detail":null}`, "", `{"detail":null}`},
		{"no detail", `{"error":"x"}`, "", `{"error":"x"}`},
		{"html", "<html>\n<h1>502 Bad Gateway</h1>\n</html>", "", "<html> <h1>502 Bad Gateway</h1> </html>"},
		{"empty", "", "", ""},
		{"long", strings.Repeat("ü", 300), "", strings.Repeat("ü", 100) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := parseErrorBody([]byte(tt.body))
			if code != tt.wantCode || msg != tt.wantMsg {
				t.Errorf("parseErrorBody = %q, %q; want %q, %q", code, msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]string
		base    string
		wantErr bool
	}{
		{"defaults", nil, "", false},
		{"all options", map[string]string{"streaming": "true", "stability": "0.5", "similarity_boost": "1", "style": "0.2", "use_speaker_boost": "true"}, "", false},
		{"bad streaming", map[string]string{"streaming": "sometimes"}, "", true},
		{"stability out of range", map[string]string{"stability": "1.5"}, "", true},
		{"style not a number", map[string]string{"style": "loud"}, "", true},
		{"bad speaker boost", map[string]string{"use_speaker_boost": "yes please"}, "", true},
		{"bad base url", nil, "ftp://vendor.test", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Plugin{}).Configure(context.Background(), provider.Config{APIKey: testKey, BaseURL: tt.base, Options: tt.opts})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Configure error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				asProviderError(t, err, provider.KindUnconfigured)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	info, err := (&Plugin{}).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "elevenlabs" || info.Version != "1.0.0" {
		t.Errorf("info = %s %s", info.Name, info.Version)
	}
	want := []string{"eleven_multilingual_v2", "eleven_turbo_v2_5", "eleven_flash_v2_5"}
	if len(info.Models) != len(want) {
		t.Fatalf("models = %+v", info.Models)
	}
	for i, m := range info.Models {
		if m.ID != want[i] || m.Modality != provider.ModalityAudio {
			t.Errorf("model %d = %+v", i, m)
		}
	}
}

func FuzzParseErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"detail":[{"loc":["body",1],"msg":"m","type":"t"}]}`,
		`{"detail":{"status":"s","message":"m","param":"p"}}`,
		`{"detail":"x"}`, `{"detail":[1,2]}`, `{"detail":{"loc":{}}}`, "<html>", "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, msg := parseErrorBody(body)
		if !utf8.ValidString(msg) || !utf8.ValidString(code) {
			t.Fatalf("invalid UTF-8: %q %q", code, msg)
		}
		if len(body) > 0 && msg == "" && code == "" && strings.TrimSpace(string(body)) != "" && utf8.Valid(body) {
			t.Fatalf("non-empty body %q gave no message", body)
		}
	})
}

func FuzzOutputFormat(f *testing.F) {
	for _, s := range []string{"", "mp3", "pcm_16000", "wav", "μ-law", "mp3_44100_128x"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, streaming bool) {
		got, err := outputFormat(in, streaming)
		if err != nil {
			return
		}
		known := false
		for _, o := range outputFormats() {
			known = known || o == got
		}
		if !known || (streaming && strings.HasPrefix(got, "wav_")) {
			t.Fatalf("outputFormat(%q, %v) = %q, not a format the endpoint takes", in, streaming, got)
		}
	})
}

func TestReadTimeoutDefault(t *testing.T) {
	tests := []struct {
		name      string
		set       time.Duration
		streaming string
		want      time.Duration
	}{
		{"full endpoint, unset: waits for the whole audio", 0, "false", defaultFullReadTimeout},
		{"stream endpoint, unset: the sdk default", 0, "true", vendorhttp.DefaultReadTimeout},
		{"set: kept", 7 * time.Second, "false", 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plugin{}
			cfg := provider.Config{APIKey: testKey, ReadTimeout: tt.set, Options: map[string]string{"streaming": tt.streaming}}
			if err := p.Configure(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			tr, ok := vendorhttp.BaseTransport(p.state.Load().client)
			if !ok {
				t.Fatalf("transport is %T", p.state.Load().client.Transport)
			}
			if tr.ResponseHeaderTimeout != tt.want {
				t.Errorf("ResponseHeaderTimeout = %v, want %v", tr.ResponseHeaderTimeout, tt.want)
			}
		})
	}
}
