package main

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

func TestEmbed(t *testing.T) {
	// A two-input answer in CreateEmbeddingResponse shape with the vectors
	// out of order: the index, not the position, says which input each is.
	shuffled := []byte(`{"object":"list","data":[
		{"object":"embedding","embedding":[0.5,0.25],"index":1},
		{"object":"embedding","embedding":[-1,0.125],"index":0}],
		"model":"text-embedding-3-small","usage":{"prompt_tokens":5,"total_tokens":5}}`)
	tests := []struct {
		name     string
		req      *provider.EmbedRequest
		reply    []byte
		wantBody string
		want     *provider.EmbedResponse
		wantKind provider.Kind
	}{
		{
			name:     "spec example",
			req:      &provider.EmbedRequest{Model: "text-embedding-ada-002", Input: []string{"The food was delicious and the waiter..."}},
			reply:    fixture(t, "embeddings.json"),
			wantBody: `{"input":["The food was delicious and the waiter..."],"model":"text-embedding-ada-002","encoding_format":"float"}`,
			want: &provider.EmbedResponse{
				Model:   "text-embedding-ada-002",
				Vectors: [][]float32{{0.0023064255, -0.009327292, -0.0028842222}},
				Usage:   provider.Usage{InputTokens: 8},
			},
		},
		{
			name:     "dimensions and user, vectors put in input order",
			req:      &provider.EmbedRequest{Model: "text-embedding-3-small", Input: []string{"first", "second"}, Dimensions: 2, User: "user-1234"},
			reply:    shuffled,
			wantBody: `{"input":["first","second"],"model":"text-embedding-3-small","dimensions":2,"user":"user-1234","encoding_format":"float"}`,
			want: &provider.EmbedResponse{
				Model:   "text-embedding-3-small",
				Vectors: [][]float32{{-1, 0.125}, {0.5, 0.25}},
				Usage:   provider.Usage{InputTokens: 5},
			},
		},
		{
			name:     "usage missing is estimated",
			req:      &provider.EmbedRequest{Model: "nomic-embed-text", Input: []string{"abcdefgh", "é"}},
			reply:    []byte(`{"data":[{"embedding":[1],"index":0},{"embedding":[2],"index":1}]}`),
			wantBody: `{"input":["abcdefgh","é"],"model":"nomic-embed-text","encoding_format":"float"}`,
			want: &provider.EmbedResponse{
				Model:   "nomic-embed-text",
				Vectors: [][]float32{{1}, {2}},
				Usage:   provider.Usage{InputTokens: 3, Estimated: true},
			},
		},
		{
			name:     "too few vectors",
			req:      &provider.EmbedRequest{Model: "m", Input: []string{"a", "b"}},
			reply:    fixture(t, "embeddings.json"),
			wantBody: `{"input":["a","b"],"model":"m","encoding_format":"float"}`,
			wantKind: provider.KindUnavailable,
		},
		{
			name:     "repeated index",
			req:      &provider.EmbedRequest{Model: "m", Input: []string{"a", "b"}},
			reply:    []byte(`{"data":[{"embedding":[1],"index":0},{"embedding":[2],"index":0}]}`),
			wantBody: `{"input":["a","b"],"model":"m","encoding_format":"float"}`,
			wantKind: provider.KindUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, replyJSON(http.StatusOK, tt.reply, nil))
			got, err := newPlugin(t, fv).Embed(context.Background(), tt.req)
			checkRequest(t, fv.only(t), "/v1/embeddings", "application/json", tt.wantBody)
			if tt.wantKind != provider.KindUnknown {
				asProviderError(t, err, tt.wantKind)
				return
			}
			if err != nil {
				t.Fatalf("Embed: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Embed = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEmbedNoInput(t *testing.T) {
	fv := newFakeVendor(t, replyJSON(http.StatusOK, fixture(t, "embeddings.json"), nil))
	_, err := newPlugin(t, fv).Embed(context.Background(), &provider.EmbedRequest{Model: "m"})
	asProviderError(t, err, provider.KindInvalidRequest)
	if n := fv.count(); n != 0 {
		t.Errorf("vendor called %d times for an empty request", n)
	}
}

func TestGenerateImage(t *testing.T) {
	png := fixture(t, "image.png")
	tests := []struct {
		name     string
		req      *provider.ImageRequest
		reply    []byte
		wantBody string
		want     *provider.ImageResponse
		wantKind provider.Kind
	}{
		{
			name: "dall-e-3 asks for base64",
			req: &provider.ImageRequest{Model: "dall-e-3", Prompt: "A cute baby sea otter", N: 1, Size: "1024x1024",
				Quality: "hd", Style: "vivid", User: "user-1234", NegativePrompt: "ignored", Seed: 42},
			reply: fixture(t, "images.json"),
			wantBody: `{"model":"dall-e-3","prompt":"A cute baby sea otter","n":1,"size":"1024x1024","quality":"hd",
				"style":"vivid","response_format":"b64_json","user":"user-1234"}`,
			want: &provider.ImageResponse{
				Model: "dall-e-3",
				Images: []provider.Image{{Data: png, MIMEType: "image/png",
					RevisedPrompt: "A cute baby sea otter floating on its back in calm blue water."}},
				Usage: provider.Usage{Images: 1},
			},
		},
		{
			name:     "GPT image models take output_format, not response_format",
			req:      &provider.ImageRequest{Model: "gpt-image-1", Prompt: "otter", OutputFormat: "webp"},
			reply:    []byte(`{"created":1713833628,"data":[{"b64_json":"iVBORw0KGgo="},{"b64_json":"iVBORw0KGgo="}],"output_format":"webp"}`),
			wantBody: `{"model":"gpt-image-1","prompt":"otter","output_format":"webp"}`,
			want: &provider.ImageResponse{
				Model: "gpt-image-1",
				Images: []provider.Image{
					{Data: png[:8], MIMEType: "image/webp"},
					{Data: png[:8], MIMEType: "image/webp"},
				},
				Usage: provider.Usage{Images: 2},
			},
		},
		{
			name:     "URL answers are passed through",
			req:      &provider.ImageRequest{Model: "dall-e-2", Prompt: "otter"},
			reply:    []byte(`{"created":1,"data":[{"url":"https://example.test/img.png"}]}`),
			wantBody: `{"model":"dall-e-2","prompt":"otter","response_format":"b64_json"}`,
			want: &provider.ImageResponse{
				Model:  "dall-e-2",
				Images: []provider.Image{{URL: "https://example.test/img.png"}},
				Usage:  provider.Usage{Images: 1},
			},
		},
		{
			name:     "bad base64",
			req:      &provider.ImageRequest{Model: "dall-e-3", Prompt: "otter"},
			reply:    []byte(`{"created":1,"data":[{"b64_json":"..."}]}`),
			wantBody: `{"model":"dall-e-3","prompt":"otter","response_format":"b64_json"}`,
			wantKind: provider.KindUnavailable,
		},
		{
			name:     "no images",
			req:      &provider.ImageRequest{Model: "dall-e-3", Prompt: "otter"},
			reply:    []byte(`{"created":1,"data":[]}`),
			wantBody: `{"model":"dall-e-3","prompt":"otter","response_format":"b64_json"}`,
			wantKind: provider.KindUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, replyJSON(http.StatusOK, tt.reply, nil))
			got, err := newPlugin(t, fv).GenerateImage(context.Background(), tt.req)
			checkRequest(t, fv.only(t), "/v1/images/generations", "application/json", tt.wantBody)
			if tt.wantKind != provider.KindUnknown {
				asProviderError(t, err, tt.wantKind)
				return
			}
			if err != nil {
				t.Fatalf("GenerateImage: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GenerateImage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSpeech(t *testing.T) {
	// Not a vendor recording: the endpoint returns raw audio bytes
	// (openai-openapi.yaml, createSpeech, 200 application/octet-stream);
	// these start like an MP3 with an ID3 tag.
	audio := []byte("ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64")
	tests := []struct {
		name        string
		req         *provider.SpeechRequest
		contentType string
		wantBody    string
		wantMIME    string
		wantChars   int64
	}{
		{
			name:        "spec example with defaults",
			req:         &provider.SpeechRequest{Model: "tts-1", Input: "The quick brown fox jumped over the lazy dog."},
			contentType: "audio/mpeg",
			wantBody:    `{"model":"tts-1","input":"The quick brown fox jumped over the lazy dog.","voice":"alloy","response_format":"mp3"}`,
			wantMIME:    "audio/mpeg",
			wantChars:   45,
		},
		{
			name:        "voice, format and speed; characters are runes",
			req:         &provider.SpeechRequest{Model: "tts-1", Input: "Grüße, Zoë!", Voice: "nova", Format: "opus", Speed: ptr(1.25)},
			contentType: "audio/ogg; codecs=opus",
			wantBody:    `{"model":"tts-1","input":"Grüße, Zoë!","voice":"nova","response_format":"opus","speed":1.25}`,
			wantMIME:    "audio/ogg",
			wantChars:   11,
		},
		{
			name:        "generic content type falls back to the format",
			req:         &provider.SpeechRequest{Model: "tts-1", Input: "hi", Format: "wav"},
			contentType: "application/octet-stream",
			wantBody:    `{"model":"tts-1","input":"hi","voice":"alloy","response_format":"wav"}`,
			wantMIME:    "audio/wav",
			wantChars:   2,
		},
		{
			name:      "missing content type means mp3",
			req:       &provider.SpeechRequest{Model: "tts-1", Input: "hi"},
			wantBody:  `{"model":"tts-1","input":"hi","voice":"alloy","response_format":"mp3"}`,
			wantMIME:  "audio/mpeg",
			wantChars: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				} else {
					// Stop net/http from sniffing one.
					w.Header()["Content-Type"] = nil
				}
				_, _ = w.Write(audio)
			})
			got, err := newPlugin(t, fv).Speech(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Speech: %v", err)
			}
			checkRequest(t, fv.only(t), "/v1/audio/speech", "", tt.wantBody)
			if !bytes.Equal(got.Audio, audio) {
				t.Errorf("audio = %q, want %q", got.Audio, audio)
			}
			if got.MIMEType != tt.wantMIME {
				t.Errorf("MIME = %q, want %q", got.MIMEType, tt.wantMIME)
			}
			if want := (provider.Usage{Characters: tt.wantChars}); got.Usage != want {
				t.Errorf("usage = %+v, want %+v", got.Usage, want)
			}
		})
	}
}
