package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

// testKey is a recognizable fake credential; no error may contain it.
const testKey = "sk-TEST-do-not-leak-4f1c2e9a"

// seen is what the fake vendor observed of one request.
type seen struct {
	method, path, query       string
	auth, accept, contentType string
	fields                    map[string]string
	files                     int
	jsonBody                  map[string]any
}

// fakeVendor is an httptest server on loopback that records requests and
// answers with handler.
type fakeVendor struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newFake(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int)) *fakeVendor {
	t.Helper()
	f := &fakeVendor{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{
			method: r.Method, path: r.URL.Path, query: r.URL.RawQuery,
			auth: r.Header.Get("Authorization"), accept: r.Header.Get("Accept"),
			contentType: r.Header.Get("Content-Type"),
		}
		if strings.HasPrefix(s.contentType, "multipart/form-data") {
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				t.Errorf("fake vendor: parsing multipart body: %v", err)
			} else {
				s.fields = map[string]string{}
				for k, v := range r.MultipartForm.Value {
					if len(v) != 1 {
						t.Errorf("fake vendor: field %s sent %d times", k, len(v))
					}
					s.fields[k] = v[0]
				}
				s.files = len(r.MultipartForm.File)
			}
		} else if s.contentType == "application/json" {
			if err := json.NewDecoder(r.Body).Decode(&s.jsonBody); err != nil {
				t.Errorf("fake vendor: decoding JSON body: %v", err)
			}
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, s)
		n := len(f.reqs)
		f.mu.Unlock()
		handler(w, r, n)
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

// tinyPNG is a real 2x1 PNG made here rather than stored.
func tinyPNG(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, c)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("encoding png: %v", err)
	}
	return buf.Bytes()
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

