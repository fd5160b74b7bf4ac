package gateway

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// ErrNoRoute means no configured, serving model fits the request.
var ErrNoRoute = errors.New("no model available for this request")

// UnknownModelError is returned for a model name nobody serves.
type UnknownModelError struct{ Model string }

func (e *UnknownModelError) Error() string {
	return fmt.Sprintf("model %s is not offered by any enabled provider; GET /v1/models lists the models", quoteName(e.Model))
}

// maxQuotedName bounds how much of a caller's model name an error repeats:
// a 900 KB name once came back as a 900 KB error body.
const maxQuotedName = 128

// quoteName quotes a caller-supplied name for an error message, cut to
// maxQuotedName bytes at a rune boundary.
func quoteName(name string) string {
	if len(name) <= maxQuotedName {
		return strconv.Quote(name)
	}
	cut := maxQuotedName
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return strconv.Quote(name[:cut]) + fmt.Sprintf(" (cut from %d bytes)", len(name))
}

// UnconfiguredError is returned for a model whose provider lacks settings.
type UnconfiguredError struct {
	Provider, Model, Hint string
}

func (e *UnconfiguredError) Error() string {
	return fmt.Sprintf("model %q is served by provider %q, which is not configured: %s", e.Model, e.Provider, e.Hint)
}

// UnsupportedError is returned for a model whose provider plugin lacks an
// ability the request needs (tools, streaming).
type UnsupportedError struct {
	Provider, Model, Capability string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("model %q (provider %q) does not support %s", e.Model, e.Provider, e.Capability)
}

// ModalityError is returned for a model named on an endpoint of another
// modality, such as an image model on /v1/chat/completions: its plugin
// would be asked for something the model does not do, and billed at
// prices that do not apply.
type ModalityError struct {
	Model, Modality, Want string
}

func (e *ModalityError) Error() string {
	return fmt.Sprintf("model %s is for %s requests, not %s", quoteName(e.Model), e.Modality, e.Want)
}

// UnknownStrategyError is returned for "auto:NAME" with an undeclared NAME.
type UnknownStrategyError struct{ Name string }

func (e *UnknownStrategyError) Error() string {
	return fmt.Sprintf("routing strategy %q is not declared in the config", e.Name)
}

// Attempt records one try at one target.
type Attempt struct {
	Provider string
	Model    string
	// Outcome is "ok" or the failure kind ("rate_limited", "unavailable"...).
	Outcome   string
	LatencyMS int64
	Err       error `json:"-"`
}

// CallError is the failure of a whole plan: every attempt failed, or one
// failed in a way that must not be retried elsewhere.
type CallError struct {
	Attempts []Attempt
	Last     error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("all %d attempts failed; last: %v", len(e.Attempts), e.Last)
}

func (e *CallError) Unwrap() error { return e.Last }

// Kind is the provider error kind of the last failure.
func (e *CallError) Kind() provider.Kind { return provider.KindOf(e.Last) }
