package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

// v1Request is the body of POST /v1/generation/{engine_id}/text-to-image.
type v1Request struct {
	TextPrompts []v1Prompt `json:"text_prompts"`
	Width       int        `json:"width"`
	Height      int        `json:"height"`
	Samples     int64      `json:"samples"`
	Seed        int64      `json:"seed,omitempty"`
}

// v1Prompt is one weighted prompt; a negative weight is a negative prompt.
type v1Prompt struct {
	Text   string  `json:"text"`
	Weight float64 `json:"weight"`
}

// v1Response is the JSON answer of the v1 generation API.
type v1Response struct {
	Artifacts []struct {
		Base64       string `json:"base64"`
		Seed         int64  `json:"seed"`
		FinishReason string `json:"finishReason"`
	} `json:"artifacts"`
}

// generateV1 asks SDXL for all n images in one call: unlike v2beta, the v1
// API takes a sample count. It always asks for JSON, since v1 answers a
// multi-sample request only that way, and its images are always PNG.
func (st *state) generateV1(ctx context.Context, rt route, req *provider.ImageRequest, n int64) ([]provider.Image, error) {
	const what = "calling stability sdxl generation"
	w, h, err := sdxlSize(req.Size)
	if err != nil {
		return nil, provider.Errorf(provider.KindInvalidRequest, "stability: %v", err)
	}
	body := v1Request{
		TextPrompts: []v1Prompt{{Text: req.Prompt, Weight: 1}},
		Width:       w,
		Height:      h,
		Samples:     n,
		Seed:        req.Seed,
	}
	if req.NegativePrompt != "" {
		body.TextPrompts = append(body.TextPrompts, v1Prompt{Text: req.NegativePrompt, Weight: -1})
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, provider.Errorf(provider.KindInvalidRequest, "stability: encoding request: %v", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, st.base+rt.path, bytes.NewReader(raw))
	if err != nil {
		return nil, provider.Errorf(provider.KindUnconfigured, "stability: building request: %v", err)
	}
	hreq.Header.Set("Authorization", "Bearer "+st.key)
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	resp, err := st.client.Do(hreq)
	if err != nil {
		return nil, vendorhttp.TransportError(ctx, what, err)
	}
	defer drainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, st.statusError(resp)
	}
	data, err := readBody(ctx, resp.Body, what)
	if err != nil {
		return nil, err
	}
	var out v1Response
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, provider.Errorf(provider.KindUnavailable, "stability: decoding JSON response: %v", err)
	}
	// As with v2beta, one filtered or broken artifact fails the request;
	// the good ones were generated and are reported as partial usage.
	images := make([]provider.Image, 0, len(out.Artifacts))
	var failed error
	for _, a := range out.Artifacts {
		if err := checkFinish(a.FinishReason); err != nil {
			failed = err
			continue
		}
		img, err := base64.StdEncoding.DecodeString(a.Base64)
		if err != nil || len(img) == 0 {
			failed = provider.Errorf(provider.KindUnavailable, "stability: artifact is not a base64 image")
			continue
		}
		images = append(images, provider.Image{Data: img, MIMEType: "image/png", Seed: a.Seed})
	}
	if failed != nil {
		return nil, partial(failed, len(images))
	}
	if len(images) == 0 {
		return nil, provider.Errorf(provider.KindUnavailable, "stability: response has no artifacts")
	}
	return images, nil
}
