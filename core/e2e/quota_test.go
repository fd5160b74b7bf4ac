package e2e

import (
	"testing"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// TestProviderDailyQuota: a project's daily quota on a provider admits
// calls until what it spent plus the next call's hold would pass the cap,
// then refuses with 429 quota_exceeded; the bootstrap admin is exempt.
func TestProviderDailyQuota(t *testing.T) {
	// Each answer reports 1000 output tokens, so a call costs about what
	// its hold (max_tokens 1000) reserved: ~0.2 credits at $2/M.
	_, url := newUpstream(t, fakeupstream.Faults{StreamChunks: 1000})
	c := startCore(t, configFor([]string{url}, `
quota "up0" {
  daily_credits = 0.25
}
`))
	c.waitReady()
	_, keys := setupProject(t, c, "quota", "100")
	body := chatBody("gpt-4o-mini")
	body["max_tokens"] = 1000
	if resp, b := c.doAs(keys["member"], "POST", "/v1/chat/completions", body); resp.StatusCode != 200 {
		t.Fatalf("first call: %d %s", resp.StatusCode, b)
	}
	resp, b := c.doAs(keys["member"], "POST", "/v1/chat/completions", body)
	if resp.StatusCode != 429 || errorCodeOf(t, b) != "quota_exceeded" {
		t.Fatalf("second call: %d %s; want 429 quota_exceeded", resp.StatusCode, b)
	}
	if resp, b := c.do("POST", "/v1/chat/completions", body); resp.StatusCode != 200 {
		t.Fatalf("bootstrap admin: %d %s", resp.StatusCode, b)
	}
}

func errorCodeOf(t *testing.T, b []byte) string {
	t.Helper()
	e := decode[struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}](t, b)
	return e.Error.Code
}
