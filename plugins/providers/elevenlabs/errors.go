package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

// maxExcerpt bounds how much of an unparsable error body is quoted.
const maxExcerpt = 200

// codeQuotaExceeded is the code (or legacy status) of a 401 that means the
// account ran out of characters, not that the key is bad.
const codeQuotaExceeded = "quota_exceeded"

// detailObject is the object form of an error's detail; status is the
// legacy name of code (https://elevenlabs.io/docs/eleven-api/resources/errors).
type detailObject struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Param   string `json:"param"`
}

// validationError is one entry of a 422's detail list
// (components.schemas.ValidationError in the vendor's spec).
type validationError struct {
	Loc []any  `json:"loc"`
	Msg string `json:"msg"`
}

// parseErrorBody returns the vendor's error code and message from the
// shapes ElevenLabs uses:
//
//	{"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "..."}]}   (422)
//	{"detail": {"code" or "status": "invalid_api_key", "message": "Invalid API key"}}
//	{"detail": "Not Found"}
//
// Anything else yields a short excerpt of the body as the message.
func parseErrorBody(body []byte) (code, message string) {
	var eb struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(body, &eb); err == nil && len(eb.Detail) > 0 {
		var list []validationError
		var obj detailObject
		var text string
		switch {
		case json.Unmarshal(eb.Detail, &list) == nil && len(list) > 0:
			parts := make([]string, 0, len(list))
			for _, v := range list {
				loc := make([]string, 0, len(v.Loc))
				for _, l := range v.Loc {
					loc = append(loc, fmt.Sprint(l))
				}
				if len(loc) > 0 {
					parts = append(parts, strings.Join(loc, ".")+": "+v.Msg)
				} else {
					parts = append(parts, v.Msg)
				}
			}
			return "validation_error", strings.Join(parts, "; ")
		case json.Unmarshal(eb.Detail, &obj) == nil:
			code = obj.Code
			if code == "" {
				code = obj.Status
			}
			msg := strings.TrimSpace(obj.Message)
			if obj.Param != "" && msg != "" {
				msg += " (param " + obj.Param + ")"
			}
			switch {
			case code != "" && msg != "":
				return code, code + ": " + msg
			case msg != "":
				return code, msg
			case code != "":
				return code, code
			}
		case json.Unmarshal(eb.Detail, &text) == nil && strings.TrimSpace(text) != "":
			return "", strings.TrimSpace(text)
		}
	}
	return "", vendorhttp.Excerpt(body, maxExcerpt)
}

// statusError classifies a non-2xx response. ElevenLabs answers an
// exhausted character quota with 401 quota_exceeded: the key is fine, the
// account is empty, so it is reported as unavailable (another provider
// can serve the request) instead of as an auth failure.
func (st *state) statusError(resp *http.Response) *provider.Error {
	code, msg := parseErrorBody(vendorhttp.ReadErrorBody(resp))
	e := vendorhttp.StatusError(resp, vendorhttp.Redact(msg, st.key), st.now())
	if resp.StatusCode == http.StatusUnauthorized && code == codeQuotaExceeded {
		e.Kind = provider.KindUnavailable
	}
	return e
}
