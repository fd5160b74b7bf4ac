package main

import (
	"context"
	"encoding/base64"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// embedRequest is CreateEmbeddingRequest (openai-openapi.yaml). Input is
// always an array so that one code path serves one or many inputs.
type embedRequest struct {
	Input          []string `json:"input"`
	Model          string   `json:"model"`
	Dimensions     int64    `json:"dimensions,omitempty"`
	User           string   `json:"user,omitempty"`
	EncodingFormat string   `json:"encoding_format"`
}

// embedResponse is CreateEmbeddingResponse.
type embedResponse struct {
	vendorEnvelope
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage *struct {
		PromptTokens int64 `json:"prompt_tokens"`
	} `json:"usage"`
}

// Embed turns each input into a vector, returned in input order.
func (p *Plugin) Embed(ctx context.Context, req *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	s, err := p.ready()
	if err != nil {
		return nil, err
	}
	resp, err := s.embed(ctx, req)
	return resp, s.scrub(err)
}

func (s *settings) embed(ctx context.Context, req *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	const what = "create embeddings"
	if len(req.Input) == 0 {
		return nil, provider.Errorf(provider.KindInvalidRequest, "%s: no input", what)
	}
	body := &embedRequest{
		Input:          req.Input,
		Model:          req.Model,
		Dimensions:     req.Dimensions,
		User:           req.User,
		EncodingFormat: "float",
	}
	resp, err := s.post(ctx, what, "/embeddings", body, "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var er embedResponse
	if err := decodeJSON(ctx, what, resp, &er); err != nil {
		return nil, err
	}
	// The vendor tags each vector with its input's index; do not trust
	// the array order, and reject an answer that does not cover every input
	// exactly once rather than bill for misplaced vectors.
	if len(er.Data) != len(req.Input) {
		return nil, provider.Errorf(provider.KindUnavailable, "%s: vendor returned %d vectors for %d inputs", what, len(er.Data), len(req.Input))
	}
	vecs := make([][]float32, len(req.Input))
	for _, d := range er.Data {
		if d.Index < 0 || d.Index >= len(vecs) || vecs[d.Index] != nil {
			return nil, provider.Errorf(provider.KindUnavailable, "%s: vendor returned a bad or repeated index %d", what, d.Index)
		}
		if d.Embedding == nil {
			d.Embedding = []float32{}
		}
		vecs[d.Index] = d.Embedding
	}
	out := &provider.EmbedResponse{Model: er.Model, Vectors: vecs}
	if out.Model == "" {
		out.Model = req.Model
	}
	if er.Usage != nil && er.Usage.PromptTokens > 0 {
		out.Usage = provider.Usage{InputTokens: er.Usage.PromptTokens}
	} else {
		n := 0
		for _, in := range req.Input {
			n += utf8.RuneCountInString(in)
		}
		out.Usage = provider.Usage{InputTokens: estimateTokens(n), Estimated: true}
	}
	return out, nil
}

// imageRequest is CreateImageRequest (openai-openapi.yaml).
type imageRequest struct {
	Model          string `json:"model,omitempty"`
	Prompt         string `json:"prompt"`
	N              int64  `json:"n,omitempty"`
	Size           string `json:"size,omitempty"`
	Quality        string `json:"quality,omitempty"`
	Style          string `json:"style,omitempty"`
	ResponseFormat string `json:"response_format,omitempty"`
	OutputFormat   string `json:"output_format,omitempty"`
	User           string `json:"user,omitempty"`
}

// imagesResponse is ImagesResponse.
type imagesResponse struct {
	vendorEnvelope
	Data []struct {
		B64JSON       string `json:"b64_json"`
		URL           string `json:"url"`
		RevisedPrompt string `json:"revised_prompt"`
	} `json:"data"`
	OutputFormat string `json:"output_format"`
}

// isGPTImage reports whether model is one of the GPT image models, which
// always answer in base64, reject response_format and take output_format
// (openai-openapi.yaml, CreateImageRequest).
func isGPTImage(model string) bool {
	return strings.HasPrefix(model, "gpt-image")
}

// GenerateImage asks for images and returns their bytes.
func (p *Plugin) GenerateImage(ctx context.Context, req *provider.ImageRequest) (*provider.ImageResponse, error) {
	s, err := p.ready()
	if err != nil {
		return nil, err
	}
	resp, err := s.generateImage(ctx, req)
	return resp, s.scrub(err)
}

func (s *settings) generateImage(ctx context.Context, req *provider.ImageRequest) (*provider.ImageResponse, error) {
	const what = "create image"
	body := &imageRequest{
		Model:   req.Model,
		Prompt:  req.Prompt,
		N:       req.N,
		Size:    req.Size,
		Quality: req.Quality,
		Style:   req.Style,
		User:    req.User,
	}
	if isGPTImage(req.Model) {
		body.OutputFormat = req.OutputFormat
	} else {
		// Bytes, not a URL that expires after an hour and that the core
		// would have to fetch.
		body.ResponseFormat = "b64_json"
	}
	resp, err := s.post(ctx, what, "/images/generations", body, "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ir imagesResponse
	if err := decodeJSON(ctx, what, resp, &ir); err != nil {
		return nil, err
	}
	if len(ir.Data) == 0 {
		return nil, provider.Errorf(provider.KindUnavailable, "%s: vendor returned no images", what)
	}
	mimeType := imageMIME(ir.OutputFormat)
	out := &provider.ImageResponse{Model: req.Model, Images: make([]provider.Image, 0, len(ir.Data))}
	for i, d := range ir.Data {
		img := provider.Image{URL: d.URL, RevisedPrompt: d.RevisedPrompt}
		if d.B64JSON != "" {
			b, err := base64.StdEncoding.DecodeString(d.B64JSON)
			if err != nil {
				return nil, provider.Errorf(provider.KindUnavailable, "%s: decode image %d: %v", what, i, err)
			}
			img.Data, img.MIMEType = b, mimeType
		}
		out.Images = append(out.Images, img)
	}
	out.Usage = provider.Usage{Images: int64(len(out.Images))}
	return out, nil
}

// imageMIME maps ImagesResponse.output_format to a MIME type. DALL·E
// leaves it out and always returns PNG.
func imageMIME(format string) string {
	switch format {
	case "jpeg", "jpg":
		return "image/jpeg"
	case "webp":
		return "image/webp"
	}
	return "image/png"
}

// speechRequest is CreateSpeechRequest (openai-openapi.yaml).
type speechRequest struct {
	Model          string   `json:"model"`
	Input          string   `json:"input"`
	Voice          string   `json:"voice"`
	ResponseFormat string   `json:"response_format"`
	Speed          *float64 `json:"speed,omitempty"`
}

// Speech defaults, as documented in CreateSpeechRequest.
const (
	defaultVoice  = "alloy"
	defaultFormat = "mp3"
)

// Speech turns text into audio.
func (p *Plugin) Speech(ctx context.Context, req *provider.SpeechRequest) (*provider.SpeechResponse, error) {
	s, err := p.ready()
	if err != nil {
		return nil, err
	}
	resp, err := s.speech(ctx, req)
	return resp, s.scrub(err)
}

func (s *settings) speech(ctx context.Context, req *provider.SpeechRequest) (*provider.SpeechResponse, error) {
	const what = "create speech"
	body := &speechRequest{
		Model:          req.Model,
		Input:          req.Input,
		Voice:          req.Voice,
		ResponseFormat: req.Format,
		Speed:          req.Speed,
	}
	if body.Voice == "" {
		body.Voice = defaultVoice
	}
	if body.ResponseFormat == "" {
		body.ResponseFormat = defaultFormat
	}
	resp, err := s.post(ctx, what, "/audio/speech", body, "*/*")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	audio, err := readAll(ctx, what, resp)
	if err != nil {
		return nil, err
	}
	return &provider.SpeechResponse{
		Audio:    audio,
		MIMEType: audioMIME(resp.Header.Get("Content-Type"), body.ResponseFormat),
		Usage:    provider.Usage{Characters: int64(utf8.RuneCountInString(req.Input))},
	}, nil
}

// audioMIME prefers the vendor's Content-Type; a generic or missing one is
// replaced by the type of the format that was asked for.
func audioMIME(contentType, format string) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt != "application/octet-stream" {
		return mt
	}
	switch format {
	case "opus":
		return "audio/ogg"
	case "aac":
		return "audio/aac"
	case "flac":
		return "audio/flac"
	case "wav":
		return "audio/wav"
	case "pcm":
		return "audio/pcm"
	}
	return "audio/mpeg"
}
