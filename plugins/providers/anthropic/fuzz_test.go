package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// FuzzStreamParser feeds arbitrary bytes to the stream relay as if
// Anthropic had sent them. It must not panic, must end, and must keep the
// stream contract: on success exactly one chunk, the last, carries usage;
// on failure no chunk does and the error is a *provider.Error.
func FuzzStreamParser(f *testing.F) {
	for _, name := range []string{"stream_basic.sse", "stream_error.sse"} {
		b, err := readTestdataFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.TrimRight(b, "\n"))
	}
	f.Add([]byte(""))
	f.Add([]byte("event: message_stop\ndata: {}\n\n"))
	f.Add([]byte("data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":-3}}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"\xff\xfe\"}}\n\ndata: not json\n\n"))
	f.Add([]byte(":comment\n\nevent: error\n\n\r\n"))
	f.Add([]byte("data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":3,\"cache_creation_input_tokens\":-9,\"cache_read_input_tokens\":2051}}}\n\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"cache_read_input_tokens\":7,\"output_tokens\":2}}\n\n"))

	f.Fuzz(func(t *testing.T, body []byte) {
		var chunks []provider.ChatChunk
		err := relayStream(context.Background(), bytes.NewReader(body), collect(&chunks), "fuzz", func(s string) string { return s })
		withUsage := 0
		for _, c := range chunks {
			if c.Usage != nil {
				withUsage++
				if u := c.Usage; u.CachedInputTokens < 0 || u.CacheWriteTokens < 0 {
					t.Fatalf("usage %+v has a negative cache count", *u)
				}
			}
		}
		if err == nil {
			if len(chunks) == 0 || chunks[len(chunks)-1].Usage == nil || withUsage != 1 {
				t.Fatalf("success without exactly one final usage chunk: %s", fmtChunks(chunks))
			}
			return
		}
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
		}
		if withUsage != 0 {
			t.Fatalf("failed stream sent a usage chunk: %s", fmtChunks(chunks))
		}
		if p := pe.Partial; p != nil && (p.CachedInputTokens < 0 || p.CacheWriteTokens < 0) {
			t.Fatalf("partial usage %+v has a negative cache count", *p)
		}
		if p := pe.Partial; p != nil && p.Estimated && p.OutputTokens <= 0 {
			t.Fatalf("estimated partial usage %+v counts nothing", *p)
		}
	})
}
