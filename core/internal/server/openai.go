package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// The response headers that say who answered and what it cost.
const (
	headerProvider = "X-OneFlow-Provider"
	headerModel    = "X-OneFlow-Model"
	headerCredits  = "X-OneFlow-Credits"
	headerOverhead = "X-OneFlow-Overhead-Ms"
)

// routingAliases are the model names that ask a strategy to choose and
// that snap can serve: "auto" when the default strategy is declared, and
// "auto:NAME" for each declared strategy, by name. An undeclared strategy
// is left out: a client picking from the list would only get a 400.
func routingAliases(snap *gateway.Snapshot) []string {
	names := slices.Sorted(maps.Keys(snap.Strategies))
	out := make([]string, 0, len(names)+1)
	if _, ok := snap.Strategies[snap.DefaultStrategy]; ok {
		out = append(out, "auto")
	}
	for _, n := range names {
		out = append(out, "auto:"+n)
	}
	return out
}

// servesAlias reports whether id is a routing alias whose strategy snap
// declares, under the same reading a chat request gets (gateway.ParseAlias;
// a bare "auto" names the default strategy).
func servesAlias(snap *gateway.Snapshot, id string) bool {
	name, ok := gateway.ParseAlias(id)
	if !ok {
		return false
	}
	if name == "" {
		name = snap.DefaultStrategy
	}
	_, declared := snap.Strategies[name]
	return declared
}

// modelObject is OpenAI's model object, with the modality added.
type modelObject struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Created  int64  `json:"created"`
	OwnedBy  string `json:"owned_by"`
	Modality string `json:"modality"`
}

// modelObjects lists the models that can be called, then the routing
// aliases. A model whose provider lacks its settings (say, an API key) is
// left out: a client picking from the list would only get a 503.
func modelObjects(snap *gateway.Snapshot) []modelObject {
	entries := snap.Catalog.Entries()
	aliases := routingAliases(snap)
	data := make([]modelObject, 0, len(entries)+len(aliases))
	for _, e := range entries {
		if _, off := snap.Unconfigured[e.Provider]; off {
			continue
		}
		data = append(data, entryObject(e.Model.ID, e))
	}
	for _, a := range aliases {
		data = append(data, aliasObject(a))
	}
	return data
}

// entryObject describes catalog entry e under the name id.
func entryObject(id string, e *gateway.Entry) modelObject {
	// A price without an effective date has no creation time to report;
	// Unix() of the zero time would be year 1.
	var created int64
	if !e.Model.Effective.IsZero() {
		created = e.Model.Effective.Unix()
	}
	return modelObject{ID: id, Object: "model", Created: created, OwnedBy: e.Provider, Modality: e.Model.Modality}
}

// aliasObject describes a routing alias, which OneFlow owns.
func aliasObject(a string) modelObject {
	return modelObject{ID: a, Object: "model", OwnedBy: "oneflow", Modality: "text"}
}

func (s *server) models(c *gin.Context) {
	snap, release := s.o.Backend.Acquire()
	defer release()
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": modelObjects(snap)})
}

// model retrieves one model by any name a chat request may use for it: its
// id, an alias, "provider/model" or a routing alias. The answer keeps the
// name asked for, as OpenAI's does.
func (s *server) model(c *gin.Context) {
	id := strings.TrimPrefix(c.Param("model"), "/")
	snap, release := s.o.Backend.Acquire()
	defer release()
	if servesAlias(snap, id) {
		c.JSON(http.StatusOK, aliasObject(id))
		return
	}
	var unconfigured error
	for _, e := range snap.Catalog.Lookup(id) {
		if hint, off := snap.Unconfigured[e.Provider]; off {
			// Known but not callable: say what the operator must set,
			// as a call to it would.
			if unconfigured == nil {
				unconfigured = &gateway.UnconfiguredError{Provider: e.Provider, Model: id, Hint: hint}
			}
			continue
		}
		c.JSON(http.StatusOK, entryObject(id, e))
		return
	}
	if unconfigured != nil {
		writeGatewayError(c, unconfigured)
		return
	}
	abortError(c, http.StatusNotFound, typeInvalidRequest, "model_not_found", fmt.Sprintf("the model %q does not exist", id), "model")
}

func bindJSON(c *gin.Context, v any) bool {
	if err := json.NewDecoder(c.Request.Body).Decode(v); err != nil {
		var (
			mbe *http.MaxBytesError
			ute *json.UnmarshalTypeError
			se  *json.SyntaxError
		)
		switch {
		case errors.As(err, &mbe):
			abortError(c, http.StatusRequestEntityTooLarge, typeInvalidRequest, "request_too_large", "request body exceeds the limit", "")
		case errors.As(err, &ute) && ute.Field != "":
			// The decoder's own message names Go types; say it in the
			// API's terms.
			msg := fmt.Sprintf("%s must not be a JSON %s", ute.Field, ute.Value)
			if strings.HasPrefix(ute.Value, "number") && isInteger(ute.Type) {
				// A fraction or an out-of-range number for an integer
				// field: it is a number, just not one that fits.
				msg = fmt.Sprintf("%s must be an integer in range, not %s", ute.Field, strings.TrimPrefix(ute.Value, "number "))
			}
			abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", msg, ute.Field)
		case errors.As(err, &se), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ute):
			abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_json", "request body is not valid JSON: "+err.Error(), "")
		default:
			// A field's own decoder refused its value (content parts,
			// stop lists, amounts): its message is already for users.
			abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", err.Error(), "")
		}
		return false
	}
	return true
}

