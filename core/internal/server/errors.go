package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/breaker"
	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// apiError is OpenAI's error body: {"error":{"message","type","param","code"}}.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// The error types OpenAI's clients know.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuth           = "authentication_error"
	typePermission     = "permission_error"
	typeRateLimit      = "rate_limit_error"
	typeServer         = "server_error"
	typeNotFound       = "not_found_error"
)

// statusClientClosed is nginx's "client closed request"; only logs see it.
const statusClientClosed = 499

func abortError(c *gin.Context, status int, typ, code, message string, param string) {
	body := apiError{Error: apiErrorBody{Message: message, Type: typ}}
	if code != "" {
		body.Error.Code = &code
	}
	if param != "" {
		body.Error.Param = &param
	}
	c.AbortWithStatusJSON(status, body)
}

// classified is an error mapped to its HTTP answer.
type classified struct {
	status           int
	typ, code, param string
	message          string
	retryAfter       time.Duration
}

// classify maps an error from the gateway to status, type and code. Vendor
// auth failures are the operator's problem, so the client gets 502, never
// 401; anything transient is 503 with a retryable code.
func classify(err error) classified {
	var (
		unknownModel *gateway.UnknownModelError
		unconfigured *gateway.UnconfiguredError
		unknownStrat *gateway.UnknownStrategyError
		unsupported  *gateway.UnsupportedError
		modality     *gateway.ModalityError
	)
	switch {
	case errors.As(err, &unknownModel):
		return classified{http.StatusNotFound, typeInvalidRequest, "model_not_found", "model", err.Error(), 0}
	case errors.As(err, &unconfigured):
		return classified{http.StatusServiceUnavailable, typeServer, "provider_unconfigured", "model", err.Error(), 0}
	case errors.As(err, &unsupported), errors.As(err, &modality):
		return classified{http.StatusBadRequest, typeInvalidRequest, "model_unsupported", "model", err.Error(), 0}
	case errors.As(err, &unknownStrat):
		return classified{http.StatusBadRequest, typeInvalidRequest, "unknown_strategy", "model", err.Error(), 0}
	case errors.Is(err, gateway.ErrNoRoute):
		return classified{http.StatusServiceUnavailable, typeServer, "no_route", "", err.Error(), 0}
	}
	var open *breaker.OpenError
	if errors.As(err, &open) {
		return classified{http.StatusServiceUnavailable, typeServer, "circuit_open",
			"", "provider " + open.Provider + " is failing; its circuit breaker is open (retryable)", open.Remaining}
	}
	msg := err.Error()
	var pe *provider.Error
	var retryAfter time.Duration
	if errors.As(err, &pe) {
		msg, retryAfter = pe.Message, pe.RetryAfter
	}
	switch provider.KindOf(err) {
	case provider.KindInvalidRequest:
		return classified{http.StatusBadRequest, typeInvalidRequest, "invalid_request", "", msg, 0}
	case provider.KindAuth:
		return classified{http.StatusBadGateway, typeServer, "upstream_auth_failed", "", msg, 0}
	case provider.KindRateLimited:
		return classified{http.StatusTooManyRequests, typeRateLimit, "upstream_rate_limited", "", msg, retryAfter}
	case provider.KindTimeout:
		return classified{http.StatusGatewayTimeout, typeServer, "upstream_timeout", "", msg, 0}
	case provider.KindUnsupported:
		return classified{http.StatusBadRequest, typeInvalidRequest, "unsupported", "model", msg, 0}
	case provider.KindUnconfigured:
		return classified{http.StatusServiceUnavailable, typeServer, "provider_unconfigured", "", msg, 0}
	case provider.KindCanceled:
		return classified{statusClientClosed, typeServer, "canceled", "", msg, 0}
	}
	return classified{http.StatusServiceUnavailable, typeServer, "upstream_unavailable", "", msg + " (retryable)", 0}
}

func statusOf(err error) int { return classify(err).status }

func writeGatewayError(c *gin.Context, err error) {
	cl := classify(err)
	if cl.retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((cl.retryAfter+time.Second-1)/time.Second)))
	}
	abortError(c, cl.status, cl.typ, cl.code, cl.message, cl.param)
}
