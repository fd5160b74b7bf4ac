package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// bin holds the binaries TestMain built.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "oneflow-e2e")
	if err != nil {
		panic(err)
	}
	bin = dir
	builds := map[string]string{
		"oneflow":    "../cmd/oneflow",
		"testplugin": "../internal/plugins/testdata/testplugin",
		// The examples are what newcomers copy: they must work in a core.
		"oneflow-provider-echo":   "../../examples/custom-provider",
		"oneflow-strategy-prefer": "../../examples/custom-strategy",
		"openai-client":           "../../examples/openai-client",
	}
	for _, kind := range []string{"providers", "strategies"} {
		entries, err := os.ReadDir(filepath.Join("../../plugins", kind))
		if err != nil {
			panic(err)
		}
		for _, e := range entries {
			name := "oneflow-provider-" + e.Name()
			if kind == "strategies" {
				name = "oneflow-strategy-" + e.Name()
			}
			builds[name] = "../../plugins/" + kind + "/" + e.Name()
		}
	}
	for name, pkg := range builds {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testKey is the admin key of every test core; tests grep logs for it.
const testKey = "of-test-admin-key-5f2d9c"

// upstreamKey is the fake vendor key; it must never appear in any output.
const upstreamKey = "sk-test-vendor-key-8c1e4b"

// core is a running oneflow process.
type core struct {
	t       *testing.T
	cmd     *exec.Cmd
	dir     string
	cfgPath string
	base    string
	logMu   sync.Mutex
	logs    bytes.Buffer
	exited  chan struct{}
}

// configFor renders a config: one OpenAI-compatible provider per upstream
// URL, each serving gpt-4o-mini, and the cost strategy by default.
func configFor(upstreams []string, extra string) string {
	var b strings.Builder
	// Default blocks, each left out when extra brings its own.
	defaults := []struct{ name, body string }{
		{"server", `listen = "127.0.0.1:0"
  shutdown_timeout = "10s"`},
		{"auth", `admin_key = env("TEST_ADMIN_KEY")`},
		{"storage", `database_url = env("ONEFLOW_DATABASE_URL", "sqlite://data/oneflow.db")`},
		{"redis", `url = env("REDIS_URL", "")`},
		{"routing", `default_strategy = "cost"
  strategy_timeout = "500ms"`},
		// Limits off unless a test turns them on: most tests send bursts.
		{"rate_limit", `per_minute = 0
  per_hour = 0`},
	}
	for _, d := range defaults {
		if !strings.Contains(extra, d.name+" {") {
			fmt.Fprintf(&b, "%s {\n  %s\n}\n", d.name, d.body)
		}
	}
	fmt.Fprintf(&b, `
plugin "openai" {
  kind = "provider"
  path = %q
}
plugin "cost" {
  kind = "strategy"
  path = %q
}
plugin "quality" {
  kind = "strategy"
  path = %q
}
strategy "cost" {
  plugin = "cost"
}
strategy "quality" {
  plugin = "quality"
}
`, filepath.Join(bin, "oneflow-provider-openai"), filepath.Join(bin, "oneflow-strategy-cost"), filepath.Join(bin, "oneflow-strategy-quality"))
	for i, u := range upstreams {
		fmt.Fprintf(&b, `
provider "up%d" {
  plugin   = "openai"
  api_key  = env("TEST_UPSTREAM_KEY")
  base_url = %q
  model "gpt-4o-mini" {
    modality       = "text"
    input_price    = %d
    output_price   = %d
    quality        = %d
    context_window = 128000
    tokenizer      = "o200k_base"
  }
}
`, i, u, i+1, i+2, 50+i)
	}
	b.WriteString(extra)
	return b.String()
}

// shippedConfig is the repository's own oneflow.hcl, used as is: tests
// that start a core with it run in a directory whose bin/plugins points
// at the binaries TestMain built.
func shippedConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../oneflow.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func startCore(t *testing.T, cfg string, env ...string) *core {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(dir, "bin", "plugins")); err != nil {
		t.Fatal(err)
	}
	c := &core{t: t, dir: dir, cfgPath: filepath.Join(dir, "oneflow.hcl"), exited: make(chan struct{})}
	c.writeConfig(cfg)
	c.cmd = exec.Command(filepath.Join(bin, "oneflow"), "serve", "-config", c.cfgPath)
	c.cmd.Dir = dir
	c.cmd.Env = append(cleanEnv(), "TEST_ADMIN_KEY="+testKey, "TEST_UPSTREAM_KEY="+upstreamKey,
		"ONEFLOW_ADMIN_KEY="+testKey, "ONEFLOW_LISTEN=127.0.0.1:0")
	c.cmd.Env = append(c.cmd.Env, env...)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.logMu.Lock()
			c.logs.WriteString(line + "\n")
			c.logMu.Unlock()
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["@message"] == "oneflow serving" {
				if a, ok := rec["addr"].(string); ok {
					addr <- a
				}
			}
		}
	}()
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("core logs:\n%s", c.Logs())
		}
		if strings.Contains(c.Logs(), upstreamKey) || strings.Contains(c.Logs(), testKey) {
			t.Errorf("a secret appears in the core's logs")
		}
	})
	select {
	case a := <-addr:
		c.base = "http://" + a
	case <-c.exited:
		t.Fatalf("core exited during start:\n%s", c.Logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("core did not start:\n%s", c.Logs())
	}
	return c
}

func (c *core) Logs() string {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.logs.String()
}

func (c *core) writeConfig(cfg string) {
	c.t.Helper()
	if err := os.WriteFile(c.cfgPath, []byte(cfg), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *core) signal(sig syscall.Signal) {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatal(err)
	}
}

func (c *core) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *core) do(method, path string, body any) (*http.Response, []byte) {
	c.t.Helper()
	resp, b, err := c.try(context.Background(), method, path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, b
}

func (c *core) try(ctx context.Context, method, path string, body any) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

type pluginRow struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	PID        int    `json:"pid"`
	State      string `json:"state"`
	Restarts   int64  `json:"restarts"`
	Generation int64  `json:"generation"`
	Error      string `json:"error"`
}

func (c *core) plugins() (int64, []pluginRow) {
	c.t.Helper()
	resp, b := c.do("GET", "/api/v1/plugins", nil)
	if resp.StatusCode != 200 {
		c.t.Fatalf("plugins: %d %s", resp.StatusCode, b)
	}
	var out struct {
		Generation int64       `json:"generation"`
		Plugins    []pluginRow `json:"plugins"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatal(err)
	}
	return out.Generation, out.Plugins
}

func (c *core) waitReady() {
	c.t.Helper()
	waitFor(c.t, "ready", 30*time.Second, func() bool {
		resp, _, err := c.try(context.Background(), "GET", "/ready", nil)
		return err == nil && resp.StatusCode == 200
	})
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func newUpstream(t *testing.T, f fakeupstream.Faults) (*fakeupstream.Server, string) {
	t.Helper()
	fu := fakeupstream.New(f, 1)
	srv := httptest.NewServer(fu)
	t.Cleanup(srv.Close)
	return fu, srv.URL + "/v1"
}

func chatBody(model string) map[string]any {
	return map[string]any{"model": model, "messages": []map[string]any{{"role": "user", "content": "Say hello"}}}
}

// cleanEnv is the test's environment without vendor keys or OneFlow
// settings a developer may have exported, so results do not depend on it.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ONEFLOW_") || strings.HasSuffix(k, "_API_KEY") || strings.HasSuffix(k, "_BASE_URL") || k == "REDIS_URL" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
