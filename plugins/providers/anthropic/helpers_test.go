package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// testKey is the fake credential; tests check it never shows in an error.
const testKey = "sk-ant-api03-TESTKEY-do-not-leak-0123456789"

// readTestdata returns a recorded vendor body; testdata/README.md cites
// the source of each.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readTestdataFile(name)
	if err != nil {
		t.Fatalf("reading testdata: %v", err)
	}
	return b
}

func readTestdataFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

// newPlugin returns a plugin configured against baseURL.
func newPlugin(t *testing.T, baseURL string, opts map[string]string) *Plugin {
	t.Helper()
	p := &Plugin{}
	if err := p.Configure(context.Background(), provider.Config{APIKey: testKey, BaseURL: baseURL, Options: opts}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

// serve starts a fake Anthropic on loopback.
func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// checkHeaders reports, from a handler goroutine, any difference from the
// headers Anthropic requires.
func checkHeaders(t *testing.T, r *http.Request, path, accept string) {
	t.Helper()
	if r.Method != http.MethodPost || r.URL.Path != path {
		t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, path)
	}
	want := map[string]string{
		"X-Api-Key":         testKey,
		"Anthropic-Version": "2023-06-01",
		"Content-Type":      "application/json",
		"Accept":            accept,
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if r.Header.Get("Authorization") != "" {
		t.Errorf("Authorization header sent; Anthropic takes the key in x-api-key only")
	}
}

// decodeBody decodes a request body for comparison.
func decodeBody(t *testing.T, r *http.Request) any {
	t.Helper()
	var v any
	if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
		t.Errorf("decoding request body: %v", err)
	}
	return v
}

// jsonEqual reports whether got equals the JSON text want.
func jsonEqual(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	return reflect.DeepEqual(got, w)
}

// asProviderError returns err's *provider.Error or fails the test.
func asProviderError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	return pe
}

// assertNoKey fails if the API key appears anywhere in err.
func assertNoKey(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the API key: %q", err.Error())
	}
	var pe *provider.Error
	if errors.As(err, &pe) && strings.Contains(pe.Message, testKey) {
		t.Errorf("error message leaks the API key: %q", pe.Message)
	}
}

func textRequest(msgs ...provider.Message) *provider.ChatRequest {
	return &provider.ChatRequest{Model: "claude-3-5-sonnet-20241022", Messages: msgs}
}

func user(s string) provider.Message { return provider.TextMessage(provider.RoleUser, s) }

// collect returns a send func that records chunks.
func collect(chunks *[]provider.ChatChunk) func(*provider.ChatChunk) error {
	return func(c *provider.ChatChunk) error {
		*chunks = append(*chunks, *c)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func readAll(r *http.Request) []byte {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	return buf.Bytes()
}

func fmtChunks(cs []provider.ChatChunk) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "\n  {ID:%s Model:%s Role:%s Delta:%q Finish:%s", c.ID, c.Model, c.Role, c.Delta, c.FinishReason)
		if c.Usage != nil {
			fmt.Fprintf(&b, " Usage:%+v", *c.Usage)
		}
		b.WriteString("}")
	}
	return b.String()
}
