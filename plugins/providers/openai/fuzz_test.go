package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// FuzzStreamParser feeds arbitrary bytes as the SSE body of a chat stream.
// Whatever arrives, the parser must return (the body is finite), must not
// panic, and must keep the stream contract: on success exactly one usage
// chunk, sent last; on failure a *provider.Error with Partial usage and no
// usage chunk.
func FuzzStreamParser(f *testing.F) {
	spec := fixture(f, "chat_completion_stream.sse")
	f.Add(spec)
	f.Add(withoutUsageChunk(spec))
	f.Add(spec[:len(spec)/2])
	f.Add(bytes.ReplaceAll(spec, []byte("\n"), []byte("\r\n")))
	f.Add([]byte("data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":null}}\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\ndata: [DONE]"))
	f.Add([]byte("event: ping\ndata\n:comment\n\n\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"y\"}}],\"usage\":{\"prompt_tokens\":-1}}\n\n"))
	f.Add([]byte{0xff, 0xfe, '\n', '\n'})
	f.Add([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2048,\"completion_tokens\":2,\"prompt_tokens_details\":{\"cached_tokens\":1920}}}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":9}}}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var chunks []provider.ChatChunk
		st := newStreamer(helloRequest(), collect(&chunks))
		err := st.run(context.Background(), bytes.NewReader(body))
		usageChunks := 0
		for i, c := range chunks {
			if c.Usage != nil {
				usageChunks++
				if i != len(chunks)-1 {
					t.Fatalf("usage chunk %d is not last of %d", i, len(chunks))
				}
				// Cached tokens are a part of the prompt, whatever the
				// server claimed.
				if u := c.Usage; u.CachedInputTokens < 0 || u.CachedInputTokens > max(u.InputTokens, 0) || u.CacheWriteTokens != 0 {
					t.Fatalf("usage %+v: cache counts are not a part of the input", *u)
				}
			}
		}
		if err == nil {
			if usageChunks != 1 {
				t.Fatalf("success with %d usage chunks", usageChunks)
			}
			return
		}
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Fatalf("err = %T %v, want *provider.Error", err, err)
		}
		if pe.Partial == nil {
			t.Fatalf("failure without Partial usage: %v", err)
		}
		if usageChunks != 0 {
			t.Fatalf("failure after a usage chunk: %v", err)
		}
	})
}
