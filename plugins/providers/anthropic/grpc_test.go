package main

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// TestOverGRPC runs the plugin behind the sdk's real gRPC path, as the core
// sees it: chunks, usage, error kinds, retry hints and partial usage must
// all survive the process boundary.
func TestOverGRPC(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(readTestdata(t, "stream_basic.sse"))
	})
	limited := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("retry-after", "12")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write(readTestdata(t, "errors/429.json"))
	})
	dropped := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(streamPrefix(t))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})

	connect := func(t *testing.T, baseURL string) provider.Client {
		c := plugintest.Provider(t, &Plugin{})
		if err := c.Configure(context.Background(), provider.Config{APIKey: testKey, BaseURL: baseURL}); err != nil {
			t.Fatalf("Configure over gRPC: %v", err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("stream", func(t *testing.T) {
		var got []provider.ChatChunk
		if err := connect(t, srv.URL).ChatStream(ctx, textRequest(user("Hello")), collect(&got)); err != nil {
			t.Fatalf("ChatStream: %v", err)
		}
		if want := docChunks(); !reflect.DeepEqual(got, want) {
			t.Errorf("chunks\n got %s\nwant %s", fmtChunks(got), fmtChunks(want))
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		_, err := connect(t, limited.URL).Chat(ctx, textRequest(user("Hello")))
		pe := asProviderError(t, err)
		if pe.Kind != provider.KindRateLimited || pe.RetryAfter != 12*time.Second || pe.Status != 429 {
			t.Errorf("got %+v, want rate_limited, retry after 12s, status 429", pe)
		}
		assertNoKey(t, err)
	})
	t.Run("dropped stream", func(t *testing.T) {
		err := connect(t, dropped.URL).ChatStream(ctx, textRequest(user("Hello")), func(*provider.ChatChunk) error { return nil })
		pe := asProviderError(t, err)
		want := provider.Usage{InputTokens: 25, OutputTokens: 3, Estimated: true}
		if pe.Kind != provider.KindUnavailable || pe.Partial == nil || *pe.Partial != want {
			t.Errorf("got %+v (partial %+v), want unavailable with partial %+v", pe, pe.Partial, want)
		}
	})
	t.Run("host cancel reaches the vendor", func(t *testing.T) {
		observed := make(chan struct{})
		slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
			defer close(observed)
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(streamPrefix(t))
			w.(http.Flusher).Flush()
			waitForCancel(w, r)
		})
		cctx, ccancel := context.WithCancel(ctx)
		defer ccancel()
		err := connect(t, slow.URL).ChatStream(cctx, textRequest(user("Hello")), func(*provider.ChatChunk) error {
			ccancel()
			return nil
		})
		if k := provider.KindOf(err); k != provider.KindCanceled {
			t.Errorf("ChatStream error %v: kind %s, want canceled", err, k)
		}
		select {
		case <-observed:
		case <-time.After(5 * time.Second):
			t.Fatal("the fake vendor never saw the host's cancellation")
		}
	})
	t.Run("unconfigured", func(t *testing.T) {
		_, err := connect(t, "").Describe(ctx)
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		c := plugintest.Provider(t, &Plugin{})
		if err := c.Configure(ctx, provider.Config{}); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		if _, err := c.Chat(ctx, textRequest(user("Hello"))); provider.KindOf(err) != provider.KindUnconfigured {
			t.Errorf("Chat error %v, want unconfigured", err)
		}
	})
}
