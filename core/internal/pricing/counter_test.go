package pricing

import (
	"strings"
	"sync"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// cookbookMessages is the example chat from OpenAI's cookbook, "How to
// count tokens with tiktoken"
// (https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb),
// for which the notebook reports the API's own prompt_tokens: 129 for
// gpt-3.5-turbo and gpt-4 (cl100k_base), 124 for gpt-4o and gpt-4o-mini
// (o200k_base).
func cookbookMessages() []provider.Message {
	named := func(name, text string) provider.Message {
		m := provider.TextMessage(provider.RoleSystem, text)
		m.Name = name
		return m
	}
	return []provider.Message{
		provider.TextMessage(provider.RoleSystem, "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
		named("example_user", "New synergies will help drive top-line growth."),
		named("example_assistant", "Things working well together will increase revenue."),
		named("example_user", "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."),
		named("example_assistant", "Let's talk later when we're less busy about how to do better."),
		provider.TextMessage(provider.RoleUser, "This late pivot means we don't have time to boil the ocean for the client deliverable."),
	}
}

func TestCountMessagesCookbook(t *testing.T) {
	c := NewCounter()
	tests := []struct {
		encoding string
		want     int64
	}{
		{"cl100k_base", 129},
		{"o200k_base", 124},
	}
	for _, tt := range tests {
		t.Run(tt.encoding, func(t *testing.T) {
			if got := c.CountMessages(tt.encoding, cookbookMessages()); got != tt.want {
				t.Errorf("CountMessages = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCountText(t *testing.T) {
	c := NewCounter()
	tests := []struct {
		name, encoding, text string
		want                 int64
	}{
		// The cookbook splits this into "t", "ik", "token", " is", " great", "!".
		{"cookbook example", "cl100k_base", "tiktoken is great!", 6},
		{"empty", "cl100k_base", "", 0},
		{"special token text is ordinary text", "cl100k_base", "<|endoftext|>", 7},
		// Approximation: ceil(runes / 4).
		{"approx empty", "", "", 0},
		{"approx one rune", "", "a", 1},
		{"approx four runes", "", "abcd", 1},
		{"approx five runes", "", "abcde", 2},
		{"approx counts runes not bytes", "", "héllo wörld", 3},
		{"unknown encoding falls back", "no_such_encoding", "abcdefgh", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.CountText(tt.encoding, tt.text); got != tt.want {
				t.Errorf("CountText(%q, %q) = %d, want %d", tt.encoding, tt.text, got, tt.want)
			}
		})
	}
}

// A tool call in the history is prompt text: its name and arguments count.
func TestCountMessagesToolCalls(t *testing.T) {
	c := NewCounter()
	plain := []provider.Message{provider.TextMessage(provider.RoleUser, "Weather?")}
	withCall := append(plain, provider.Message{Role: provider.RoleAssistant,
		ToolCalls: []provider.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}})
	// The assistant turn adds 3 (framing) + ceil(9/4)=3 (role) +
	// ceil(11/4)=3 (name) + ceil(15/4)=4 (arguments).
	if got, want := c.CountMessages("", withCall)-c.CountMessages("", plain), int64(13); got != want {
		t.Errorf("an assistant turn with one tool call adds %d tokens, want %d", got, want)
	}
}

func TestCountMessagesApprox(t *testing.T) {
	c := NewCounter()
	msgs := []provider.Message{
		provider.TextMessage(provider.RoleSystem, "Be brief."), // 3 + ceil(6/4)=2 + ceil(9/4)=3 = 8
		{Role: provider.RoleUser, Name: "bob", Content: []provider.ContentPart{ // 3 + 1 + ceil(9/4)=3 + ceil(3/4)=1 + 1 = 9
			{Type: provider.PartText, Text: "Hi "},
			{Type: provider.PartImage, ImageURL: "https://example.com/cat.png"},
			{Type: provider.PartText, Text: "there!"},
		}},
	}
	// 8 + 9 + 3 for reply priming.
	if got := c.CountMessages("", msgs); got != 20 {
		t.Errorf("CountMessages approx = %d, want 20", got)
	}
	if got := c.CountMessages("", nil); got != tokensReplyPrime {
		t.Errorf("CountMessages of no messages = %d, want %d", got, tokensReplyPrime)
	}
}

func TestPreload(t *testing.T) {
	c := NewCounter()
	if err := c.Preload("cl100k_base", ""); err != nil {
		t.Fatalf("Preload: %v", err)
	}
	err := c.Preload("no_such_encoding")
	if err == nil || !strings.Contains(err.Error(), "no_such_encoding") {
		t.Fatalf("Preload of an unknown encoding: err = %v", err)
	}
}

// TestCounterConcurrent loads and uses encodings from many goroutines and
// several Counters at once; run it with -race.
func TestCounterConcurrent(t *testing.T) {
	counters := make([]*Counter, 2)
	var wg sync.WaitGroup
	for i := range counters {
		wg.Go(func() { counters[i] = NewCounter() })
	}
	wg.Wait()
	msgs := cookbookMessages()
	for i := range 16 {
		wg.Go(func() {
			c := counters[i%len(counters)]
			enc := []string{"cl100k_base", "o200k_base"}[i%2]
			want := map[string]int64{"cl100k_base": 129, "o200k_base": 124}[enc]
			if got := c.CountMessages(enc, msgs); got != want {
				t.Errorf("CountMessages(%s) = %d, want %d", enc, got, want)
			}
		})
	}
	wg.Wait()
}

// BenchmarkCountMessages counts a 1 KB prompt with a warm encoding.
func BenchmarkCountMessages(b *testing.B) {
	c := NewCounter()
	para := "OneFlow routes each request to the model that fits it best, with exact billing in credits. "
	text := strings.Repeat(para, 1024/len(para)+1)[:1024]
	msgs := []provider.Message{
		provider.TextMessage(provider.RoleSystem, "You are a helpful assistant."),
		provider.TextMessage(provider.RoleUser, text),
	}
	for _, enc := range []string{"cl100k_base", "o200k_base", ""} {
		name := enc
		if name == "" {
			name = "approx"
		}
		b.Run(name, func(b *testing.B) {
			c.CountMessages(enc, msgs) // load outside the timed loop
			b.ReportAllocs()
			for b.Loop() {
				c.CountMessages(enc, msgs)
			}
		})
	}
}
