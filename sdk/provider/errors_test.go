package provider_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

func TestKindNamesAndRetry(t *testing.T) {
	tests := []struct {
		kind      provider.Kind
		name      string
		retryable bool
	}{
		{provider.KindUnknown, "unknown", true},
		{provider.KindInvalidRequest, "invalid_request", false},
		{provider.KindAuth, "auth", false},
		{provider.KindRateLimited, "rate_limited", true},
		{provider.KindUnavailable, "unavailable", true},
		{provider.KindTimeout, "timeout", true},
		{provider.KindUnsupported, "unsupported", false},
		{provider.KindUnconfigured, "unconfigured", false},
		{provider.KindCanceled, "canceled", false},
		{provider.Kind(-1), "unknown", false},
		{provider.Kind(99), "unknown", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kind.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			if got := tt.kind.Retryable(); got != tt.retryable {
				t.Errorf("Retryable() = %v, want %v", got, tt.retryable)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want provider.Kind
	}{
		{"nil", nil, provider.KindUnknown},
		{"plain", errors.New("x"), provider.KindUnknown},
		{"error", provider.Errorf(provider.KindAuth, "no"), provider.KindAuth},
		{"wrapped error", fmt.Errorf("a: %w", provider.Errorf(provider.KindRateLimited, "no")), provider.KindRateLimited},
		{"canceled", context.Canceled, provider.KindCanceled},
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), provider.KindTimeout},
		// An explicit kind wins over a context error deeper in the chain.
		{"error wrapping ctx", fmt.Errorf("%w: %w", provider.Errorf(provider.KindUnavailable, "x"), context.Canceled), provider.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := provider.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *provider.Error
		want string
	}{
		{"no status", &provider.Error{Kind: provider.KindTimeout, Message: "read timed out"}, "timeout: read timed out"},
		{"status", &provider.Error{Kind: provider.KindRateLimited, Message: "slow down", Status: 429}, "rate_limited: slow down (vendor status 429)"},
		{"errorf", provider.Errorf(provider.KindAuth, "key ending %s", "abcd"), "auth: key ending abcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMessageText(t *testing.T) {
	tests := []struct {
		name string
		m    provider.Message
		want string
	}{
		{"empty", provider.Message{}, ""},
		{"one part", provider.TextMessage(provider.RoleUser, "hi"), "hi"},
		{"parts joined, images contribute nothing", provider.Message{Content: []provider.ContentPart{
			{Type: provider.PartText, Text: "a "}, {Type: provider.PartImage, ImageURL: "data:,"}, {Type: provider.PartText, Text: "b"},
		}}, "a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Text(); got != tt.want {
				t.Errorf("Text() = %q, want %q", got, tt.want)
			}
		})
	}
}