func TestGenerateImageV2Requests(t *testing.T) {
	pngData := tinyPNG(t, color.RGBA{R: 255, A: 255})
	tests := []struct {
		name       string
		req        provider.ImageRequest
		wantPath   string
		wantFields map[string]string
		respType   string
		wantMIME   string
	}{
		{
			name:     "ultra with everything",
			req:      provider.ImageRequest{Model: "stable-image-ultra", Prompt: "a lighthouse", NegativePrompt: "fog", Size: "1792x1024", Seed: 42, OutputFormat: "jpeg"},
			wantPath: "/v2beta/stable-image/generate/ultra",
			wantFields: map[string]string{
				"prompt": "a lighthouse", "negative_prompt": "fog", "aspect_ratio": "16:9", "seed": "42", "output_format": "jpeg",
			},
			respType: "image/jpeg", wantMIME: "image/jpeg",
		},
		{
			name:       "core minimal: no optional fields, png default",
			req:        provider.ImageRequest{Model: "stable-image-core", Prompt: "a cat"},
			wantPath:   "/v2beta/stable-image/generate/core",
			wantFields: map[string]string{"prompt": "a cat", "output_format": "png"},
			respType:   "image/png", wantMIME: "image/png",
		},
		{
			name:       "sd3.5-large sends the model field",
			req:        provider.ImageRequest{Model: "sd3.5-large", Prompt: "a dog", Size: "9:16", OutputFormat: "webp"},
			wantPath:   "/v2beta/stable-image/generate/sd3",
			wantFields: map[string]string{"prompt": "a dog", "aspect_ratio": "9:16", "output_format": "webp", "model": "sd3.5-large"},
			respType:   "image/webp", wantMIME: "image/webp",
		},
		{
			name:       "sd3.5-medium, portrait size",
			req:        provider.ImageRequest{Model: "sd3.5-medium", Prompt: "a tree", Size: "1024x1536"},
			wantPath:   "/v2beta/stable-image/generate/sd3",
			wantFields: map[string]string{"prompt": "a tree", "aspect_ratio": "2:3", "output_format": "png", "model": "sd3.5-medium"},
			respType:   "image/png", wantMIME: "image/png",
		},
		{
			name:       "missing content type falls back to the format",
			req:        provider.ImageRequest{Model: "sd3-large-turbo", Prompt: "x", OutputFormat: "jpg"},
			wantPath:   "/v2beta/stable-image/generate/sd3",
			wantFields: map[string]string{"prompt": "x", "output_format": "jpeg", "model": "sd3-large-turbo"},
			respType:   "", wantMIME: "image/jpeg",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Raw-bytes answer as documented for Accept: image/*: the image
			// as the body, seed and finish-reason as headers (Stability API
			// reference, Generate, 200 response headers).
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				if tt.respType != "" {
					w.Header().Set("Content-Type", tt.respType)
				} else {
					w.Header()["Content-Type"] = nil
				}
				w.Header().Set("Seed", "3817857576")
				w.Header().Set("Finish-Reason", "SUCCESS")
				_, _ = w.Write(pngData)
			})
			p := newPlugin(t, f.URL, nil)
			resp, err := p.GenerateImage(context.Background(), &tt.req)
			if err != nil {
				t.Fatalf("GenerateImage: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("vendor saw %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.method != http.MethodPost || got.path != tt.wantPath || got.query != "" {
				t.Errorf("request = %s %s?%s, want POST %s", got.method, got.path, got.query, tt.wantPath)
			}
			if got.auth != "Bearer "+testKey {
				t.Errorf("Authorization = %q", got.auth)
			}
			if got.accept != "image/*" {
				t.Errorf("Accept = %q, want image/*", got.accept)
			}
			if !strings.HasPrefix(got.contentType, "multipart/form-data; boundary=") {
				t.Errorf("Content-Type = %q", got.contentType)
			}
			if got.files != 0 {
				t.Errorf("sent %d file parts, want 0", got.files)
			}
			if fmt.Sprint(got.fields) != fmt.Sprint(tt.wantFields) {
				t.Errorf("fields = %v\nwant     %v", got.fields, tt.wantFields)
			}
			if len(resp.Images) != 1 || resp.Usage.Images != 1 || resp.Model != tt.req.Model {
				t.Fatalf("response = %d images, usage %d, model %q", len(resp.Images), resp.Usage.Images, resp.Model)
			}
			img := resp.Images[0]
			if !bytes.Equal(img.Data, pngData) || img.MIMEType != tt.wantMIME || img.Seed != 3817857576 {
				t.Errorf("image = %d bytes, %q, seed %d", len(img.Data), img.MIMEType, img.Seed)
			}
		})
	}
}

func TestGenerateImageJSONAccept(t *testing.T) {
	// v2beta 200 response with Accept: application/json (see testdata/README.md).
	body := readTestdata(t, "v2beta_json_success.json")
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json; type=image/png")
		_, _ = w.Write(body)
	})
	p := newPlugin(t, f.URL, map[string]string{"accept": "application/json"})
	resp, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: "stable-image-core", Prompt: "a cat", OutputFormat: "webp"})
	if err != nil {
		t.Fatalf("GenerateImage: %v", err)
	}
	if got := f.requests()[0].accept; got != "application/json" {
		t.Errorf("Accept = %q", got)
	}
	img := resp.Images[0]
	if _, err := png.Decode(bytes.NewReader(img.Data)); err != nil {
		t.Errorf("image is not a PNG: %v", err)
	}
	// The type parameter of the response wins over the requested format.
	if img.MIMEType != "image/png" || img.Seed != 1050625087 || resp.Usage.Images != 1 {
		t.Errorf("image = %q seed %d, usage %d", img.MIMEType, img.Seed, resp.Usage.Images)
	}
}

func TestGenerateImageSeveral(t *testing.T) {
	colors := []color.Color{color.White, color.Black, color.RGBA{G: 255, A: 255}}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Seed", r.FormValue("seed"))
		w.Header().Set("Finish-Reason", "SUCCESS")
		_, _ = w.Write(tinyPNG(t, colors[(n-1)%len(colors)]))
	})
	p := newPlugin(t, f.URL, nil)
	resp, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: "stable-image-ultra", Prompt: "p", N: 3, Seed: 7})
	if err != nil {
		t.Fatalf("GenerateImage: %v", err)
	}
	if len(resp.Images) != 3 || resp.Usage.Images != 3 {
		t.Fatalf("got %d images, usage %d, want 3", len(resp.Images), resp.Usage.Images)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("vendor saw %d calls, want 3 (one image per v2beta call)", len(reqs))
	}
	for i, r := range reqs {
		want := strconv.Itoa(7 + i)
		if r.fields["seed"] != want || resp.Images[i].Seed != int64(7+i) {
			t.Errorf("call %d seed = %q, image seed %d, want %s", i, r.fields["seed"], resp.Images[i].Seed, want)
		}
	}
	if bytes.Equal(resp.Images[0].Data, resp.Images[1].Data) {
		t.Error("images 0 and 1 are the same bytes; responses were not kept apart")
	}
}

func TestGenerateImageSeveralFailsMidway(t *testing.T) {
	body500 := readTestdata(t, "error_500_v2beta.json")
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 3 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write(body500)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(tinyPNG(t, color.White))
	})
	p := newPlugin(t, f.URL, nil)
	_, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: "stable-image-core", Prompt: "p", N: 4})
	pe := asProviderError(t, err, provider.KindUnavailable)
	if pe.Partial == nil || pe.Partial.Images != 2 {
		t.Errorf("Partial = %+v, want 2 images already generated", pe.Partial)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("vendor saw %d calls, want 3 (stop at the first failure)", n)
	}
}

func TestContentFiltered(t *testing.T) {
	tests := []struct {
		name   string
		accept string
		answer func(w http.ResponseWriter)
	}{
		{"raw bytes, finish-reason header", "", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "image/png")
			w.Header().Set("Finish-Reason", "CONTENT_FILTERED")
			_, _ = w.Write([]byte("blurred"))
		}},
		{"json body", "application/json", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json; type=image/png")
			_, _ = fmt.Fprintf(w, `{"image":%q,"seed":1,"finish_reason":"CONTENT_FILTERED"}`, base64.StdEncoding.EncodeToString([]byte("blurred")))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) { tt.answer(w) })
			p := newPlugin(t, f.URL, map[string]string{"accept": tt.accept})
			_, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: "stable-image-core", Prompt: "p"})
			pe := asProviderError(t, err, provider.KindInvalidRequest)
			if !strings.Contains(pe.Message, "content filtered") || pe.Partial != nil {
				t.Errorf("error = %v, partial %+v", pe, pe.Partial)
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
		{401, "error_401_v1.json", "application/json", "", provider.KindAuth, "unauthorized: missing authorization header", 0},
		{403, "error_403_v1.json", "application/json", "", provider.KindAuth, "permission_denied: You do not have permission", 0},
		{403, "error_403_content_moderation.json", "application/json", "", provider.KindInvalidRequest, "content_moderation: Your request was flagged", 0},
		{400, "error_400_v2beta.json", "application/json", "", provider.KindInvalidRequest, "bad_request: aspect_ratio: must be one of", 0},
		{404, "error_404_v1.json", "application/json", "", provider.KindInvalidRequest, "not_found: The specified engine", 0},
		{413, "error_413_v2beta.json", "application/json", "", provider.KindInvalidRequest, "payload_too_large: body: payloads cannot be larger", 0},
		{422, "error_422_v2beta.json", "application/json", "", provider.KindInvalidRequest, "invalid_language: English is the only", 0},
		{429, "error_429_v2beta.json", "application/json", "60", provider.KindRateLimited, "rate_limit_exceeded: You have exceeded", 60 * time.Second},
		{500, "error_500_v2beta.json", "application/json", "", provider.KindUnavailable, "internal_error: An unexpected server error", 0},
		{503, "error_503.html", "text/html", "", provider.KindUnavailable, "503 Service Temporarily Unavailable", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_%s", tt.status, tt.file), func(t *testing.T) {
			body := readTestdata(t, tt.file)
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", tt.contentType)
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write(body)
			})
			p := newPlugin(t, f.URL, nil)
			_, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: "stable-image-ultra", Prompt: "p"})
			pe := asProviderError(t, err, tt.kind)
			if pe.Status != tt.status || !strings.Contains(pe.Message, tt.wantMsg) || pe.RetryAfter != tt.wantRetry {
				t.Errorf("error = %+v, want status %d, message containing %q, retry %v", pe, tt.status, tt.wantMsg, tt.wantRetry)
			}
		})
	}
}

func TestSlowUpstreamTimesOut(t *testing.T) {
	canceled := make(chan struct{})
	f := newFake(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
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
	_, err := p.GenerateImage(ctx, &provider.ImageRequest{Model: "stable-image-core", Prompt: "p"})
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

func TestConnectionDroppedMidBody(t *testing.T) {
	tests := []struct {
		name   string
		model  string
		accept string
	}{
		{"v2beta raw image", "stable-image-core", ""},
		{"v2beta json", "stable-image-core", "application/json"},
		{"v1 sdxl", modelSDXL, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", "image/png")
				w.Header().Set("Content-Length", "100000")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte("\x89PNG partial"))
				w.(http.Flusher).Flush()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				_ = conn.Close()
			})
			p := newPlugin(t, f.URL, map[string]string{"accept": tt.accept})
			_, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: tt.model, Prompt: "p"})
			asProviderError(t, err, provider.KindUnavailable)
		})
	}
}

func TestUnconfigured(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })
	empty := &Plugin{}
	if err := empty.Configure(context.Background(), provider.Config{BaseURL: f.URL}); err != nil {
		t.Fatalf("Configure with no key must succeed (Describe still works): %v", err)
	}
	for name, p := range map[string]*Plugin{"never configured": {}, "empty key": empty} {
		t.Run(name, func(t *testing.T) {
			_, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: "stable-image-core", Prompt: "p"})
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
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, `{"id":"x","name":"unauthorized","errors":["bad key %s"]}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	})
	p := newPlugin(t, f.URL, nil)
	_, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: "stable-image-core", Prompt: "p"})
	pe := asProviderError(t, err, provider.KindAuth)
	if !strings.Contains(pe.Message, "[redacted]") {
		t.Errorf("message = %q, want the echoed key redacted", pe.Message)
	}

	// Transport failures: nothing listens at the base URL any more.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	p = newPlugin(t, dead.URL, nil)
	_, err = p.GenerateImage(context.Background(), &provider.ImageRequest{Model: "stable-image-core", Prompt: "p"})
	asProviderError(t, err, provider.KindUnavailable)
}

func TestRequestValidation(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })
	p := newPlugin(t, f.URL, nil)
	tests := []struct {
		name string
		req  *provider.ImageRequest
		kind provider.Kind
	}{
		{"nil request", nil, provider.KindInvalidRequest},
		{"no model", &provider.ImageRequest{Prompt: "p"}, provider.KindInvalidRequest},
		{"unknown model", &provider.ImageRequest{Model: "dall-e-3", Prompt: "p"}, provider.KindUnsupported},
		{"empty prompt", &provider.ImageRequest{Model: "stable-image-core", Prompt: "  "}, provider.KindInvalidRequest},
		{"too many images", &provider.ImageRequest{Model: "stable-image-core", Prompt: "p", N: 11}, provider.KindInvalidRequest},
		{"negative n", &provider.ImageRequest{Model: "stable-image-core", Prompt: "p", N: -1}, provider.KindInvalidRequest},
		{"bad size", &provider.ImageRequest{Model: "stable-image-core", Prompt: "p", Size: "large"}, provider.KindInvalidRequest},
		{"bad sdxl size", &provider.ImageRequest{Model: modelSDXL, Prompt: "p", Size: "0x0"}, provider.KindInvalidRequest},
		{"bad format", &provider.ImageRequest{Model: "stable-image-core", Prompt: "p", OutputFormat: "gif"}, provider.KindInvalidRequest},
		{"seed out of range", &provider.ImageRequest{Model: "stable-image-core", Prompt: "p", Seed: 4294967295}, provider.KindInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.GenerateImage(context.Background(), tt.req)
			asProviderError(t, err, tt.kind)
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("vendor saw %d calls for invalid requests", n)
	}
}

func TestSDXL(t *testing.T) {
	imgs := [][]byte{tinyPNG(t, color.White), tinyPNG(t, color.Black)}
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		// v1 200 body: components.schemas.Image in Stability-AI/rest-api-support
		// generated/spec/merged.json (artifacts[].base64/seed/finishReason).
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"artifacts":[{"base64":%q,"seed":1050625087,"finishReason":"SUCCESS"},{"base64":%q,"seed":1229191277,"finishReason":"SUCCESS"}]}`,
			base64.StdEncoding.EncodeToString(imgs[0]), base64.StdEncoding.EncodeToString(imgs[1]))
	})
	p := newPlugin(t, f.URL, map[string]string{"accept": "image/*"})
	resp, err := p.GenerateImage(context.Background(), &provider.ImageRequest{
		Model: modelSDXL, Prompt: "a lighthouse", NegativePrompt: "fog", N: 2, Size: "1792x1024", Seed: 9, OutputFormat: "png",
	})
	if err != nil {
		t.Fatalf("GenerateImage: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("vendor saw %d calls, want 1 (v1 takes a sample count)", len(reqs))
	}
	got := reqs[0]
	if got.method != http.MethodPost || got.path != "/v1/generation/stable-diffusion-xl-1024-v1-0/text-to-image" {
		t.Errorf("request = %s %s", got.method, got.path)
	}
	if got.auth != "Bearer "+testKey || got.accept != "application/json" || got.contentType != "application/json" {
		t.Errorf("headers: auth %q accept %q content-type %q", got.auth, got.accept, got.contentType)
	}
	wantBody := `map[height:768 samples:2 seed:9 text_prompts:[map[text:a lighthouse weight:1] map[text:fog weight:-1]] width:1344]`
	if fmt.Sprint(got.jsonBody) != wantBody {
		t.Errorf("body = %v\nwant   %s", got.jsonBody, wantBody)
	}
	if len(resp.Images) != 2 || resp.Usage.Images != 2 {
		t.Fatalf("got %d images, usage %d", len(resp.Images), resp.Usage.Images)
	}
	for i, img := range resp.Images {
		if !bytes.Equal(img.Data, imgs[i]) || img.MIMEType != "image/png" {
			t.Errorf("image %d: %d bytes, %q", i, len(img.Data), img.MIMEType)
		}
	}
	if resp.Images[1].Seed != 1229191277 {
		t.Errorf("seed = %d", resp.Images[1].Seed)
	}
}

func TestSDXLFilteredArtifact(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"artifacts":[{"base64":%q,"seed":1,"finishReason":"SUCCESS"},{"base64":"Ymx1cg==","seed":2,"finishReason":"CONTENT_FILTERED"}]}`,
			base64.StdEncoding.EncodeToString(tinyPNG(t, color.White)))
	})
	p := newPlugin(t, f.URL, nil)
	_, err := p.GenerateImage(context.Background(), &provider.ImageRequest{Model: modelSDXL, Prompt: "p", N: 2})
	pe := asProviderError(t, err, provider.KindInvalidRequest)
	if pe.Partial == nil || pe.Partial.Images != 1 {
		t.Errorf("Partial = %+v, want the one good image", pe.Partial)
	}
}

func TestAspectRatio(t *testing.T) {
	tests := []struct {
		size, want string
		wantErr    bool
	}{
		{"", "", false},
		{"1024x1024", "1:1", false},
		{"512x512", "1:1", false},
		{"1792x1024", "16:9", false},
		{"1024x1792", "9:16", false},
		{"1920x1080", "16:9", false},
		{"1536x1024", "3:2", false},
		{"1024x1536", "2:3", false},
		{"1280x1024", "5:4", false},
		{"1024x1280", "4:5", false},
		{"2560x1080", "21:9", false},
		{"1080x2560", "9:21", false},
		{"1216x832", "3:2", false},
		{"800x600", "5:4", false}, // 4:3 is nearer 5:4 than 3:2
		{"10000x100", "21:9", false},
		{"100x10000", "9:21", false},
		{" 1024 X 1024 ", "1:1", false},
		{"1024×576", "16:9", false},
		{"16:9", "16:9", false},
		{"21:9", "21:9", false},
		{"9:21", "9:21", false},
		{"4:3", "5:4", false},
		{"32:18", "16:9", false},
		{"large", "", true},
		{"0x100", "", true},
		{"-5x10", "", true},
		{"1024x", "", true},
		{"x", "", true},
		{"99999999999x1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.size, func(t *testing.T) {
			got, err := aspectRatio(tt.size)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("aspectRatio(%q) = %q, %v; want %q, error %v", tt.size, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSDXLSize(t *testing.T) {
	tests := []struct {
		size string
		w, h int
	}{
		{"", 1024, 1024},
		{"1024x1024", 1024, 1024},
		{"2048x2048", 1024, 1024},
		{"1152x896", 1152, 896},
		{"832x1216", 832, 1216},
		{"1792x1024", 1344, 768},
		{"16:9", 1344, 768},
		{"21:9", 1536, 640},
		{"9:16", 768, 1344},
	}
	for _, tt := range tests {
		t.Run(tt.size, func(t *testing.T) {
			w, h, err := sdxlSize(tt.size)
			if err != nil || w != tt.w || h != tt.h {
				t.Errorf("sdxlSize(%q) = %dx%d, %v; want %dx%d", tt.size, w, h, err, tt.w, tt.h)
			}
		})
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name, body, wantName, wantMsg string
	}{
		{"v2beta", `{"id":"1","name":"bad_request","errors":["a","b"]}`, "bad_request", "bad_request: a; b"},
		{"v1", `{"id":"1","name":"not_found","message":"gone"}`, "not_found", "not_found: gone"},
		{"name only", `{"name":"server_error"}`, "server_error", "server_error"},
		{"errors only", `{"errors":["x"]}`, "", "x"},
		{"empty json", `{}`, "", "{}"},
		{"plain text", "upstream connect error\n", "", "upstream connect error"},
		{"invalid utf8", "bad \xff\xfe body", "", "bad body"},
		{"empty", "", "", ""},
		{"long", strings.Repeat("é", 300), "", strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, msg := parseErrorBody([]byte(tt.body))
			if name != tt.wantName || msg != tt.wantMsg {
				t.Errorf("parseErrorBody = %q, %q; want %q, %q", name, msg, tt.wantName, tt.wantMsg)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name    string
		cfg     provider.Config
		wantErr bool
	}{
		{"defaults", provider.Config{APIKey: testKey}, false},
		{"json accept", provider.Config{APIKey: testKey, Options: map[string]string{"accept": "application/json"}}, false},
		{"bad accept", provider.Config{APIKey: testKey, Options: map[string]string{"accept": "text/html"}}, true},
		{"bad base url", provider.Config{APIKey: testKey, BaseURL: "ftp://example.test"}, true},
		{"relative base url", provider.Config{APIKey: testKey, BaseURL: "/v2"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Plugin{}).Configure(context.Background(), tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Configure error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				asProviderError(t, err, provider.KindUnconfigured)
			}
		})
	}
	p := &Plugin{}
	if err := p.Configure(context.Background(), provider.Config{APIKey: testKey, BaseURL: "https://vendor.test/"}); err != nil {
		t.Fatal(err)
	}
	if got := p.state.Load().base; got != "https://vendor.test" {
		t.Errorf("base = %q, want trailing slash trimmed", got)
	}
}

func TestDescribe(t *testing.T) {
	info, err := (&Plugin{}).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "stability" || info.Version != "1.0.0" {
		t.Errorf("info = %s %s", info.Name, info.Version)
	}
	ids := map[string]bool{}
	for _, m := range info.Models {
		if m.Modality != provider.ModalityImage {
			t.Errorf("model %s modality %s", m.ID, m.Modality)
		}
		ids[m.ID] = true
		if _, err := routeFor(m.ID); err != nil {
			t.Errorf("described model %s has no route: %v", m.ID, err)
		}
	}
	for _, want := range []string{"stable-image-ultra", "stable-image-core", "sd3.5-large", "sd3.5-medium", modelSDXL} {
		if !ids[want] {
			t.Errorf("model %s not described", want)
		}
	}
}

func FuzzAspectRatio(f *testing.F) {
	for _, s := range []string{"", "1024x1024", "16:9", "1x99999", "0x0", "a:b", "1024×576", "9:21"} {
		f.Add(s)
	}
	supported := map[string]bool{}
	for _, r := range aspectRatios() {
		supported[r.name] = true
	}
	f.Fuzz(func(t *testing.T, size string) {
		got, err := aspectRatio(size)
		switch {
		case err != nil && got != "":
			t.Fatalf("aspectRatio(%q) = %q with error %v", size, got, err)
		case err == nil && got != "" && !supported[got]:
			t.Fatalf("aspectRatio(%q) = %q, not a supported ratio", size, got)
		case err == nil && got == "" && strings.TrimSpace(size) != "":
			t.Fatalf("aspectRatio(%q) = empty for a non-empty size", size)
		}
		if w, h, err := sdxlSize(size); err == nil && w*h > 1048576 {
			t.Fatalf("sdxlSize(%q) = %dx%d, above the engine's pixel limit", size, w, h)
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	for _, s := range []string{`{"name":"x","errors":["a"]}`, `{"message":"m"}`, "<html>", "\xff", `{"errors":[1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, msg := parseErrorBody(body)
		if !utf8.ValidString(msg) {
			t.Fatalf("message %q is not valid UTF-8", msg)
		}
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil && (len(msg) > maxExcerpt+len("…") || strings.ContainsAny(msg, "\r\n")) {
			t.Fatalf("excerpt %q is not one bounded line", msg)
		}
	})
}

func TestTypeParam(t *testing.T) {
	tests := map[string]string{
		"application/json; type=image/png":      "image/png",
		"application/json;type=image/jpeg":      "image/jpeg",
		`application/json; TYPE="image/webp"`:   "image/webp",
		"application/json; charset=utf-8":       "",
		"application/json":                      "",
		"":                                      "",
		"application/json; a=b; type=image/png": "image/png",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := typeParam(in); got != want {
				t.Errorf("typeParam(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestReadTimeoutDefault(t *testing.T) {
	tests := []struct {
		name string
		set  time.Duration
		want time.Duration
	}{
		{"unset: long enough for an Ultra image", 0, defaultReadTimeout},
		{"set: kept", 45 * time.Second, 45 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plugin{}
			if err := p.Configure(context.Background(), provider.Config{APIKey: testKey, ReadTimeout: tt.set}); err != nil {
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
