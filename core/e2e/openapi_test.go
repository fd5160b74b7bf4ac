package e2e

import (
	"encoding/json"
	"testing"

	"github.com/oneflow-ai/oneflow/core/internal/apidocs"
	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// TestResponsesMatchOpenAPI sends real requests to a running core and
// validates every request and response against the OpenAPI document it
// serves, successes and errors alike.
func TestResponsesMatchOpenAPI(t *testing.T) {
	docs, err := apidocs.New()
	if err != nil {
		t.Fatal(err)
	}
	v := docs.Validator()
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	p, keys := setupProject(t, c, "openapi", "50")
	stream := chatBody("gpt-4o-mini")
	stream["stream"] = true
	stream["stream_options"] = map[string]any{"include_usage": true}
	cases := []struct {
		name, key, method, path string
		body                    any
	}{
		{"health", "", "GET", "/health", nil},
		{"ready", "", "GET", "/ready", nil},
		{"models", keys["member"], "GET", "/v1/models", nil},
		{"chat", keys["member"], "POST", "/v1/chat/completions", chatBody("gpt-4o-mini")},
		{"chat stream", keys["member"], "POST", "/v1/chat/completions", stream},
		{"chat unknown model", keys["member"], "POST", "/v1/chat/completions", chatBody("nope")},
		{"chat bad request", keys["member"], "POST", "/v1/chat/completions", map[string]any{"model": "gpt-4o-mini"}},
		{"chat no key", "", "POST", "/v1/chat/completions", chatBody("gpt-4o-mini")},
		{"embeddings", keys["member"], "POST", "/v1/embeddings", map[string]any{"model": "nope", "input": "x"}},
		{"estimate", keys["member"], "POST", "/api/v1/estimate", map[string]any{"model": "gpt-4o-mini", "input_tokens": 1500, "output_tokens": 500}},
		{"request", keys["member"], "POST", "/api/v1/request", map[string]any{"prompt": "hi", "strategy": "cost"}},
		{"usage", keys["viewer"], "GET", "/api/v1/usage?group_by=model", nil},
		{"usage summary", keys["viewer"], "GET", "/api/v1/usage/summary", nil},
		{"plugins", keys["member"], "GET", "/api/v1/plugins", nil},
		{"providers", keys["member"], "GET", "/api/v1/providers", nil},
		{"forbidden", keys["viewer"], "POST", "/v1/chat/completions", chatBody("gpt-4o-mini")},
		{"project", keys["admin"], "GET", "/api/v1/admin/projects/" + p.ID, nil},
		{"projects", keys["admin"], "GET", "/api/v1/admin/projects", nil},
		{"top-up", keys["admin"], "POST", "/api/v1/admin/projects/" + p.ID + "/credits", map[string]any{"credits": "1.5"}},
		{"keys", keys["admin"], "GET", "/api/v1/admin/keys?project_id=" + p.ID, nil},
		{"create key", keys["admin"], "POST", "/api/v1/admin/keys", map[string]any{"project_id": p.ID, "name": "x", "role": "viewer"}},
		{"users", keys["admin"], "GET", "/api/v1/admin/users", nil},
		{"create user", keys["admin"], "POST", "/api/v1/admin/users", map[string]any{"email": "openapi@example.com", "name": "O"}},
		{"reload", keys["admin"], "POST", "/api/v1/admin/reload", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var reqBody []byte
			if tc.body != nil {
				reqBody, _ = json.Marshal(tc.body)
			}
			resp, b := c.doAs(tc.key, tc.method, tc.path, tc.body)
			if tc.body != nil && resp.StatusCode < 400 {
				if err := v.ValidateRequest(tc.method, tc.path, resp.Request.Header, reqBody); err != nil {
					t.Errorf("request does not match the document: %v", err)
				}
			}
			if err := v.ValidateResponse(tc.method, tc.path, resp.StatusCode, resp.Header, b); err != nil {
				t.Errorf("%d response does not match the document: %v\n%s", resp.StatusCode, err, b)
			}
		})
	}
}
