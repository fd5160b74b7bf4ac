package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// gatewayFlavor is how a OneFlow core is configured and called.
type gatewayFlavor struct {
	Name     string
	Governed bool
}

// coreConfig is what a core's config depends on.
type coreConfig struct {
	BinDir      string // holds plugins/
	DatabaseURL string // storage.database_url
	RedisURL    string // "" keeps rate limits in process
	UpstreamURL string
	LogLevel    string
	Governed    bool
}

// renderConfig is the core's HCL: one OpenAI-compatible provider in front
// of the fake upstream serving gpt-4o-mini, the cost strategy for "auto",
// and limits that never trigger (governed) or none at all (bare).
func renderConfig(c coreConfig) string {
	perMinute, perHour := 0, 0
	if c.Governed {
		// High enough never to trigger at any rate this harness sends, so
		// the limiter's cost is measured, not its refusals.
		perMinute, perHour = 10_000_000, 600_000_000
	}
	plugins := filepath.Join(c.BinDir, "plugins")
	return fmt.Sprintf(`# Written by core/bench; not a production config.
server {
  listen           = env("ONEFLOW_LISTEN", "127.0.0.1:0")
  shutdown_timeout = "10s"
}
storage {
  database_url = %q
}
redis {
  url = %q
}
auth {
  admin_key = env("ONEFLOW_ADMIN_KEY")
}
telemetry {
  log_level  = %q
  log_format = "json"
}
routing {
  default_strategy = "cost"
  strategy_timeout = "50ms"
}
rate_limit {
  per_minute        = %d
  per_hour          = %d
  tokens_per_minute = 0
}
plugin "openai" {
  kind = "provider"
  path = %q
}
plugin "cost" {
  kind = "strategy"
  path = %q
}
strategy "cost" {
  plugin = "cost"
}
provider "up" {
  plugin   = "openai"
  api_key  = "sk-bench-not-a-real-key"
  base_url = %q
  model "gpt-4o-mini" {
    modality       = "text"
    input_price    = 0.15
    output_price   = 0.60
    quality        = 75
    context_window = 128000
    tokenizer      = "o200k_base"
  }
}
`, c.DatabaseURL, c.RedisURL, c.LogLevel, perMinute, perHour,
		filepath.Join(plugins, "oneflow-provider-openai"), filepath.Join(plugins, "oneflow-strategy-cost"), c.UpstreamURL+"/v1")
}

// gateway is a running OneFlow core.
type gateway struct {
	*child
	flavor gatewayFlavor
	base   string // http://host:port
	dir    string
	key    string                      // what clients send: the admin key (bare) or a project key
	note   string                      // why it is not measured, when it is not
	dropDB func(context.Context) error // drops the core's PostgreSQL database; nil on SQLite
}

// startGateway writes a config into a fresh directory and starts the core
// on cpu; pprofAddr, when set, asks the core to serve Go's profiler there.
func startGateway(ctx context.Context, o *options, fl gatewayFlavor, upstreamURL, adminKey, pprofAddr string) (*gateway, error) {
	dir, err := os.MkdirTemp("", "oneflow-bench-"+fl.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("make a directory for the %s core: %w", fl.Name, err)
	}
	g := &gateway{flavor: fl, dir: dir, key: adminKey}
	dbURL := sqliteURL(dir)
	if o.stores.postgres != "" {
		if dbURL, g.dropDB, err = createDatabase(ctx, o.stores.postgres, fl.Name); err != nil {
			g.cleanup()
			return nil, fmt.Errorf("the %s core's database: %w", fl.Name, err)
		}
	}
	cfg := filepath.Join(dir, "oneflow.hcl")
	src := renderConfig(coreConfig{BinDir: o.binDir, DatabaseURL: dbURL, RedisURL: o.stores.redis,
		UpstreamURL: upstreamURL, LogLevel: o.gwLogLevel, Governed: fl.Governed})
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		g.cleanup()
		return nil, fmt.Errorf("write the %s core's config: %w", fl.Name, err)
	}
	env := append(cleanEnv(), "ONEFLOW_ADMIN_KEY="+adminKey, "ONEFLOW_LISTEN=127.0.0.1:0")
	env = append(env, o.gwEnv...)
	if pprofAddr != "" {
		env = append(env, "ONEFLOW_PPROF="+pprofAddr)
	}
	argv := pinned(o.gatewayCPU, filepath.Join(o.binDir, "oneflow"), "serve", "-config", cfg)
	c, err := startChild(ctx, "oneflow "+fl.Name, argv, env, dir, o.logDir, servingLine)
	if err != nil {
		g.cleanup()
		return nil, err
	}
	g.child, g.base = c, "http://"+c.addr
	if err := g.waitReady(ctx, 60*time.Second); err != nil {
		g.cleanup()
		return nil, err
	}
	return g, nil
}

func (g *gateway) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/ready", nil)
		if err != nil {
			return fmt.Errorf("build a readiness request: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v:\n%s", g.name, within, g.lastLines())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", g.name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cleanup stops the core and removes what it kept: its directory and, on
// PostgreSQL, its database. A database it cannot drop is reported on
// stderr and left behind, named oneflow_bench_*; the run goes on.
func (g *gateway) cleanup() {
	if g.child != nil {
		g.stop(15 * time.Second)
	}
	if g.dropDB != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.dropDB(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		}
	}
	_ = os.RemoveAll(g.dir)
}

// adminCall sends an admin API request with the admin key and decodes the
// answer into out. A 503 store_unavailable is errStoreUnavailable.
func (g *gateway) adminCall(ctx context.Context, adminKey, method, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", method, path, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read %s %s: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(rb), "store_unavailable") {
		return fmt.Errorf("%s %s: %w", method, path, errStoreUnavailable)
	}
	if resp.StatusCode/100 != 2 {
		// The body is an error message from our own core; it holds no key.
		return fmt.Errorf("%s %s: status %d: %.300s", method, path, resp.StatusCode, rb)
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// governKey creates a project with credits and a member key in it, so
// requests go through rate limits, credit reservation and usage records.
func (g *gateway) governKey(ctx context.Context, adminKey string) (string, error) {
	var p struct {
		ID string `json:"id"`
	}
	if err := g.adminCall(ctx, adminKey, http.MethodPost, "/api/v1/admin/projects", map[string]string{"name": "bench"}, &p); err != nil {
		return "", fmt.Errorf("create the bench project: %w", err)
	}
	var bal map[string]any
	if err := g.adminCall(ctx, adminKey, http.MethodPost, "/api/v1/admin/projects/"+p.ID+"/credits", map[string]string{"credits": "1000000"}, &bal); err != nil {
		return "", fmt.Errorf("top up the bench project: %w", err)
	}
	var k struct {
		Key string `json:"key"`
	}
	if err := g.adminCall(ctx, adminKey, http.MethodPost, "/api/v1/admin/keys", map[string]string{"project_id": p.ID, "name": "bench", "role": "member"}, &k); err != nil {
		return "", fmt.Errorf("create the bench key: %w", err)
	}
	if k.Key == "" {
		return "", fmt.Errorf("create the bench key: the answer holds no key")
	}
	return k.Key, nil
}
