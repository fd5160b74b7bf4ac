package apidocs

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const jsonCT = "application/json; charset=utf-8"

// hdr builds response headers with the X-Request-ID every response has.
func hdr(contentType string, kv ...string) http.Header {
	h := http.Header{"X-Request-Id": {"4f1c2a"}}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

const (
	goodChat = `{"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"gpt-4o-mini",
		"choices":[{"index":0,"message":{"role":"assistant","content":"Hi."},"finish_reason":"stop","logprobs":null}],
		"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"credits":"0.0033"}}`
	goodStream = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null,\"logprobs\":null}]}\n\n" +
		"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\",\"logprobs\":null}]}\n\n" +
		": keep-alive\n\n" +
		"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4,\"prompt_tokens_details\":{\"cached_tokens\":2,\"cache_write_tokens\":0},\"credits\":\"0.01\"}}\n\n" +
		"data: [DONE]\n\n"
	errorBody = `{"error":{"message":"the project's balance cannot cover the request","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`
)

func TestValidateResponse(t *testing.T) {
	v := newDocs(t).Validator()
	tests := []struct {
		name    string
		method  string
		target  string
		status  int
		header  http.Header
		body    string
		wantErr string // "" for valid; else a substring of the error
	}{
		// Valid answers, shaped as the server writes them.
		{"health", "GET", "/health", 200, hdr(jsonCT), `{"status":"ok"}`, ""},
		{"ready", "GET", "/ready", 200, hdr(jsonCT), `{"status":"ready","generation":3,"components":{"openai":"serving"}}`, ""},
		{"not ready", "GET", "/ready", 503, hdr(jsonCT), `{"status":"not_ready","generation":3,"components":{"openai":"down"}}`, ""},
		{"metrics", "GET", "/metrics", 200, http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8"}}, "# HELP x y\nx 1\n", ""},
		{"models", "GET", "/v1/models", 200, hdr(jsonCT), `{"object":"list","data":[{"id":"auto","object":"model","created":0,"owned_by":"oneflow","modality":"text"}]}`, ""},
		{"chat", "POST", "/v1/chat/completions", 200, hdr(jsonCT, "X-OneFlow-Provider", "openai", "X-OneFlow-Model", "gpt-4o-mini", "X-OneFlow-Credits", "0.0033", "X-OneFlow-Overhead-Ms", "0.412", "X-RateLimit-Remaining", "59"), goodChat, ""},
		{"chat stream", "POST", "/v1/chat/completions", 200, hdr("text/event-stream", "X-OneFlow-Provider", "openai"), goodStream, ""},
		{"chat stream with CRLF and an in-band error", "POST", "/v1/chat/completions", 200, hdr("text/event-stream"), strings.ReplaceAll("data: "+errorBody+"\n\ndata: [DONE]\n\n", "\n", "\r\n"), ""},
		{"chat 402", "POST", "/v1/chat/completions", 402, hdr(jsonCT), errorBody, ""},
		{"chat 429", "POST", "/v1/chat/completions", 429, hdr(jsonCT, "Retry-After", "2"), `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`, ""},
		{"chat 404", "POST", "/v1/chat/completions", 404, hdr(jsonCT), `{"error":{"message":"unknown model","type":"invalid_request_error","param":"model","code":"model_not_found"}}`, ""},
		{"embeddings", "POST", "/v1/embeddings", 200, hdr(jsonCT), `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"e","usage":{"prompt_tokens":1,"total_tokens":1,"credits":"0.000002"}}`, ""},
		{"embeddings as base64", "POST", "/v1/embeddings", 200, hdr(jsonCT), `{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPw=="}],"model":"e","usage":{"prompt_tokens":1,"total_tokens":1}}`, ""},
		{"images", "POST", "/v1/images/generations", 200, hdr(jsonCT), `{"created":1,"data":[{"b64_json":"iVBORw0KGgo=","revised_prompt":"p"}],"usage":{"images":1,"credits":"4"}}`, ""},
		{"speech", "POST", "/v1/audio/speech", 200, hdr("audio/mpeg", "X-OneFlow-Credits", "0.15"), "ID3\x04\x00binary", ""},
		{"estimate", "POST", "/api/v1/estimate", 200, hdr(jsonCT), `{"primary_model":"m","provider":"p","estimated_credits":"0.036","estimated_usd":"0.00036","fallback_chain":[{"model":"n","provider":"q","estimated_credits":"0.2"}],"reason":"cheapest","input_tokens":1200,"output_tokens":300}`, ""},
		{"request", "POST", "/api/v1/request", 200, hdr(jsonCT), `{"id":"r1","output":"hi","model_used":"m","provider":"p","usage":{"input_tokens":1,"output_tokens":1,"cached_input_tokens":0,"cache_write_tokens":0},"credits_charged":"0.01","attempts":[{"model":"m","provider":"p","outcome":"ok","latency_ms":12.5}]}`, ""},
		{"usage", "GET", "/api/v1/usage?group_by=model", 200, hdr(jsonCT), `{"data":[{"key":"m","requests":2,"errors":0,"input_tokens":10,"cached_input_tokens":4,"cache_write_tokens":0,"output_tokens":5,"credits":"1.5"}]}`, ""},
		{"usage summary", "GET", "/api/v1/usage/summary", 200, hdr(jsonCT), `{"total_credits":"1.5","requests":2,"error_rate":0,"by_provider":[],"by_model":[],"top_projects":[]}`, ""},
		{"plugins", "GET", "/api/v1/plugins", 200, hdr(jsonCT), `{"generation":2,"plugins":[{"name":"openai","plugin":"oneflow-provider-openai","kind":"provider","version":"1.0.0","pid":42,"state":"serving","restarts":0,"generation":2}]}`, ""},
		{"providers", "GET", "/api/v1/providers", 200, hdr(jsonCT), `{"providers":[{"name":"openai","plugin":"oneflow-provider-openai","state":"serving","models":["gpt-4o-mini"],"breakers":[{"model":"gpt-4o-mini","state":"half-open"}]}]}`, ""},
		{"reload", "POST", "/api/v1/admin/reload", 200, hdr(jsonCT), `{"status":"reloaded","generation":4}`, ""},
		{"reload refused", "POST", "/api/v1/admin/reload", 422, hdr(jsonCT), `{"error":{"message":"bad config","type":"invalid_request_error","param":null,"code":"reload_failed"}}`, ""},
		{"create user", "POST", "/api/v1/admin/users", 201, hdr(jsonCT), `{"id":"u1","email":"a@example.com","name":"A"}`, ""},
		{"create project", "POST", "/api/v1/admin/projects", 201, hdr(jsonCT), `{"id":"p1","name":"research","balance_credits":"0"}`, ""},
		{"get project", "GET", "/api/v1/admin/projects/p1", 200, hdr(jsonCT), `{"id":"p1","name":"research","balance_credits":"12.5"}`, ""},
		{"add credits", "POST", "/api/v1/admin/projects/p1/credits", 200, hdr(jsonCT), `{"balance_credits":"25"}`, ""},
		{"create key", "POST", "/api/v1/admin/keys", 201, hdr(jsonCT), `{"id":"k1","key":"of-secret","prefix":"of-s","project_id":"p1","name":"ci","role":"member","created_at":"2026-01-02T03:04:05Z","expires_at":null}`, ""},
		{"rotate key", "POST", "/api/v1/admin/keys/k1/rotate", 201, hdr(jsonCT), `{"id":"k1","key":"of-new","grace_until":"2026-01-03T03:04:05Z"}`, ""},
		{"token", "POST", "/api/v1/auth/token", 200, hdr(jsonCT), `{"access_token":"a","refresh_token":"r","token_type":"Bearer","expires_in":900}`, ""},
		{"swagger page", "GET", "/docs", 200, hdr("text/html; charset=utf-8"), "<!DOCTYPE html>", ""},
		{"redoc asset", "GET", "/redoc/assets/redoc.standalone.js?v=abc", 200, hdr("text/javascript; charset=utf-8"), "x", ""},
		{"head skips the body", "HEAD", "/health", 200, hdr(jsonCT), "", ""},

		// Invalid answers.
		{"balance as a number", "GET", "/api/v1/admin/projects/p1", 200, hdr(jsonCT), `{"id":"p1","name":"research","balance_credits":12.5}`, "balance_credits"},
		{"credits not a decimal", "POST", "/api/v1/admin/projects/p1/credits", 200, hdr(jsonCT), `{"balance_credits":"1e3"}`, "regular expression"},
		{"usage credits as a number", "POST", "/v1/chat/completions", 200, hdr(jsonCT), strings.Replace(goodChat, `"credits":"0.0033"`, `"credits":0.0033`, 1), "/usage/credits"},
		{"negative cached tokens", "POST", "/v1/chat/completions", 200, hdr(jsonCT), strings.Replace(goodChat, `"cached_tokens":0`, `"cached_tokens":-1`, 1), "/usage/prompt_tokens_details/cached_tokens"},
		{"usage row without its cache counts", "GET", "/api/v1/usage", 200, hdr(jsonCT), `{"data":[{"key":"m","requests":2,"errors":0,"input_tokens":10,"output_tokens":5,"credits":"1.5"}]}`, "cached_input_tokens"},
		{"missing required field", "GET", "/v1/models", 200, hdr(jsonCT), `{"data":[]}`, `"object"`},
		{"wrong enum", "GET", "/health", 200, hdr(jsonCT), `{"status":"fine"}`, "/status"},
		{"undocumented status", "GET", "/health", 418, hdr(jsonCT), `{}`, "status is not supported"},
		{"undocumented content type", "GET", "/health", 200, hdr("text/plain"), "ok", "Content-Type"},
		{"missing X-Request-ID", "GET", "/health", 200, http.Header{"Content-Type": {jsonCT}}, `{"status":"ok"}`, "X-Request-ID"},
		{"malformed header", "POST", "/v1/chat/completions", 200, hdr(jsonCT, "X-RateLimit-Remaining", "many"), goodChat, "X-RateLimit-Remaining"},
		{"error not in OpenAI's shape", "POST", "/v1/chat/completions", 400, hdr(jsonCT), `{"message":"bad"}`, `"error"`},
		{"error without param", "POST", "/v1/chat/completions", 400, hdr(jsonCT), `{"error":{"message":"bad","type":"invalid_request_error","code":null}}`, `"param"`},
		{"unknown route", "GET", "/v2/nothing", 200, hdr(jsonCT), `{}`, "find GET /v2/nothing"},
		{"wrong method", "DELETE", "/health", 200, hdr(jsonCT), `{}`, "find DELETE /health"},
		{"stream without DONE", "POST", "/v1/chat/completions", 200, hdr("text/event-stream"), strings.TrimSuffix(goodStream, "data: [DONE]\n\n"), "[DONE]"},
		{"stream event after DONE", "POST", "/v1/chat/completions", 200, hdr("text/event-stream"), goodStream + "data: {}\n\n", "after data: [DONE]"},
		{"stream chunk of the wrong object", "POST", "/v1/chat/completions", 200, hdr("text/event-stream"), strings.Replace(goodStream, "chat.completion.chunk", "chat.completion", 1), "event 0"},
		{"stream data not JSON", "POST", "/v1/chat/completions", 200, hdr("text/event-stream"), "data: {oops\n\ndata: [DONE]\n\n", "not JSON"},
		{"stream where none is documented", "GET", "/v1/models", 200, hdr("text/event-stream"), "data: [DONE]\n\n", "text/event-stream is not a documented"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.ValidateResponse(tt.method, tt.target, tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("valid response rejected: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatal("invalid response accepted")
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateRequest(t *testing.T) {
	v := newDocs(t).Validator()
	key := http.Header{"X-Api-Key": {"of-test"}, "Content-Type": {"application/json"}}
	bearer := http.Header{"Authorization": {"Bearer of-test"}, "Content-Type": {"application/json"}}
	anon := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name    string
		method  string
		target  string
		header  http.Header
		body    string
		wantErr string
	}{
		{"chat with a key", "POST", "/v1/chat/completions", key, `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, ""},
		{"chat with a bearer token", "POST", "/v1/chat/completions", bearer, `{"model":"auto","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`, ""},
		{"chat with content parts and stop list", "POST", "/v1/chat/completions", key, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}],"stop":["\n"],"temperature":0.2}`, ""},
		{"chat with null content and a stop string", "POST", "/v1/chat/completions", key, `{"model":"m","messages":[{"role":"assistant","content":null},{"role":"user","content":"go on","name":"ada"}],"stop":"END"}`, ""},
		{"chat with unknown fields", "POST", "/v1/chat/completions", key, `{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":7}`, ""},
		{"chat with an idempotency key", "POST", "/v1/chat/completions", withHeader(key, "Idempotency-Key", "abc-123"), `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, ""},
		{"embeddings of token arrays", "POST", "/v1/embeddings", key, `{"model":"e","input":[[1,2],[3]]}`, ""},
		{"estimate", "POST", "/api/v1/estimate", key, `{"input_tokens":10,"output_tokens":5,"strategy":"cost","modality":"text"}`, ""},
		{"request by prompt", "POST", "/api/v1/request", key, `{"prompt":"hi","strategy":"balanced"}`, ""},
		{"usage query", "GET", "/api/v1/usage?group_by=day&from=2026-01-01T00:00:00Z", key, "", ""},
		{"add credits", "POST", "/api/v1/admin/projects/p1/credits", key, `{"credits":"12.5"}`, ""},
		{"token without credentials", "POST", "/api/v1/auth/token", anon, `{"api_key":"of-test"}`, ""},
		{"health without credentials", "GET", "/health", nil, "", ""},

		{"no credentials", "POST", "/v1/chat/completions", anon, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "security requirements failed"},
		{"empty bearer", "GET", "/v1/models", http.Header{"Authorization": {"Bearer "}}, "", "security requirements failed"},
		{"temperature too high", "POST", "/v1/chat/completions", key, `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":3}`, "/temperature"},
		{"no messages", "POST", "/v1/chat/completions", key, `{"model":"m","messages":[]}`, "/messages"},
		{"unknown role", "POST", "/v1/chat/completions", key, `{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, "/messages/0/role"},
		{"bad content part", "POST", "/v1/chat/completions", key, `{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}`, "/messages/0/content"},
		{"credits as a number", "POST", "/api/v1/admin/projects/p1/credits", key, `{"credits":12.5}`, "/credits"},
		{"request without prompt or messages", "POST", "/api/v1/request", key, `{"strategy":"cost"}`, "anyOf"},
		{"bad group_by", "GET", "/api/v1/usage?group_by=week", key, "", "group_by"},
		{"not JSON", "POST", "/v1/chat/completions", key, `{`, "request body"},
		{"unknown route", "GET", "/nope", key, "", "find GET /nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.ValidateRequest(tt.method, tt.target, tt.header, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("valid request rejected: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatal("invalid request accepted")
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func withHeader(h http.Header, k, v string) http.Header {
	h = h.Clone()
	h.Set(k, v)
	return h
}

// TestValidationErrorsHideSecrets checks that a failed validation names
// fields, not their values: bodies that carry keys and tokens end up in
// test logs otherwise.
func TestValidationErrorsHideSecrets(t *testing.T) {
	const secret = "of-live-DO-NOT-LEAK-7f3a9c"
	v := newDocs(t).Validator()
	key := http.Header{"X-Api-Key": {secret}, "Authorization": {"Bearer " + secret}, "Content-Type": {"application/json"}}
	tests := []struct {
		name string
		err  error
	}{
		{"created key missing its id", v.ValidateResponse("POST", "/api/v1/admin/keys", 201, hdr(jsonCT),
			[]byte(`{"key":"`+secret+`","prefix":"of-l","project_id":"p1","name":"ci","role":"member","created_at":"2026-01-02T03:04:05Z"}`))},
		{"rotated key with a bad date", v.ValidateResponse("POST", "/api/v1/admin/keys/k1/rotate", 201, hdr(jsonCT),
			[]byte(`{"id":"k1","key":"`+secret+`","grace_until":7}`))},
		{"token pair with a bad type", v.ValidateResponse("POST", "/api/v1/auth/token", 200, hdr(jsonCT),
			[]byte(`{"access_token":"`+secret+`","refresh_token":"`+secret+`","token_type":"MAC","expires_in":900}`))},
		{"secret where an enum is", v.ValidateResponse("POST", "/api/v1/auth/token", 200, hdr(jsonCT),
			[]byte(`{"access_token":"a","refresh_token":"r","token_type":"`+secret+`","expires_in":900}`))},
		{"token request with an extra bad field", v.ValidateRequest("POST", "/api/v1/auth/token", key,
			[]byte(`{"api_key":7,"note":"`+secret+`"}`))},
		{"chat request with credentials and a bad body", v.ValidateRequest("POST", "/v1/chat/completions", key,
			[]byte(`{"model":"m","messages":[{"role":"`+secret+`","content":"hi"}]}`))},
		{"secret in a stream", v.ValidateResponse("POST", "/v1/chat/completions", 200, hdr("text/event-stream"),
			[]byte(`data: {"id":"`+secret+`","object":"`+secret+`"}`+"\n\ndata: [DONE]\n\n"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("validation passed; the case is broken")
			}
			if msg := fmt.Sprintf("%v %+v", tt.err, tt.err); strings.Contains(msg, secret) {
				t.Fatalf("error reveals the secret: %s", msg)
			}
		})
	}
}

// TestValidatorIsSafeForConcurrentUse runs validations in parallel under
// -race, as parallel server tests would.
func TestValidatorIsSafeForConcurrentUse(t *testing.T) {
	v := newDocs(t).Validator()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 8 {
				if err := v.ValidateResponse("POST", "/v1/chat/completions", 200, hdr(jsonCT), []byte(goodChat)); err != nil {
					errs <- err
				}
				if err := v.ValidateResponse("GET", fmt.Sprintf("/api/v1/admin/projects/p%d", i), 200, hdr(jsonCT), []byte(`{"id":"p","name":"n","balance_credits":1}`)); err == nil {
					errs <- fmt.Errorf("bad balance accepted")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
