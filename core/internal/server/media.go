package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// stringList is a string or an array of strings (embeddings input).
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("input must be a string or an array of strings")
	}
	*s = many
	return nil
}

type embeddingsRequest struct {
	Model          string     `json:"model"`
	Input          stringList `json:"input"`
	Dimensions     int64      `json:"dimensions,omitempty"`
	User           string     `json:"user,omitempty"`
	EncodingFormat string     `json:"encoding_format,omitempty"`
}

func (s *server) embeddings(c *gin.Context) {
	var req embeddingsRequest
	if !bindJSON(c, &req) {
		return
	}
	switch {
	case req.Model == "":
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "model is required", "model")
		return
	case len(req.Input) == 0:
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "input must not be empty", "input")
		return
	case req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64":
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "encoding_format must be \"float\" or \"base64\"", "encoding_format")
		return
	}
	snap, release := s.o.Backend.Acquire()
	defer release()
	var in int64
	for _, text := range req.Input {
		in += s.o.Backend.Tokens().Text(req.Model, text)
	}
	f := gateway.Features{Modality: "embedding", InputTokens: in, Capabilities: []string{string(provider.CapEmbed)}}
	k, ok := s.begin(c, snap, req.Model, f, func(gateway.Target) Usage { return Usage{InputTokens: in} })
	if !ok {
		return
	}
	var resp *provider.EmbedResponse
	t, attempts, wait, err := snap.Generic(c.Request.Context(), k.plan, true, func(ctx context.Context, p provider.Client, t gateway.Target) error {
		r, err := p.Embed(ctx, &provider.EmbedRequest{Model: t.Model, Input: req.Input, Dimensions: req.Dimensions, User: req.User})
		resp = r
		return err
	})
	if err != nil {
		k.failed(err, attempts)
		return
	}
	charged := k.end(t, Usage{InputTokens: resp.Usage.InputTokens}, resp.Usage.Estimated, attempts, http.StatusOK)
	k.setHeaders(t, charged, wait)
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]item, len(resp.Vectors))
	for i, v := range resp.Vectors {
		data[i] = item{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			data[i].Embedding = base64Floats(v)
		}
	}
	c.JSON(http.StatusOK, gin.H{
		"object": "list", "data": data, "model": t.Model,
		"usage": gin.H{"prompt_tokens": resp.Usage.InputTokens, "total_tokens": resp.Usage.InputTokens, "credits": s.formatCredits(charged)},
	})
}

type imagesRequest struct {
	Model          string `json:"model"`
	Prompt         string `json:"prompt"`
	N              *int64 `json:"n,omitempty"`
	Size           string `json:"size,omitempty"`
	Quality        string `json:"quality,omitempty"`
	Style          string `json:"style,omitempty"`
	ResponseFormat string `json:"response_format,omitempty"`
	User           string `json:"user,omitempty"`
}

// maxImages bounds n: each image is a separate, billed vendor call.
const maxImages = 10

