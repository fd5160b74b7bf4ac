package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

const (
	pluginName    = "stability"
	pluginVersion = "1.0.0"

	defaultBaseURL = "https://api.stability.ai"

	acceptImage = "image/*"
	acceptJSON  = "application/json"

	// maxImages bounds N: every image is a billed vendor call, and the v1
	// API refuses more than 10 samples.
	maxImages = 10
	// maxSeed is the largest seed the v2beta API accepts.
	maxSeed = 4294967294
	// maxResponseBody bounds a successful response; images are a few MiB.
	maxResponseBody = 128 << 20
	// defaultReadTimeout replaces the sdk's 30s wait for response headers
	// when the provider block sets none: the vendor sends its headers only
	// once the image is made, and Ultra can take longer than 30s.
	defaultReadTimeout = 120 * time.Second

	modelUltra = "stable-image-ultra"
	modelCore  = "stable-image-core"
	modelSDXL  = "stable-diffusion-xl-1024-v1-0"
)

// Plugin is the Stability AI provider. The zero value is ready for
// Configure; until then every call fails with KindUnconfigured.
type Plugin struct {
	// state is swapped whole by Configure so calls never see half a config.
	state atomic.Pointer[state]
	// now is the clock used to read Retry-After dates; nil means time.Now.
	now func() time.Time
}

// state is what Configure builds: the settings and the one HTTP client.
type state struct {
	key    string
	base   string
	accept string
	client *http.Client
	now    func() time.Time
}

// Describe reports the plugin and its models; it never calls the vendor.
func (p *Plugin) Describe(context.Context) (*provider.Info, error) {
	ids := []string{modelUltra, modelCore, "sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", modelSDXL}
	models := make([]provider.Model, 0, len(ids))
	for _, id := range ids {
		models = append(models, provider.Model{ID: id, Modality: provider.ModalityImage})
	}
	return &provider.Info{Name: pluginName, Version: pluginVersion, Models: models}, nil
}

// Configure stores the settings and builds the HTTP client. An empty API
// key is accepted so that the plugin can still be described; every
// generation then fails with KindUnconfigured.
func (p *Plugin) Configure(_ context.Context, cfg provider.Config) error {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = defaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return provider.Errorf(provider.KindUnconfigured, "configuring stability: base_url %q is not an http(s) URL", base)
	}
	accept := strings.TrimSpace(cfg.Options["accept"])
	switch accept {
	case "":
		accept = acceptImage
	case acceptImage, acceptJSON:
	default:
		return provider.Errorf(provider.KindUnconfigured, "configuring stability: option accept must be %q or %q, not %q", acceptImage, acceptJSON, accept)
	}
	now := p.now
	if now == nil {
		now = time.Now
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = defaultReadTimeout
	}
	old := p.state.Swap(&state{
		key:    cfg.APIKey,
		base:   base,
		accept: accept,
		client: vendorhttp.NewClient(cfg),
		now:    now,
	})
	if old != nil {
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
		return nil, provider.Errorf(provider.KindUnconfigured, "stability: plugin not configured")
	}
	if st.key == "" {
		return nil, provider.Errorf(provider.KindUnconfigured, "stability: no API key configured")
	}
	return st, nil
}

// GenerateImage generates req.N images (one if N is zero).
func (p *Plugin) GenerateImage(ctx context.Context, req *provider.ImageRequest) (*provider.ImageResponse, error) {
	st, err := p.configured()
	if err != nil {
		return nil, err
	}
	if req == nil {
		return nil, provider.Errorf(provider.KindInvalidRequest, "stability: no image request")
	}
	rt, err := routeFor(req.Model)
	if err != nil {
		return nil, err
	}
	n := req.N
	if n == 0 {
		n = 1
	}
	if n < 0 || n > maxImages {
		return nil, provider.Errorf(provider.KindInvalidRequest, "stability: n must be between 1 and %d, not %d", maxImages, req.N)
	}
	if strings.TrimSpace(req.Prompt) == "" {
		return nil, provider.Errorf(provider.KindInvalidRequest, "stability: prompt is empty")
	}
	if req.Seed < 0 || req.Seed > maxSeed {
		return nil, provider.Errorf(provider.KindInvalidRequest, "stability: seed must be between 0 and %d", int64(maxSeed))
	}
	var images []provider.Image
	if rt.v1 {
		images, err = st.generateV1(ctx, rt, req, n)
	} else {
		images, err = st.generateV2(ctx, rt, req, n)
	}
	if err != nil {
		return nil, err
	}
	return &provider.ImageResponse{
		Model:  req.Model,
		Images: images,
		Usage:  provider.Usage{Images: int64(len(images))},
	}, nil
}

// route is where a model's requests go.
type route struct {
	// path is the endpoint below the base URL.
	path string
	// model is sent as the sd3 endpoint's model field; empty otherwise.
	model string
	// v1 marks the JSON text-to-image API of SDXL.
	v1 bool
}

func routeFor(model string) (route, error) {
	const generate = "/v2beta/stable-image/generate/"
	switch {
	case model == "":
		return route{}, provider.Errorf(provider.KindInvalidRequest, "stability: no model given")
	case model == modelUltra:
		return route{path: generate + "ultra"}, nil
	case model == modelCore:
		return route{path: generate + "core"}, nil
	case strings.HasPrefix(model, "sd3"):
		// sd3-large, sd3-large-turbo, sd3-medium, sd3.5-large, sd3.5-medium,
		// ... all share one endpoint; the vendor rejects ids it does not know.
		return route{path: generate + "sd3", model: model}, nil
	case model == modelSDXL:
		return route{path: "/v1/generation/" + modelSDXL + "/text-to-image", v1: true}, nil
	}
	return route{}, provider.Errorf(provider.KindUnsupported, "stability: model %q is not offered by this plugin", model)
}

// seedFor is the seed of the i-th of several images: distinct images that
// a caller can still reproduce one by one. Zero stays zero (random).
func seedFor(seed int64, i int) int64 {
	if seed == 0 {
		return 0
	}
	s := seed + int64(i)
	if s > maxSeed {
		s -= maxSeed
	}
	return s
}

// partial wraps the failure of the i-th image of a request: the images
// before it were generated and billed by the vendor, so the core must
// bill them too.
func partial(err error, done int) error {
	if done == 0 {
		return err
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return err
	}
	cp := *pe
	cp.Partial = &provider.Usage{Images: int64(done)}
	return &cp
}
