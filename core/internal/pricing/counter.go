package pricing

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// Chat overhead from OpenAI's cookbook, "How to count tokens with tiktoken"
// (https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb):
// every message is wrapped as <|start|>{role/name}\n{content}<|end|>\n, and
// every reply is primed with <|start|>assistant<|message|>.
const (
	tokensPerMessage = 3
	tokensPerName    = 1
	tokensReplyPrime = 3
)

// charsPerToken is OpenAI's rule of thumb for English text, used for
// vendors whose tokenizer the core does not have (see doc.go).
const charsPerToken = 4

// Counter counts tokens with tiktoken's encodings (our own byte-pair
// encoder, see bpe.go, which counts exactly as tiktoken-go does), loading
// each encoding lazily the first time it is needed (a load parses a rank
// file of up to 3.6 MB) and reusing it afterwards. It is safe for
// concurrent use.
//
// Each Counter has its own tables, so when a config reload replaces the
// Counter the old generation's tables are freed with it.
type Counter struct {
	mu   sync.Mutex
	encs map[string]*lazyEncoding
}

// lazyEncoding is one encoding, loaded at most once. Each has its own Once
// so loading o200k_base does not hold up callers of cl100k_base.
type lazyEncoding struct {
	once sync.Once
	enc  *bpeEncoding
	err  error
}

// NewCounter returns a Counter that never touches the network.
func NewCounter() *Counter {
	return &Counter{encs: make(map[string]*lazyEncoding)}
}

// Preload loads the named encodings now, so a typo in a config's tokenizer
// is reported at startup and the first request does not pay for the load.
func (c *Counter) Preload(names ...string) error {
	for _, name := range names {
		if name == "" {
			continue
		}
		if _, err := c.encoding(name); err != nil {
			return err
		}
	}
	return nil
}

func (c *Counter) encoding(name string) (*bpeEncoding, error) {
	c.mu.Lock()
	e, ok := c.encs[name]
	if !ok {
		e = &lazyEncoding{}
		c.encs[name] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.enc, e.err = loadBPE(name)
		if e.err != nil {
			e.err = fmt.Errorf("load tokenizer encoding %q: %w", name, e.err)
		}
	})
	// Once.Do returning is what publishes enc (and the tables behind it)
	// to callers that did not run the load.
	return e.enc, e.err
}

// CountText returns the number of tokens in text under the named
// encoding. For encoding "" or one that cannot be loaded (Preload reports
// that) it returns the ceil(runes / 4) approximation.
func (c *Counter) CountText(encoding, text string) int64 {
	return countWith(c.resolve(encoding), text)
}

// CountMessages estimates the prompt tokens of a chat: each message's
// role, text, name and tool calls (function name and arguments), plus
// OpenAI's chat overhead (see doc.go). Image parts are not counted;
// vendors bill them separately and settlement uses the vendor's own
// figures.
func (c *Counter) CountMessages(encoding string, msgs []provider.Message) int64 {
	enc := c.resolve(encoding) // once per request, not per string
	n := int64(tokensReplyPrime)
	for _, m := range msgs {
		n += tokensPerMessage
		n += countWith(enc, string(m.Role))
		n += countWith(enc, m.Text())
		if m.Name != "" {
			n += countWith(enc, m.Name) + tokensPerName
		}
		for _, tc := range m.ToolCalls {
			n += countWith(enc, tc.Name) + countWith(enc, tc.Arguments)
		}
	}
	return n
}

// resolve returns the named encoding, or nil for "" or one that cannot
// be loaded (counted by approximation).
func (c *Counter) resolve(encoding string) *bpeEncoding {
	if encoding == "" {
		return nil
	}
	enc, err := c.encoding(encoding)
	if err != nil {
		return nil
	}
	return enc
}

// countWith counts text with enc, or approximates it when enc is nil.
// Special-token text such as "<|endoftext|>" in a user's prompt counts as
// plain text, as the API treats it (tiktoken's encode_ordinary).
func countWith(enc *bpeEncoding, text string) int64 {
	if enc == nil || text == "" {
		return approxTokens(text)
	}
	return int64(enc.count(text))
}

// approxTokens is ceil(runes / 4).
func approxTokens(s string) int64 {
	r := int64(utf8.RuneCountInString(s))
	return (r + charsPerToken - 1) / charsPerToken
}