func (s *server) images(c *gin.Context) {
	var req imagesRequest
	if !bindJSON(c, &req) {
		return
	}
	n := int64(1)
	if req.N != nil {
		n = *req.N
	}
	switch {
	case req.Model == "":
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "model is required", "model")
		return
	case req.Prompt == "":
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "prompt is required", "prompt")
		return
	case n < 1 || n > maxImages:
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "n must be between 1 and 10", "n")
		return
	case req.ResponseFormat != "" && req.ResponseFormat != "b64_json" && req.ResponseFormat != "url":
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "response_format must be \"b64_json\" or \"url\"", "response_format")
		return
	}
	size := req.Size
	if size == "" {
		size = "1024x1024"
	}
	quality := req.Quality
	if quality == "standard" {
		quality = ""
	}
	snap, release := s.o.Backend.Acquire()
	defer release()
	f := gateway.Features{Modality: "image", Capabilities: []string{string(provider.CapImage)}}
	usage := Usage{Images: n, ImageSize: size, ImageQuality: quality}
	k, ok := s.begin(c, snap, req.Model, f, func(gateway.Target) Usage { return usage })
	if !ok {
		return
	}
	var resp *provider.ImageResponse
	t, attempts, wait, err := snap.Generic(c.Request.Context(), k.plan, hasIdempotencyKey(c), func(ctx context.Context, p provider.Client, t gateway.Target) error {
		r, err := p.GenerateImage(ctx, &provider.ImageRequest{Model: t.Model, Prompt: req.Prompt, N: n, Size: req.Size, Quality: req.Quality, Style: req.Style, User: req.User})
		resp = r
		return err
	})
	if err != nil {
		k.failed(err, attempts)
		return
	}
	billed := usage
	billed.Images = resp.Usage.Images
	if billed.Images == 0 {
		billed.Images = int64(len(resp.Images))
	}
	charged := k.end(t, billed, false, attempts, http.StatusOK)
	k.setHeaders(t, charged, wait)
	data := make([]gin.H, len(resp.Images))
	for i, im := range resp.Images {
		d := gin.H{}
		switch {
		case req.ResponseFormat == "url" && im.URL != "":
			d["url"] = im.URL
		case len(im.Data) > 0:
			d["b64_json"] = base64.StdEncoding.EncodeToString(im.Data)
		default:
			d["url"] = im.URL
		}
		if im.RevisedPrompt != "" {
			d["revised_prompt"] = im.RevisedPrompt
		}
		data[i] = d
	}
	c.JSON(http.StatusOK, gin.H{"created": time.Now().Unix(), "data": data, "usage": gin.H{"images": billed.Images, "credits": s.formatCredits(charged)}})
}

type speechRequest struct {
	Model          string   `json:"model"`
	Input          string   `json:"input"`
	Voice          string   `json:"voice,omitempty"`
	ResponseFormat string   `json:"response_format,omitempty"`
	Speed          *float64 `json:"speed,omitempty"`
}

// maxSpeechChars is OpenAI's documented limit for one speech request.
const maxSpeechChars = 4096

func (s *server) speech(c *gin.Context) {
	var req speechRequest
	if !bindJSON(c, &req) {
		return
	}
	chars := int64(utf8.RuneCountInString(req.Input))
	switch {
	case req.Model == "":
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "model is required", "model")
		return
	case chars == 0:
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "input is required", "input")
		return
	case chars > maxSpeechChars:
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "input is longer than 4096 characters", "input")
		return
	case req.Speed != nil && (*req.Speed < 0.25 || *req.Speed > 4):
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "speed must be between 0.25 and 4", "speed")
		return
	}
	snap, release := s.o.Backend.Acquire()
	defer release()
	f := gateway.Features{Modality: "audio", InputTokens: (chars + 3) / 4, Capabilities: []string{string(provider.CapSpeech)}}
	k, ok := s.begin(c, snap, req.Model, f, func(gateway.Target) Usage { return Usage{Characters: chars} })
	if !ok {
		return
	}
	var resp *provider.SpeechResponse
	t, attempts, wait, err := snap.Generic(c.Request.Context(), k.plan, hasIdempotencyKey(c), func(ctx context.Context, p provider.Client, t gateway.Target) error {
		r, err := p.Speech(ctx, &provider.SpeechRequest{Model: t.Model, Input: req.Input, Voice: req.Voice, Format: req.ResponseFormat, Speed: req.Speed})
		resp = r
		return err
	})
	if err != nil {
		k.failed(err, attempts)
		return
	}
	billedChars := resp.Usage.Characters
	if billedChars == 0 {
		billedChars = chars
	}
	charged := k.end(t, Usage{Characters: billedChars}, resp.Usage.Estimated, attempts, http.StatusOK)
	k.setHeaders(t, charged, wait)
	mime := resp.MIMEType
	if mime == "" {
		mime = "audio/mpeg"
	}
	c.Data(http.StatusOK, mime, resp.Audio)
}

// hasIdempotencyKey reports whether the client sent an Idempotency-Key:
// only then may a generation that costs money per attempt be retried.
func hasIdempotencyKey(c *gin.Context) bool { return c.GetHeader("Idempotency-Key") != "" }

// base64Floats encodes v as OpenAI's encoding_format "base64" does: the
// vector's little-endian float32 bytes, base64-encoded. The official SDKs
// ask for it by default and decode it themselves.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}
