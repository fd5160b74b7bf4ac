package fakeupstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Faults are the misbehaviours to inject; rates are probabilities 0–1.
type Faults struct {
	Latency    time.Duration // added before answering
	ErrorRate  float64       // answer 500
	HangRate   float64       // never answer (until the client gives up)
	ResetRate  float64       // drop the connection without answering
	Burst429   int           // answer the next N requests with 429
	RetryAfter int           // seconds in Retry-After of a 429
	// StreamChunks is how many content chunks a stream sends (default 5);
	// ChunkGap is the pause between them.
	StreamChunks int
	ChunkGap     time.Duration
	// DropAfterChunks drops a stream's connection after that many chunks
	// (0: never).
	DropAfterChunks int
}

// Server is the fake upstream.
type Server struct {
	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	// Model answers in responses; empty echoes the request's model.
	Model string
	// CachedTokens is how many of each chat prompt's tokens the answer
	// says were read from the prompt cache (at most all of them), as
	// usage.prompt_tokens_details.cached_tokens. Set it before serving.
	CachedTokens int

	Requests  atomic.Int64
	Canceled  atomic.Int64
	Completed atomic.Int64

	// recording and seen hold the requests kept while recording is on
	// (guarded by mu).
	recording bool
	seen      []Seen
}

// Seen is one request the server received while recording.
type Seen struct {
	At     time.Time
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// maxRecordedBody caps how much of a request body is kept; the handler
// still reads the whole body.
const maxRecordedBody = 1 << 20

// SetRecording turns recording of requests (arrival time, method, path,
// headers, body) on or off. It is off by default, because benchmarks send
// millions of requests; tests that check what reached the vendor (headers
// forwarded, bodies, the gap between retries) turn it on.
func (s *Server) SetRecording(on bool) {
	s.mu.Lock()
	s.recording = on
	s.mu.Unlock()
}

// Seen returns a copy of the requests recorded so far, oldest first.
func (s *Server) Seen() []Seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Seen(nil), s.seen...)
}

// readBody reads the whole request body up front and leaves r.Body
// readable again, keeping a copy if recording is on. Reading first matters
// beyond recording: net/http only notices that a client went away (and
// cancels r.Context()) once the handler has consumed the body, so a hang
// or a latency wait that left the body unread would never observe the
// cancellation it exists to count.
func (s *Server) readBody(r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.recording {
		return
	}
	kept := bytes.Clone(body[:min(len(body), maxRecordedBody)])
	s.seen = append(s.seen, Seen{At: at, Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: kept})
}

// New returns a server with the given faults and a seeded random source,
// so a test's fault pattern is repeatable.
func New(f Faults, seed uint64) *Server {
	return &Server{faults: f, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// SetFaults changes the faults at run time.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

type decision int

const (
	answer decision = iota
	fail500
	fail429
	hang
	reset
)

func (s *Server) decide() (Faults, decision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	if s.faults.Burst429 > 0 {
		s.faults.Burst429--
		return f, fail429
	}
	r := s.rng.Float64()
	switch {
	case r < f.ResetRate:
		return f, reset
	case r < f.ResetRate+f.HangRate:
		return f, hang
	case r < f.ResetRate+f.HangRate+f.ErrorRate:
		return f, fail500
	}
	return f, answer
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	s.readBody(r)
	f, d := s.decide()
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			s.Canceled.Add(1)
			return
		}
	}
	switch d {
	case fail429:
		w.Header().Set("Retry-After", strconv.Itoa(max(f.RetryAfter, 0)))
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit reached for requests")
		return
	case fail500:
		writeError(w, http.StatusInternalServerError, "server_error", "The server had an error while processing your request.")
		return
	case hang:
		<-r.Context().Done()
		s.Canceled.Add(1)
		return
	case reset:
		resetConn(w)
		return
	}
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		s.chat(w, r, f)
	case strings.HasSuffix(path, "/embeddings"):
		s.embeddings(w, r)
	default:
		writeError(w, http.StatusNotFound, "not_found", "unknown path "+path)
	}
}

