package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

// Finish reasons of the v2beta and v1 APIs.
const (
	finishSuccess         = "SUCCESS"
	finishContentFiltered = "CONTENT_FILTERED"
)

// v2JSONResponse is the body of a v2beta generation when Accept is
// application/json.
type v2JSONResponse struct {
	Image        string `json:"image"`
	Seed         int64  `json:"seed"`
	FinishReason string `json:"finish_reason"`
}

// generateV2 makes one v2beta call per image, one after another: the API
// returns one image per call, and sequential calls keep a large N from
// tripping the vendor's rate limit.
func (st *state) generateV2(ctx context.Context, rt route, req *provider.ImageRequest, n int64) ([]provider.Image, error) {
	ratio, err := aspectRatio(req.Size)
	if err != nil {
		return nil, provider.Errorf(provider.KindInvalidRequest, "stability: %v", err)
	}
	format, err := outputFormat(req.OutputFormat)
	if err != nil {
		return nil, err
	}
	images := make([]provider.Image, 0, n)
	for i := range int(n) {
		form := v2Form{
			prompt:   req.Prompt,
			negative: req.NegativePrompt,
			ratio:    ratio,
			seed:     seedFor(req.Seed, i),
			format:   format,
			model:    rt.model,
		}
		img, err := st.callV2(ctx, rt.path, form)
		if err != nil {
			return nil, partial(err, len(images))
		}
		images = append(images, img)
	}
	return images, nil
}

// v2Form holds the multipart fields of one v2beta call.
type v2Form struct {
	prompt, negative, ratio string
	seed                    int64
	format, model           string
}

// encode writes the form as multipart/form-data and returns the body and
// its content type (which carries the boundary).
func (f v2Form) encode() (*bytes.Buffer, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"prompt", f.prompt}}
	if f.negative != "" {
		fields = append(fields, [2]string{"negative_prompt", f.negative})
	}
	if f.ratio != "" {
		fields = append(fields, [2]string{"aspect_ratio", f.ratio})
	}
	if f.seed != 0 {
		fields = append(fields, [2]string{"seed", strconv.FormatInt(f.seed, 10)})
	}
	fields = append(fields, [2]string{"output_format", f.format})
	if f.model != "" {
		fields = append(fields, [2]string{"model", f.model})
	}
	for _, kv := range fields {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			return nil, "", fmt.Errorf("writing form field %s: %w", kv[0], err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("closing form: %w", err)
	}
	return &buf, w.FormDataContentType(), nil
}

func (st *state) callV2(ctx context.Context, path string, form v2Form) (provider.Image, error) {
	const what = "calling stability image generation"
	body, contentType, err := form.encode()
	if err != nil {
		return provider.Image{}, provider.Errorf(provider.KindInvalidRequest, "stability: building request: %v", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, st.base+path, body)
	if err != nil {
		return provider.Image{}, provider.Errorf(provider.KindUnconfigured, "stability: building request: %v", err)
	}
	hreq.Header.Set("Authorization", "Bearer "+st.key)
	hreq.Header.Set("Content-Type", contentType)
	hreq.Header.Set("Accept", st.accept)
	resp, err := st.client.Do(hreq)
	if err != nil {
		return provider.Image{}, vendorhttp.TransportError(ctx, what, err)
	}
	defer drainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return provider.Image{}, st.statusError(resp)
	}
	data, err := readBody(ctx, resp.Body, what)
	if err != nil {
		return provider.Image{}, err
	}
	if st.accept == acceptJSON {
		return decodeV2JSON(data, resp.Header.Get("Content-Type"), form.format)
	}
	img := provider.Image{Data: data, MIMEType: imageMIME(resp.Header.Get("Content-Type"), form.format)}
	if s := resp.Header.Get("Seed"); s != "" {
		img.Seed, _ = strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	}
	if err := checkFinish(resp.Header.Get("Finish-Reason")); err != nil {
		return provider.Image{}, err
	}
	if len(img.Data) == 0 {
		return provider.Image{}, provider.Errorf(provider.KindUnavailable, "stability: empty image in response")
	}
	return img, nil
}

func decodeV2JSON(data []byte, contentType, format string) (provider.Image, error) {
	var body v2JSONResponse
	if err := json.Unmarshal(data, &body); err != nil {
		return provider.Image{}, provider.Errorf(provider.KindUnavailable, "stability: decoding JSON response: %v", err)
	}
	if err := checkFinish(body.FinishReason); err != nil {
		return provider.Image{}, err
	}
	raw, err := base64.StdEncoding.DecodeString(body.Image)
	if err != nil {
		return provider.Image{}, provider.Errorf(provider.KindUnavailable, "stability: decoding base64 image: %v", err)
	}
	if len(raw) == 0 {
		return provider.Image{}, provider.Errorf(provider.KindUnavailable, "stability: empty image in response")
	}
	return provider.Image{Data: raw, MIMEType: imageMIME(typeParam(contentType), format), Seed: body.Seed}, nil
}

// typeParam returns the type parameter of a JSON response's content type,
// "application/json; type=image/png". It is read by hand because the vendor
// sends the value unquoted, which mime.ParseMediaType rejects ('/' is not
// allowed in a bare parameter value).
func typeParam(contentType string) string {
	_, params, _ := strings.Cut(contentType, ";")
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "type") {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

// checkFinish turns a finish reason other than success into an error.
// Absent means success: older responses did not always carry it.
func checkFinish(reason string) error {
	switch strings.ToUpper(strings.TrimSpace(reason)) {
	case "", finishSuccess:
		return nil
	case finishContentFiltered:
		return provider.Errorf(provider.KindInvalidRequest, "stability: content filtered: the image violated the vendor's content policy")
	}
	return provider.Errorf(provider.KindUnavailable, "stability: generation finished with %q", reason)
}

// outputFormat validates the format hint; the vendor's default is png.
func outputFormat(f string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(f)) {
	case "", "png":
		return "png", nil
	case "jpeg", "jpg":
		return "jpeg", nil
	case "webp":
		return "webp", nil
	}
	return "", provider.Errorf(provider.KindInvalidRequest, "stability: output format %q is not png, jpeg or webp", f)
}

// imageMIME is the response's image type, else the one the format implies.
func imageMIME(contentType, format string) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && strings.HasPrefix(mt, "image/") {
		return mt
	}
	return "image/" + format
}

// readBody reads a successful response whole, within maxResponseBody.
func readBody(ctx context.Context, body io.Reader, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, maxResponseBody+1))
	if err != nil {
		return nil, vendorhttp.TransportError(ctx, what+": reading response", err)
	}
	if len(data) > maxResponseBody {
		return nil, provider.Errorf(provider.KindUnavailable, "stability: response larger than %d bytes", maxResponseBody)
	}
	return data, nil
}

// drainClose reads a little of what is left so the connection can be
// reused, then closes the body.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	_ = body.Close()
}
