package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

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

// writeGatewayError maps an error from the gateway to status, type and code.
func writeGatewayError(c *gin.Context, err error) {
	var (
		unknownModel *gateway.UnknownModelError
		unconfigured *gateway.UnconfiguredError
		unknownStrat *gateway.UnknownStrategyError
	)
	switch {
	case errors.As(err, &unknownModel):
		abortError(c, http.StatusNotFound, typeInvalidRequest, "model_not_found", err.Error(), "model")
		return
	case errors.As(err, &unconfigured):
		abortError(c, http.StatusServiceUnavailable, typeServer, "provider_unconfigured", err.Error(), "model")
		return
	case errors.As(err, &unknownStrat):
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "unknown_strategy", err.Error(), "model")
		return
	case errors.Is(err, gateway.ErrNoRoute):
		abortError(c, http.StatusServiceUnavailable, typeServer, "no_route", err.Error(), "")
		return
	}
	var pe *provider.Error
	msg := err.Error()
	if errors.As(err, &pe) {
		msg = pe.Message
	}
	switch provider.KindOf(err) {
	case provider.KindInvalidRequest:
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", msg, "")
	case provider.KindAuth:
		// The vendor refused OneFlow's credentials: the operator's problem,
		// not the client's, so never a 401 to the client.
		abortError(c, http.StatusBadGateway, typeServer, "upstream_auth_failed", msg, "")
	case provider.KindRateLimited:
		if pe != nil && pe.RetryAfter > 0 {
			c.Header("Retry-After", strconv.Itoa(int((pe.RetryAfter+time.Second-1)/time.Second)))
		}
		abortError(c, http.StatusTooManyRequests, typeRateLimit, "upstream_rate_limited", msg, "")
	case provider.KindTimeout:
		abortError(c, http.StatusGatewayTimeout, typeServer, "upstream_timeout", msg, "")
	case provider.KindUnsupported:
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "unsupported", msg, "model")
	case provider.KindUnconfigured:
		abortError(c, http.StatusServiceUnavailable, typeServer, "provider_unconfigured", msg, "")
	case provider.KindCanceled:
		// 499 is nginx's "client closed request"; nobody reads it.
		abortError(c, 499, typeServer, "canceled", msg, "")
	default:
		abortError(c, http.StatusServiceUnavailable, typeServer, "upstream_unavailable", msg+" (retryable)", "")
	}
}
