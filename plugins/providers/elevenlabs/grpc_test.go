package main

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// TestOverGRPC runs the plugin through the sdk's real gRPC path, as the
// core sees it: configuration, capabilities, audio and usage, and an
// error whose kind and status must survive the process boundary.
func TestOverGRPC(t *testing.T) {
	audio := fakeMP3(2)
	body422 := readTestdata(t, "error_422_validation.json")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("output_format") == "pcm_44100" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write(body422)
			return
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Header().Set("Character-Cost", "11")
		_, _ = w.Write(audio)
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
	hasSpeech := false
	for _, cp := range info.Capabilities {
		hasSpeech = hasSpeech || cp == provider.CapSpeech
	}
	if info.Name != "elevenlabs" || !hasSpeech {
		t.Errorf("info = %+v, want the speech capability", info)
	}
	resp, err := c.Speech(ctx, &provider.SpeechRequest{Input: "Hello world"})
	if err != nil {
		t.Fatalf("Speech: %v", err)
	}
	if !bytes.Equal(resp.Audio, audio) || resp.MIMEType != "audio/mpeg" || resp.Usage.Characters != 11 || resp.Usage.Estimated {
		t.Errorf("response = %d bytes, %q, usage %+v", len(resp.Audio), resp.MIMEType, resp.Usage)
	}
	_, err = c.Speech(ctx, &provider.SpeechRequest{Input: "Hello", Format: "pcm"})
	pe := asProviderError(t, err, provider.KindInvalidRequest)
	if pe.Status != http.StatusUnprocessableEntity {
		t.Errorf("error = %+v", pe)
	}
}
