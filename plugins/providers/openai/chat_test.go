package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

func TestDescribe(t *testing.T) {
	info, err := (&Plugin{}).Describe(context.Background())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if info.Name != "openai" || info.Version != "1.0.0" {
		t.Errorf("name/version = %s/%s", info.Name, info.Version)
	}
	want := map[string]struct {
		modality provider.Modality
		window   int64
	}{
		"gpt-4o":                 {provider.ModalityText, 128000},
		"gpt-4o-mini":            {provider.ModalityText, 128000},
		"gpt-4-turbo":            {provider.ModalityText, 128000},
		"gpt-4":                  {provider.ModalityText, 8192},
		"gpt-3.5-turbo":          {provider.ModalityText, 16385},
		"text-embedding-3-small": {provider.ModalityEmbedding, 8192},
		"dall-e-3":               {provider.ModalityImage, 0},
		"tts-1":                  {provider.ModalityAudio, 0},
	}
	if len(info.Models) != len(want) {
		t.Errorf("got %d models, want %d", len(info.Models), len(want))
	}
	for _, m := range info.Models {
		w, ok := want[m.ID]
		if !ok {
			t.Errorf("unexpected model %s", m.ID)
			continue
		}
		if m.Modality != w.modality || m.ContextWindow != w.window {
			t.Errorf("%s = %s/%d, want %s/%d", m.ID, m.Modality, m.ContextWindow, w.modality, w.window)
		}
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name    string
		baseURL string
		want    string
		wantErr bool
	}{
		{name: "default", baseURL: "", want: DefaultBaseURL},
		{name: "trailing slash trimmed", baseURL: "http://localhost:11434/v1/", want: "http://localhost:11434/v1"},
		{name: "https kept", baseURL: "https://example.test/openai/v1", want: "https://example.test/openai/v1"},
		{name: "no scheme", baseURL: "localhost:8000/v1", wantErr: true},
		{name: "other scheme", baseURL: "ftp://example.test/v1", wantErr: true},
		{name: "no host", baseURL: "http:///v1", wantErr: true},
		{name: "credentials not echoed", baseURL: "http://u:" + testKey + "@%zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plugin{}
			err := p.Configure(context.Background(), provider.Config{APIKey: testKey, BaseURL: tt.baseURL})
			if tt.wantErr {
				asProviderError(t, err, provider.KindUnconfigured)
				return
			}
			if err != nil {
				t.Fatalf("Configure: %v", err)
			}
			if got := p.cur.Load().baseURL; got != tt.want {
				t.Errorf("base URL = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestUnconfigured checks that without a key no call reaches the vendor.
func TestUnconfigured(t *testing.T) {
	fv := newFakeVendor(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	noKey := &Plugin{}
	if err := noKey.Configure(context.Background(), provider.Config{BaseURL: fv.srv.URL}); err != nil {
		t.Fatalf("Configure without key: %v", err)
	}
	plugins := []struct {
		name    string
		p       *Plugin
		message string
	}{
		{"never configured", &Plugin{}, "openai provider is not configured"},
		{"no API key", noKey, "no API key configured"},
	}
	for _, pl := range plugins {
		for _, c := range allCalls() {
			t.Run(pl.name+"/"+c.name, func(t *testing.T) {
				pe := asProviderError(t, c.run(context.Background(), pl.p), provider.KindUnconfigured)
				if pe.Message != pl.message {
					t.Errorf("message = %q, want %q", pe.Message, pl.message)
				}
			})
		}
	}
	if n := fv.count(); n != 0 {
		t.Errorf("vendor received %d requests without a key", n)
	}
}

func TestChat(t *testing.T) {
	spec := fixture(t, "chat_completion.json")
	tests := []struct {
		name     string
		req      *provider.ChatRequest
		wantBody string
		want     *provider.ChatResponse
	}{
		{
			name: "spec example, text messages as strings",
			req:  helloRequest(),
			wantBody: `{"model":"gpt-4o-mini","messages":[
				{"role":"system","content":"You are a helpful assistant."},
				{"role":"user","content":"Hello!"}]}`,
			want: &provider.ChatResponse{
				ID: "chatcmpl-acc123", Model: "gpt-4o-mini-2024-07-18",
				Content: "Hello! How can I help you today?", FinishReason: provider.FinishStop,
				Usage: provider.Usage{InputTokens: 13, OutputTokens: 9},
			},
		},
		{
			name: "all options, image parts as an array, zero temperature kept",
			req: &provider.ChatRequest{
				Model: "gpt-4o",
				Messages: []provider.Message{{
					Role: provider.RoleUser,
					Name: "alice",
					Content: []provider.ContentPart{
						{Type: provider.PartText, Text: "What is in this image?"},
						{Type: provider.PartImage, ImageURL: "https://example.test/boardwalk.jpg"},
					},
				}},
				Temperature:      ptr(0.0),
				TopP:             ptr(0.5),
				MaxTokens:        300,
				Stop:             []string{"\n\n", "END"},
				User:             "user-1234",
				Seed:             ptr(int64(42)),
				PresencePenalty:  ptr(0.0),
				FrequencyPenalty: ptr(-0.5),
			},
			wantBody: `{"model":"gpt-4o","messages":[{"role":"user","name":"alice","content":[
				{"type":"text","text":"What is in this image?"},
				{"type":"image_url","image_url":{"url":"https://example.test/boardwalk.jpg"}}]}],
				"temperature":0,"top_p":0.5,"max_tokens":300,"stop":["\n\n","END"],"user":"user-1234",
				"seed":42,"presence_penalty":0,"frequency_penalty":-0.5}`,
			want: &provider.ChatResponse{
				ID: "chatcmpl-acc123", Model: "gpt-4o-mini-2024-07-18",
				Content: "Hello! How can I help you today?", FinishReason: provider.FinishStop,
				Usage: provider.Usage{InputTokens: 13, OutputTokens: 9},
			},
		},
		{
			name:     "single image part is still an array",
			req:      &provider.ChatRequest{Model: "gpt-4o", Messages: []provider.Message{{Role: provider.RoleUser, Content: []provider.ContentPart{{Type: provider.PartImage, ImageURL: "data:image/png;base64,AAAA"}}}}},
			wantBody: `{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
			want: &provider.ChatResponse{
				ID: "chatcmpl-acc123", Model: "gpt-4o-mini-2024-07-18",
				Content: "Hello! How can I help you today?", FinishReason: provider.FinishStop,
				Usage: provider.Usage{InputTokens: 13, OutputTokens: 9},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, replyJSON(http.StatusOK, spec, nil))
			got, err := newPlugin(t, fv).Chat(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			checkRequest(t, fv.only(t), "/v1/chat/completions", "application/json", tt.wantBody)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Chat =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// TestChatCompatibleServers covers answers OpenAI never gives but
// compatible servers do.
func TestChatCompatibleServers(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *provider.ChatResponse
	}{
		{
			name: "usage missing is estimated",
			body: `{"id":"x","model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}]}`,
			// 32 characters of answer, 34 of prompt.
			want: &provider.ChatResponse{ID: "x", Model: "llama3", Content: "Hello! How can I help you today?", FinishReason: provider.FinishStop,
				Usage: provider.Usage{InputTokens: helloPromptTokens, OutputTokens: 8, Estimated: true}},
		},
		{
			name: "all-zero usage is estimated",
			body: `{"model":"llama3","choices":[{"message":{"content":"Hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`,
			want: &provider.ChatResponse{Model: "llama3", Content: "Hi", FinishReason: provider.FinishLength,
				Usage: provider.Usage{InputTokens: helloPromptTokens, OutputTokens: 1, Estimated: true}},
		},
		{
			name: "no id, model or choices",
			body: `{"usage":{"prompt_tokens":3,"completion_tokens":0}}`,
			want: &provider.ChatResponse{Model: "gpt-4o-mini", Usage: provider.Usage{InputTokens: 3}},
		},
		{
			name: "null content",
			body: `{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}`,
			want: &provider.ChatResponse{Model: "gpt-4o-mini", FinishReason: provider.FinishStop, Usage: provider.Usage{InputTokens: 5, OutputTokens: 7}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, replyJSON(http.StatusOK, []byte(tt.body), nil))
			got, err := newPlugin(t, fv).Chat(context.Background(), helloRequest())
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Chat =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// TestChatPromptCache reads prompt_tokens_details.cached_tokens, the part
// of prompt_tokens OpenAI served from its prompt cache.
func TestChatPromptCache(t *testing.T) {
	object := string(fixture(t, "chat_completion_object.json"))
	hit := strings.Replace(object, `"cached_tokens": 0`, `"cached_tokens": 1024`, 1)
	if hit == object {
		t.Fatal("chat_completion_object.json has no cached_tokens to vary")
	}
	const content = "The image shows a wooden boardwalk path running through a lush green field or meadow. The sky is bright blue with some scattered clouds, giving the scene a serene and peaceful atmosphere. Trees and shrubs are visible in the background."
	tests := []struct {
		name string
		body string
		want provider.Usage
	}{
		{"spec object, nothing cached", object, provider.Usage{InputTokens: 1117, OutputTokens: 46}},
		{"cache hit", hit, provider.Usage{InputTokens: 1117, CachedInputTokens: 1024, OutputTokens: 46}},
		{"whole prompt cached", strings.Replace(object, `"cached_tokens": 0`, `"cached_tokens": 1117`, 1), provider.Usage{InputTokens: 1117, CachedInputTokens: 1117, OutputTokens: 46}},
		// Compatible servers: a count OpenAI cannot give is dropped.
		{"more cached than prompt", strings.Replace(object, `"cached_tokens": 0`, `"cached_tokens": 5000`, 1), provider.Usage{InputTokens: 1117, OutputTokens: 46}},
		{"negative cached", strings.Replace(object, `"cached_tokens": 0`, `"cached_tokens": -3`, 1), provider.Usage{InputTokens: 1117, OutputTokens: 46}},
		{"null details", strings.Replace(object, `"prompt_tokens_details": {`, `"prompt_tokens_details": null, "x": {`, 1), provider.Usage{InputTokens: 1117, OutputTokens: 46}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, replyJSON(http.StatusOK, []byte(tt.body), nil))
			got, err := newPlugin(t, fv).Chat(context.Background(), helloRequest())
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			want := &provider.ChatResponse{ID: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", Model: "gpt-4o-2024-08-06",
				Content: content, FinishReason: provider.FinishStop, Usage: tt.want}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Chat =\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

func TestOrganizationAndProjectHeaders(t *testing.T) {
	fv := newFakeVendor(t, replyJSON(http.StatusOK, fixture(t, "chat_completion.json"), nil))
	p := &Plugin{}
	err := p.Configure(context.Background(), provider.Config{
		APIKey: testKey, BaseURL: fv.srv.URL,
		Options: map[string]string{"organization": "org-123", "project": "proj_456"},
	})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if _, err := p.Chat(context.Background(), helloRequest()); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	got := fv.only(t)
	if got.Path != "/chat/completions" {
		t.Errorf("path = %s", got.Path)
	}
	if o, pr := got.Header.Get("OpenAI-Organization"), got.Header.Get("OpenAI-Project"); o != "org-123" || pr != "proj_456" {
		t.Errorf("headers = %q, %q", o, pr)
	}
}

// BenchmarkDecodeChatResponse is the plugin's own JSON work on every
// answer: reading and decoding the vendor's body once.
func BenchmarkDecodeChatResponse(b *testing.B) {
	body, err := os.ReadFile("testdata/chat_completion.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp := &http.Response{Body: io.NopCloser(bytes.NewReader(body))}
		var cr chatResponse
		if err := decodeJSON(context.Background(), "x", resp, &cr); err != nil {
			b.Fatal(err)
		}
	}
}
