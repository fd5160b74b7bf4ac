package main

import (
	"context"
	"image/color"
	"net/http"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// TestOverGRPC runs the plugin through the sdk's real gRPC path, as the
// core sees it: configuration, capabilities, images, and an error whose
// kind, status and Retry-After must survive the process boundary.
func TestOverGRPC(t *testing.T) {
	img := tinyPNG(t, color.White)
	body429 := readTestdata(t, "error_429_v2beta.json")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.FormValue("prompt") == "too fast" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write(body429)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Seed", "5")
		_, _ = w.Write(img)
	})
	c := plugintest.Provider(t, &Plugin{})
	ctx := context.Background()
	if err := c.Configure(ctx, provider.Config{APIKey: testKey, BaseURL: f.URL, ReadTimeout: 5 * time.Second}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	info, err := c.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	hasImage := false
	for _, cp := range info.Capabilities {
		hasImage = hasImage || cp == provider.CapImage
	}
	if info.Name != "stability" || !hasImage {
		t.Errorf("info = %+v, want the image capability", info)
	}
	resp, err := c.GenerateImage(ctx, &provider.ImageRequest{Model: "sd3.5-large", Prompt: "p", N: 2})
	if err != nil {
		t.Fatalf("GenerateImage: %v", err)
	}
	if len(resp.Images) != 2 || resp.Usage.Images != 2 || resp.Images[0].MIMEType != "image/png" || resp.Images[0].Seed != 5 {
		t.Errorf("response = %d images, usage %d", len(resp.Images), resp.Usage.Images)
	}
	_, err = c.GenerateImage(ctx, &provider.ImageRequest{Model: "stable-image-core", Prompt: "too fast"})
	pe := asProviderError(t, err, provider.KindRateLimited)
	if pe.RetryAfter != 60*time.Second || pe.Status != http.StatusTooManyRequests {
		t.Errorf("error = %+v", pe)
	}
}
