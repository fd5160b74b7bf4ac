package main

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

// maxExcerpt bounds how much of an unparsable error body is quoted.
const maxExcerpt = 200

// errorBody covers both error shapes of the Stability API:
//
//	v2beta: {"id": "...", "name": "bad_request", "errors": ["prompt: is required"]}
//	v1:     {"id": "...", "name": "bad_request", "message": "init_image: is required"}
type errorBody struct {
	Name    string   `json:"name"`
	Errors  []string `json:"errors"`
	Message string   `json:"message"`
}

// parseErrorBody returns the vendor's error name and message, or a short
// excerpt of the body as the message when it is not the vendor's JSON.
func parseErrorBody(body []byte) (name, message string) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil {
		parts := make([]string, 0, len(eb.Errors)+1)
		for _, e := range eb.Errors {
			if e = strings.TrimSpace(e); e != "" {
				parts = append(parts, e)
			}
		}
		if m := strings.TrimSpace(eb.Message); m != "" {
			parts = append(parts, m)
		}
		message = strings.Join(parts, "; ")
		switch {
		case message != "" && eb.Name != "":
			return eb.Name, eb.Name + ": " + message
		case message != "":
			return eb.Name, message
		case eb.Name != "":
			return eb.Name, eb.Name
		}
	}
	return "", vendorhttp.Excerpt(body, maxExcerpt)
}

// statusError classifies a non-2xx response. A 403 named
// content_moderation is the vendor refusing the prompt, not the key, so it
// is an invalid request rather than an auth failure: the core must not
// mark the credentials bad because of one user's prompt.
func (st *state) statusError(resp *http.Response) *provider.Error {
	name, msg := parseErrorBody(vendorhttp.ReadErrorBody(resp))
	e := vendorhttp.StatusError(resp, vendorhttp.Redact(msg, st.key), st.now())
	if resp.StatusCode == http.StatusForbidden && name == "content_moderation" {
		e.Kind = provider.KindInvalidRequest
	}
	return e
}
