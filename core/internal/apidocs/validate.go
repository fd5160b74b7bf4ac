package apidocs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// sseDataExtension, on a text/event-stream media type, names the component
// schema each `data:` payload of the stream must match.
const sseDataExtension = "x-oneflow-sse-data"

// sseDone is the payload that ends an OpenAI-style event stream.
const sseDone = "[DONE]"

// Validator checks HTTP requests and responses against the document. It
// is meant for tests: the server's tests pass what a real handler wrote.
// Its errors name the field at fault and the rule it broke, never the
// field's value, so a secret in a body (an API key, a token) never lands
// in a test log. It is safe for concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

func newValidator(doc *openapi3.T) (*Validator, error) {
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build openapi router: %w", err)
	}
	return &Validator{doc: doc, router: r}, nil
}

// ValidateRequest checks a request: that the document has the route, that
// its parameters and JSON body match, and that it carries the credentials
// the route asks for (an X-API-Key or an Authorization: Bearer header; the
// values are not checked). target is the request's path with an optional
// query string, such as "/api/v1/usage?group_by=day".
func (v *Validator) ValidateRequest(method, target string, header http.Header, body []byte) error {
	req, route, params, err := v.find(method, target, header, body)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:      checkCredentials,
			SchemaValidationOptions: schemaOptions(),
		},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("request %s %s does not match the openapi document: %w", method, route.Path, err)
	}
	return nil
}

// ValidateResponse checks a response to method on target: that the
// document lists its status for the route, that the headers it declares
// are present when required and well-formed, and that the body matches the
// schema for its Content-Type. A text/event-stream body is checked event
// by event against the schema the media type names in x-oneflow-sse-data,
// and must end with "data: [DONE]".
func (v *Validator) ValidateResponse(method, target string, status int, header http.Header, body []byte) error {
	req, route, params, err := v.find(method, target, nil, nil)
	if err != nil {
		return err
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus:   true,
		SchemaValidationOptions: schemaOptions(),
	}
	var event *openapi3.Schema
	if mediaType(header.Get("Content-Type")) == "text/event-stream" {
		if event, err = v.eventSchema(route, status); err != nil {
			return fmt.Errorf("response %d to %s %s does not match the openapi document: %w", status, method, route.Path, err)
		}
		// openapi3filter has no decoder for event streams; the events are
		// checked below instead.
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("response %d to %s %s does not match the openapi document: %w", status, method, route.Path, err)
	}
	if event != nil {
		if err := validateEvents(event, body); err != nil {
			return fmt.Errorf("response %d to %s %s does not match the openapi document: %w", status, method, route.Path, err)
		}
	}
	return nil
}

// find builds a request and finds its operation.
func (v *Validator) find(method, target string, header http.Header, body []byte) (*http.Request, *routers.Route, map[string]string, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, target, bytes.NewReader(body))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("build request %s %s for validation: %w", method, target, err)
	}
	if header != nil {
		req.Header = header.Clone()
	}
	// A HEAD is a GET without a body (RFC 9110, 9.3.2); the document lists
	// only the GET, so look that up and keep HEAD on the request, which
	// tells openapi3filter to skip the body.
	if method == http.MethodHead {
		req.Method = http.MethodGet
	}
	route, params, err := v.router.FindRoute(req)
	req.Method = method
	if err != nil {
		return nil, nil, nil, fmt.Errorf("find %s %s in the openapi document: %w", method, req.URL.Path, err)
	}
	return req, route, params, nil
}

// eventSchema finds the schema of the events of a streamed response.
func (v *Validator) eventSchema(route *routers.Route, status int) (*openapi3.Schema, error) {
	ref := route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("status %d is not documented", status)
	}
	mt := ref.Value.Content.Get("text/event-stream")
	if mt == nil {
		return nil, errors.New("text/event-stream is not a documented content type")
	}
	name, _ := mt.Extensions[sseDataExtension].(string)
	if name == "" {
		return nil, fmt.Errorf("text/event-stream does not name its event schema in %s", sseDataExtension)
	}
	s := v.doc.Components.Schemas[name]
	if s == nil || s.Value == nil {
		return nil, fmt.Errorf("%s names schema %q, which is not in components", sseDataExtension, name)
	}
	return s.Value, nil
}

// validateEvents checks each data payload of a server-sent event stream
// (https://html.spec.whatwg.org/multipage/server-sent-events.html) against
// schema; the stream must end with the [DONE] payload and have nothing
// after it.
func validateEvents(schema *openapi3.Schema, body []byte) error {
	text := strings.ReplaceAll(string(body), "\r\n", "\n")
	var payloads []string
	for block := range strings.SplitSeq(text, "\n\n") {
		var data []string
		for line := range strings.SplitSeq(block, "\n") {
			if line == "" || strings.HasPrefix(line, ":") { // comment or keep-alive
				continue
			}
			field, value, _ := strings.Cut(line, ":")
			if field == "data" {
				data = append(data, strings.TrimPrefix(value, " "))
			}
		}
		if data != nil {
			payloads = append(payloads, strings.Join(data, "\n"))
		}
	}
	opts := append(schemaOptions(), openapi3.VisitAsResponse())
	done := false
	for i, p := range payloads {
		if done {
			return fmt.Errorf("event %d comes after data: %s", i, sseDone)
		}
		if p == sseDone {
			done = true
			continue
		}
		var val any
		if err := json.Unmarshal([]byte(p), &val); err != nil {
			return fmt.Errorf("event %d: data is not JSON: %w", i, err)
		}
		if err := schema.VisitJSON(val, opts...); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	if !done {
		return fmt.Errorf("the stream does not end with data: %s", sseDone)
	}
	return nil
}

// schemaOptions make schema errors say where and why, never what: the
// library's default message includes the offending value, which may be a
// secret.
func schemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{
		openapi3.DisableSchemaErrorDetails(),
		openapi3.SetSchemaErrorMessageCustomizer(schemaMessage),
	}
}

func schemaMessage(e *openapi3.SchemaError) string {
	reason := e.Reason
	if reason == "" {
		reason = "does not match " + e.SchemaField
	}
	if e.Origin != nil {
		reason += ": " + e.Origin.Error()
	}
	return "at /" + strings.Join(e.JSONPointer(), "/") + ": " + reason
}

// checkCredentials accepts a request that carries the credentials a
// security scheme asks for. Whether they are valid is the server's
// business, not the document's.
func checkCredentials(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	s := in.SecurityScheme
	switch {
	case s.Type == "apiKey" && s.In == "header":
		if h.Get(s.Name) != "" {
			return nil
		}
		return fmt.Errorf("no %s header", s.Name)
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		if a := h.Get("Authorization"); len(a) > len("bearer ") && strings.EqualFold(a[:len("bearer ")], "bearer ") && strings.TrimSpace(a[len("bearer "):]) != "" {
			return nil
		}
		return errors.New("no Authorization: Bearer header")
	}
	return fmt.Errorf("security scheme %q is not supported by the validator", in.SecuritySchemeName)
}

// mediaType is a Content-Type without its parameters, in lower case.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	return mt
}
