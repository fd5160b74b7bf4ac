package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// testKey is distinctive so that a leak into any message is easy to find.
const testKey = "sk-test-Zq8r0neFl0wS3cretK3y"

// recorded is what the fake vendor saw of one request.
type recorded struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fakeVendor is an httptest server on loopback standing in for OpenAI. It
// records every request and answers with reply.
type fakeVendor struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []recorded
}

func newFakeVendor(t *testing.T, reply http.HandlerFunc) *fakeVendor {
	t.Helper()
	fv := &fakeVendor{}
	fv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fv.mu.Lock()
		fv.reqs = append(fv.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		fv.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(fv.srv.Close)
	return fv
}

// only returns the one request the vendor received.
func (fv *fakeVendor) only(t *testing.T) recorded {
	t.Helper()
	fv.mu.Lock()
	defer fv.mu.Unlock()
	if len(fv.reqs) != 1 {
		t.Fatalf("vendor received %d requests, want 1", len(fv.reqs))
	}
	return fv.reqs[0]
}

func (fv *fakeVendor) count() int {
	fv.mu.Lock()
	defer fv.mu.Unlock()
	return len(fv.reqs)
}

// newPlugin returns a plugin configured against fv, with a base URL that
// has a path and a trailing slash, as compatible servers are often given.
func newPlugin(t *testing.T, fv *fakeVendor) *Plugin {
	t.Helper()
	p := &Plugin{}
	err := p.Configure(context.Background(), provider.Config{
		APIKey:         testKey,
		BaseURL:        fv.srv.URL + "/v1/",
		ConnectTimeout: 2 * time.Second,
		ReadTimeout:    10 * time.Second,
	})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// replyJSON answers with a recorded body.
func replyJSON(status int, body []byte, header map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// replySSE streams body event by event, flushing after each, as OpenAI does.
func replySSE(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for _, ev := range splitEvents(body) {
			_, _ = w.Write(ev)
			_ = rc.Flush()
		}
	}
}

// splitEvents cuts an SSE body after each blank line, keeping every byte.
func splitEvents(body []byte) [][]byte {
	var out [][]byte
	s := string(body)
	for s != "" {
		i := strings.Index(s, "\n\n")
		if i < 0 {
			out = append(out, []byte(s))
			break
		}
		out = append(out, []byte(s[:i+2]))
		s = s[i+2:]
	}
	return out
}

// checkRequest asserts the method, path, headers and the exact JSON body of
// a request the vendor received.
func checkRequest(t *testing.T, got recorded, path, accept string, wantBody string) {
	t.Helper()
	if got.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.Method)
	}
	if got.Path != path {
		t.Errorf("path = %s, want %s", got.Path, path)
	}
	if h := got.Header.Get("Authorization"); h != "Bearer "+testKey {
		t.Errorf("Authorization = %q, want the bearer key", h)
	}
	if h := got.Header.Get("Content-Type"); h != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", h)
	}
	if accept != "" {
		if h := got.Header.Get("Accept"); h != accept {
			t.Errorf("Accept = %q, want %q", h, accept)
		}
	}
	var gotBody, want any
	if err := json.Unmarshal(got.Body, &gotBody); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, got.Body)
	}
	if err := json.Unmarshal([]byte(wantBody), &want); err != nil {
		t.Fatalf("bad wantBody: %v", err)
	}
	if !reflect.DeepEqual(gotBody, want) {
		t.Errorf("request body\n got: %s\nwant: %s", got.Body, wantBody)
	}
}

// asProviderError asserts err is a *provider.Error of kind and that it
// names no credential. Every test that expects an error goes through it.
func asProviderError(t *testing.T, err error, kind provider.Kind) *provider.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want kind %s", kind)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %T %v, want *provider.Error", err, err)
	}
	if pe.Kind != kind {
		t.Errorf("kind = %s, want %s (err: %v)", pe.Kind, kind, err)
	}
	assertNoKey(t, err.Error())
	return pe
}

func assertNoKey(t *testing.T, s string) {
	t.Helper()
	// The secret part alone, so a partly masked echo is caught too.
	for _, frag := range []string{testKey, "Zq8r0neFl0wS3cretK3y", "S3cretK3y"} {
		if strings.Contains(s, frag) {
			t.Errorf("message leaks the API key: %q", s)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// helloRequest is the conversation of the spec's chat examples.
func helloRequest() *provider.ChatRequest {
	return &provider.ChatRequest{
		Model: "gpt-4o-mini",
		Messages: []provider.Message{
			provider.TextMessage(provider.RoleSystem, "You are a helpful assistant."),
			provider.TextMessage(provider.RoleUser, "Hello!"),
		},
	}
}

// helloPromptTokens is the estimate for helloRequest: 28+6 characters.
const helloPromptTokens = 9

// collect returns a send func that records chunks.
func collect(chunks *[]provider.ChatChunk) func(*provider.ChatChunk) error {
	return func(c *provider.ChatChunk) error {
		cp := *c
		if c.Usage != nil {
			u := *c.Usage
			cp.Usage = &u
		}
		*chunks = append(*chunks, cp)
		return nil
	}
}

// waitClosed fails the test if ch is not closed within a few seconds.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Errorf("%s: not observed", what)
	}
}
