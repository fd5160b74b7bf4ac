package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestOpenAIClientExample runs examples/openai-client, the official Go SDK
// with only its base URL and key changed, against a running core, as its
// README tells a newcomer to.
func TestOpenAIClientExample(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	cmd := exec.Command(filepath.Join(bin, "openai-client"), "-model", "auto:cost", "Say hello")
	cmd.Env = append(cleanEnv(), "ONEFLOW_URL="+c.base, "ONEFLOW_API_KEY="+testKey)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openai-client: %v\n%s", err, out)
	}
	// Credits are exact decimals and never zero for a priced model.
	const credits = `(0\.[0-9]*[1-9][0-9]*|[1-9][0-9]*(\.[0-9]+)?) credits`
	for _, want := range []string{
		`(?m)^models: gpt-4o-mini, auto, auto:cost, auto:quality$`,
		`(?m)^answer: Hello from the fake upstream$`,
		`(?m)^answered by up0/gpt-4o-mini for ` + credits + `$`,
		`(?m)^streamed: Hello from the fake upstream$`,
		`(?m)^stream cost ` + credits + `$`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), testKey) {
		t.Error("the example printed its API key")
	}
	// Without its settings it says what to set instead of failing obscurely.
	cmd = exec.Command(filepath.Join(bin, "openai-client"))
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "set ONEFLOW_URL") {
		t.Errorf("without settings: %v\n%s", err, out)
	}
}
