package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

func TestChatThroughRealPlugin(t *testing.T) {
	fu, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			PromptTokens, CompletionTokens int64
			Credits                        string
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Object != "chat.completion" || out.Choices[0].Message.Content != "Hello from the fake upstream" {
		t.Fatalf("unexpected body %s", b)
	}
	if resp.Header.Get("X-OneFlow-Provider") != "up0" || resp.Header.Get("X-OneFlow-Model") != "gpt-4o-mini" {
		t.Fatalf("headers %v", resp.Header)
	}
	if resp.Header.Get("X-OneFlow-Credits") == "" || resp.Header.Get("X-OneFlow-Overhead-Ms") == "" {
		t.Fatalf("cost headers missing: %v", resp.Header)
	}
	if fu.Completed.Load() != 1 {
		t.Fatalf("upstream saw %d completed calls", fu.Completed.Load())
	}
}

func TestKill9PluginIsRestarted(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	pidOf := func() (int, int64) {
		_, rows := c.plugins()
		for _, r := range rows {
			if r.Name == "up0" {
				return r.PID, r.Restarts
			}
		}
		t.Fatal("up0 not listed")
		return 0, 0
	}
	pid, _ := pidOf()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "restart", 15*time.Second, func() bool {
		p, r := pidOf()
		return p != 0 && p != pid && r == 1
	})
	c.waitReady()
	if resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini")); resp.StatusCode != 200 {
		t.Fatalf("after restart: %d %s", resp.StatusCode, b)
	}
}

// TestSIGHUPReloadUnderLoad changes the provider set while requests flow:
// the new set serves, the old processes are gone, and no request fails.
func TestSIGHUPReloadUnderLoad(t *testing.T) {
	_, url1 := newUpstream(t, fakeupstream.Faults{})
	_, url2 := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url1}, ""))
	c.waitReady()
	gen0, rows0 := c.plugins()
	var oldPIDs []int
	for _, r := range rows0 {
		oldPIDs = append(oldPIDs, r.PID)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				for _, model := range []string{"gpt-4o-mini", "auto"} {
					resp, b, err := c.try(context.Background(), "POST", "/v1/chat/completions", chatBody(model))
					if err != nil || resp.StatusCode != 200 {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%v %v %s", err, resp != nil && resp.StatusCode != 0, b))
						continue
					}
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	c.writeConfig(configFor([]string{url1, url2}, ""))
	c.signal(syscall.SIGHUP)
	waitFor(t, "new generation", 30*time.Second, func() bool { g, _ := c.plugins(); return g > gen0 })
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	t.Logf("requests during reload: %d ok, %d failed", ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during reload; first: %v", failed.Load(), firstErr.Load())
	}
	if ok.Load() == 0 {
		t.Fatal("no requests ran")
	}
	_, rows := c.plugins()
	names := map[string]bool{}
	for _, r := range rows {
		names[r.Name] = true
		if r.State != "serving" {
			t.Errorf("plugin %s is %s after reload", r.Name, r.State)
		}
	}
	if !names["up1"] {
		t.Fatalf("new provider up1 not serving: %+v", rows)
	}
	for _, pid := range oldPIDs {
		waitFor(t, fmt.Sprintf("old plugin pid %d to exit", pid), 15*time.Second, func() bool { return !alive(pid) })
	}
}

func TestSIGHUPBrokenConfigKeepsServing(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	gen0, _ := c.plugins()
	// Line 3 of the broken file names an attribute the server block lacks.
	c.writeConfig("server {\n  listen = \"127.0.0.1:0\"\n  bogus_attribute = 1\n}\n")
	c.signal(syscall.SIGHUP)
	re := regexp.MustCompile(`oneflow\.hcl:3:\d+`)
	waitFor(t, "diagnostic with file:line:col in the log", 15*time.Second, func() bool { return re.MatchString(c.Logs()) })
	if g, _ := c.plugins(); g != gen0 {
		t.Fatalf("generation changed to %d on a broken config", g)
	}
	if resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini")); resp.StatusCode != 200 {
		t.Fatalf("old config stopped serving: %d %s", resp.StatusCode, b)
	}
	// The admin API reports the same refusal.
	resp, b := c.do("POST", "/api/v1/admin/reload", nil)
	if resp.StatusCode != 422 || !strings.Contains(string(b), "bogus_attribute") {
		t.Fatalf("reload API: %d %s", resp.StatusCode, b)
	}
}

func TestShutdownLeavesNoPluginProcess(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	_, rows := c.plugins()
	var pids []int
	for _, r := range rows {
		if r.PID == 0 {
			t.Fatalf("plugin %s has no pid: %+v", r.Name, r)
		}
		pids = append(pids, r.PID)
	}
	c.signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("core did not exit on SIGTERM")
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("plugin pid %d outlived the core", pid)
		}
	}
}

func TestCoreKilledLeavesNoOrphans(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	_, rows := c.plugins()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	for _, r := range rows {
		waitFor(t, fmt.Sprintf("orphan %s (pid %d) to die", r.Name, r.PID), 10*time.Second, func() bool { return !alive(r.PID) })
	}
}

// TestReloadDoesNotWaitForLongStreams: a reload returns as soon as the new
// config serves, while a stream that began before it runs on to its end on
// the old plugins, even past shutdown_timeout (a request can live as long
// as write_timeout). Reload used to wait for the old requests, holding
// later reloads and SIGTERM, and cut them at shutdown_timeout.
func TestReloadDoesNotWaitForLongStreams(t *testing.T) {
	const chunks = 60
	_, url := newUpstream(t, fakeupstream.Faults{StreamChunks: chunks, ChunkGap: 100 * time.Millisecond})
	server := `server {
  listen           = "127.0.0.1:0"
  shutdown_timeout = "2s"
  write_timeout    = "60s"
}
`
	c := startCore(t, configFor([]string{url}, server))
	c.waitReady()

	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		body := chatBody("gpt-4o-mini")
		body["stream"] = true
		_, b, err := c.post(context.Background(), "/v1/chat/completions", body, nil)
		done <- result{b, err}
	}()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	resp, b := c.do("POST", "/api/v1/admin/reload", nil)
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %d %s", resp.StatusCode, b)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("reload took %v with a stream in flight; want it to return once the new config serves", took)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	s := string(r.body)
	if strings.Contains(s, `"error"`) || !strings.HasSuffix(s, "data: [DONE]\n\n") {
		t.Fatalf("the stream begun before the reload did not end cleanly:\n%s", s)
	}
	if n := strings.Count(s, `"content":`); n < chunks {
		t.Errorf("the stream carried %d content chunks, want %d", n, chunks)
	}
}