func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"server_error","param":null,"code":%q}}`, msg, code)
}

type chatReq struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
}

// usageJSON is a chat's CompletionUsage as OpenAI sends it, with the
// prompt_tokens_details breakdown.
func (s *Server) usageJSON(promptTokens, completionTokens int) string {
	cached := min(max(s.CachedTokens, 0), promptTokens)
	return fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`,
		promptTokens, completionTokens, promptTokens+completionTokens, cached)
}

// The answer every chat gets: five words, counted as five tokens.
var words = []string{"Hello", " from", " the", " fake", " upstream"}

// toolArgs are the arguments of every tool call the fake makes.
const toolArgs = `{"city":"Paris"}`

// callTool answers a request with tools by calling the first one, as
// ChatCompletionMessageToolCall (and, streamed, as one chunk with the id
// and name and two argument fragments) in openai-openapi.yaml.
func (s *Server) callTool(w http.ResponseWriter, req chatReq, model string, promptTokens int) {
	name := req.Tools[0].Function.Name
	const outTokens = 7
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_fake","type":"function","function":{"name":%q,"arguments":%q}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],"usage":%s}`,
			model, name, toolArgs, s.usageJSON(promptTokens, outTokens))
		s.Completed.Add(1)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	const head = `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%q,"choices":[%s]}` + "\n\n"
	fmt.Fprintf(w, head, model, fmt.Sprintf(`{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_fake","type":"function","function":{"name":%q,"arguments":""}}]},"finish_reason":null}`, name))
	half := len(toolArgs) / 2
	for _, frag := range []string{toolArgs[:half], toolArgs[half:]} {
		fmt.Fprintf(w, head, model, fmt.Sprintf(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":%q}}]},"finish_reason":null}`, frag))
	}
	fmt.Fprintf(w, head, model, `{"index":0,"delta":{},"finish_reason":"tool_calls"}`)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		fmt.Fprintf(w, `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%q,"choices":[],"usage":%s}`+"\n\n",
			model, s.usageJSON(promptTokens, outTokens))
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	s.Completed.Add(1)
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request, f Faults) {
	var req chatReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "invalid JSON body")
		return
	}
	model := req.Model
	if s.Model != "" {
		model = s.Model
	}
	// Prompt tokens: one per 4 bytes of message content, at least 1.
	in := 0
	for _, m := range req.Messages {
		in += len(m.Content)
	}
	promptTokens := max(1, in/4)
	n := f.StreamChunks
	if n <= 0 {
		n = len(words)
	}
	if len(req.Tools) > 0 {
		s.callTool(w, req, model, promptTokens)
		return
	}
	if !req.Stream {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(words[i%len(words)])
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":%s}`,
			model, b.String(), s.usageJSON(promptTokens, n))
		s.Completed.Add(1)
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	const head = `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%q,"system_fingerprint":"fp_fake","choices":[%s]}` + "\n\n"
	fmt.Fprintf(w, head, model, `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`)
	for i := 0; i < n; i++ {
		if f.DropAfterChunks > 0 && i == f.DropAfterChunks {
			if fl != nil {
				fl.Flush()
			}
			resetConn(w)
			return
		}
		if fl != nil {
			fl.Flush()
		}
		if f.ChunkGap > 0 {
			select {
			case <-time.After(f.ChunkGap):
			case <-r.Context().Done():
				s.Canceled.Add(1)
				return
			}
		}
		fmt.Fprintf(w, head, model, fmt.Sprintf(`{"index":0,"delta":{"content":%q},"logprobs":null,"finish_reason":null}`, words[i%len(words)]))
	}
	fmt.Fprintf(w, head, model, `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}`)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		fmt.Fprintf(w, `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%q,"system_fingerprint":"fp_fake","choices":[],"usage":%s}`+"\n\n",
			model, s.usageJSON(promptTokens, n))
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
	s.Completed.Add(1)
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "invalid JSON body")
		return
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_input", "input must be a string or an array of strings")
			return
		}
		inputs = []string{one}
	}
	w.Header().Set("Content-Type", "application/json")
	var b strings.Builder
	tokens := 0
	for i, in := range inputs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"object":"embedding","index":%d,"embedding":[0.0023064255,-0.009327292,%d.5]}`, i, len(in))
		tokens += max(1, len(in)/4)
	}
	fmt.Fprintf(w, `{"object":"list","data":[%s],"model":%q,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`, b.String(), req.Model, tokens, tokens)
	s.Completed.Add(1)
}