// isInteger reports whether t is an integer type or a pointer to one.
func isInteger(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// outputBound is the output a credit hold assumes: max_tokens when set,
// else the configured default.
func (s *server) outputBound(maxTokens int64) int64 {
	if maxTokens > 0 {
		return maxTokens
	}
	return s.o.DefaultMaxTokens
}

func (s *server) chatCompletions(c *gin.Context) {
	var req chatRequest
	if !bindJSON(c, &req) {
		return
	}
	if param, err := req.validate(); err != nil {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", err.Error(), param)
		return
	}
	if param, why := req.unsupported(); param != "" {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "unsupported_parameter", why+"; the request was not sent to any model", param)
		return
	}
	snap, release := s.o.Backend.Acquire()
	defer release()
	preq := req.toProvider()
	tokens := s.o.Backend.Tokens()
	in := tokens.Messages(req.Model, preq.Messages)
	out := s.outputBound(preq.MaxTokens)
	if len(preq.Tools) > 0 {
		// Tool definitions are prompt text to the model (calls in the
		// history are counted with their messages).
		in += tokens.Text(req.Model, toolsText(preq.Tools))
	}
	f := gateway.Features{Modality: "text", InputTokens: in, OutputTokens: out, Streaming: req.Stream}
	if req.Stream {
		f.Capabilities = []string{string(provider.CapChatStream)}
	}
	if usesTools(preq) {
		f.Capabilities = append(f.Capabilities, string(provider.CapTools))
	}
	if len(preq.ResponseFormat) > 0 {
		f.Capabilities = append(f.Capabilities, string(provider.CapResponseFormat))
	}
	k, ok := s.begin(c, snap, req.Model, f, func(gateway.Target) Usage { return Usage{InputTokens: in, OutputTokens: out} })
	if !ok {
		return
	}
	if req.Stream {
		s.streamChat(k, preq, &req, in)
		return
	}
	res, err := snap.Chat(c.Request.Context(), k.plan, preq)
	if err != nil {
		k.failed(err, res.Attempts)
		return
	}
	r := res.Response
	u := textUsage(r.Usage)
	charged := k.end(res.Target, u, r.Usage.Estimated, res.Attempts, http.StatusOK)
	k.setHeaders(res.Target, charged, res.ProviderWait)
	finish := string(r.FinishReason)
	if finish == "" {
		finish = string(provider.FinishStop)
	}
	id := r.ID
	if id == "" {
		id = "chatcmpl-" + requestIDOf(c)
	}
	msg := &choiceMessage{Role: "assistant"}
	if r.Content != "" || len(r.ToolCalls) == 0 {
		content := r.Content
		msg.Content = &content
	}
	for _, tc := range r.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, chatToolCall{ID: tc.ID, Type: "function", Function: chatFunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
	}
	c.JSON(http.StatusOK, chatCompletion{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: res.Target.Model,
		Choices: []chatChoice{{Index: 0, Message: msg, FinishReason: &finish}},
		Usage:   s.chatUsage(u, charged),
	})
}

// toolsText is what the tool definitions add to a prompt, for counting.
func toolsText(tools []provider.Tool) string {
	var b strings.Builder
	for _, t := range tools {
		b.WriteString(t.Name)
		b.WriteByte(' ')
		b.WriteString(t.Description)
		b.WriteByte(' ')
		b.Write(t.Parameters)
		b.WriteByte('\n')
	}
	return b.String()
}

// usesTools reports whether req needs a plugin that carries tools: it
// offers tools, or its history holds tool calls or tool results, which a
// plugin without tools would drop. Clients often leave tools out of the
// turn that sends the results back.
func usesTools(req *provider.ChatRequest) bool {
	if len(req.Tools) > 0 {
		return true
	}
	for _, m := range req.Messages {
		if len(m.ToolCalls) > 0 || m.Role == provider.RoleTool {
			return true
		}
	}
	return false
}

// chatUsage is the usage object of a chat answer or of a stream's usage
// chunk.
func (s *server) chatUsage(u Usage, charged int64) *chatUsage {
	return &chatUsage{
		PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens,
		PromptTokensDetails: promptTokensDetails{CachedTokens: u.CachedInputTokens, CacheWriteTokens: u.CacheWriteTokens},
		Credits:             s.formatCredits(charged),
	}
}

func (s *server) formatCredits(mc int64) string {
	if s.o.FormatCredits != nil {
		return s.o.FormatCredits(mc)
	}
	return strconv.FormatInt(mc, 10)
}

// overheadMS formats the gateway's own time in milliseconds with
// microsecond resolution: the figure is usually well under 1 ms.
func overheadMS(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)
}
