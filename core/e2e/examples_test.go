package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// TestExamplesWalkThrough does what the examples' READMEs tell a newcomer:
// add the echo provider and the prefer strategy to a running core's
// config, send SIGHUP, and call them.
func TestExamplesWalkThrough(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	base := configFor([]string{url}, "")
	c := startCore(t, base)
	c.waitReady()
	gen0, _ := c.plugins()
	c.writeConfig(base + `
plugin "echo" {
  kind = "provider"
  path = "` + filepath.Join(bin, "oneflow-provider-echo") + `"
}

provider "echo" {
  plugin = "echo"

  model "echo-1" {
    modality       = "text"
    input_price    = 0
    output_price   = 0
    quality        = 10
    context_window = 4096
  }
}

plugin "prefer" {
  kind = "strategy"
  path = "` + filepath.Join(bin, "oneflow-strategy-prefer") + `"
}

strategy "prefer" {
  plugin = "prefer"
  params = {
    prefer = "echo"
  }
}
`)
	c.signal(syscall.SIGHUP)
	waitFor(t, "the reload", 30*time.Second, func() bool { g, _ := c.plugins(); return g > gen0 })
	c.waitReady()
	body := map[string]any{"model": "echo-1", "messages": []map[string]any{{"role": "user", "content": "hello plugin world"}}}
	resp, b := c.do("POST", "/v1/chat/completions", body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "hello plugin world") {
		t.Fatalf("echo-1: %d %s", resp.StatusCode, b)
	}
	body["model"] = "auto:prefer"
	resp, b = c.do("POST", "/v1/chat/completions", body)
	if resp.StatusCode != 200 || resp.Header.Get("X-OneFlow-Provider") != "echo" {
		t.Fatalf("auto:prefer: %d %v %s", resp.StatusCode, resp.Header.Get("X-OneFlow-Provider"), b)
	}
	var out struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Model != "echo-1" {
		t.Fatalf("auto:prefer answered with %q", out.Model)
	}
}
