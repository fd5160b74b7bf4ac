package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// testBinary is the test plugin, built once by TestMain.
var testBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "oneflow-plugins-test")
	if err != nil {
		panic(err)
	}
	testBinary = filepath.Join(dir, "testplugin")
	out, err := exec.Command("go", "build", "-o", testBinary, "./testdata/testplugin").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func fastOpts() Options {
	return Options{ExitPoll: 20 * time.Millisecond, HealthInterval: 200 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Trace})
}

func spec(name string, env map[string]string) Spec {
	return Spec{Name: name, Plugin: "testplugin", Kind: KindProvider, Path: testBinary, Env: env,
		Provider: provider.Config{APIKey: "sk-test-secret"}}
}

func chat(t *testing.T, in *Instance) (*provider.ChatResponse, error) {
	t.Helper()
	c, release, err := in.Provider()
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Chat(ctx, &provider.ChatRequest{Model: "echo", Messages: []provider.Message{provider.TextMessage(provider.RoleUser, "hi")}})
}

func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRealPluginAnswers(t *testing.T) {
	in := NewInstance(spec("echo", nil), fastOpts(), testLogger(t))
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer in.Stop(time.Second)
	resp, err := chat(t, in)
	if err != nil {
		t.Fatal(err)
	}
	st := in.Status()
	if !strings.HasPrefix(resp.Content, "hi (pid ") || st.State != StateServing || st.Version != "0.0.1" || st.PID == 0 {
		t.Fatalf("got %q, status %+v", resp.Content, st)
	}
	if info := in.Info(); info == nil || len(info.Capabilities) == 0 || info.Capabilities[0] != provider.CapChat {
		t.Fatalf("capabilities not described: %+v", info)
	}
}

func TestKill9Restarts(t *testing.T) {
	restarted := make(chan string, 4)
	opts := fastOpts()
	opts.OnRestart = func(name string) { restarted <- name }
	in := NewInstance(spec("echo", nil), opts, testLogger(t))
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer in.Stop(time.Second)
	for round := 1; round <= 2; round++ {
		pid := in.Status().PID
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// The supervisor marks the new process serving before it counts
		// the restart and calls OnRestart: wait for all three.
		waitFor(t, "a new process", 10*time.Second, func() bool {
			st := in.Status()
			return st.State == StateServing && st.PID != 0 && st.PID != pid && st.Restarts >= int64(round)
		})
		if got := in.Status().Restarts; got != int64(round) {
			t.Fatalf("round %d: restarts = %d", round, got)
		}
		select {
		case <-restarted:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: OnRestart was not called", round)
		}
		if _, err := chat(t, in); err != nil {
			t.Fatalf("round %d: after restart: %v", round, err)
		}
		if alive(pid) {
			t.Fatalf("killed pid %d still exists", pid)
		}
	}
	if n := len(restarted); n != 0 {
		t.Fatalf("OnRestart called %d more times than the process was killed", n)
	}
}

func TestCrashDuringCallIsUnavailableAndRestarts(t *testing.T) {
	in := NewInstance(spec("echo", map[string]string{"TESTPLUGIN_CRASH_ON_CHAT": "1"}), fastOpts(), testLogger(t))
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer in.Stop(time.Second)
	pid := in.Status().PID
	_, err := chat(t, in)
	if k := provider.KindOf(err); k != provider.KindUnavailable {
		t.Fatalf("crash mid-call: kind %v, err %v", k, err)
	}
	in.ReportFailure()
	waitFor(t, "restart after crash", 10*time.Second, func() bool {
		st := in.Status()
		return st.State == StateServing && st.PID != pid
	})
}

func TestRefusals(t *testing.T) {
	sum, err := fileSHA256(testBinary)
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Repeat("0", 64)
	tests := []struct {
		name    string
		spec    Spec
		wantErr []string
	}{
		{"wrong protocol version", func() Spec { s := spec("v2", map[string]string{"TESTPLUGIN_PROTOCOL": "2"}); return s }(),
			[]string{"Plugin version: 2", "Client versions: [1]", "protocol version 1"}},
		{"wrong checksum", func() Spec { s := spec("tampered", nil); s.SHA256 = wrong; return s }(),
			[]string{"checksum"}},
		{"missing binary", func() Spec { s := spec("missing", nil); s.Path = "/nonexistent/plugin"; return s }(),
			[]string{"/nonexistent/plugin"}},
		{"right checksum", func() Spec { s := spec("verified", nil); s.SHA256 = sum; return s }(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Launch(context.Background(), []Spec{tt.spec}, nil, fastOpts(), testLogger(t), true)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				set.Stop(time.Second)
				return
			}
			if err == nil {
				set.Stop(time.Second)
				t.Fatal("launch succeeded; want refusal")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "sk-test-secret") {
				t.Errorf("error leaks the API key: %v", err)
			}
		})
	}
}

func TestStopKillsAndDrains(t *testing.T) {
	set, err := Launch(context.Background(), []Spec{spec("a", nil), spec("b", nil), spec("c", nil)},
		map[string]string{"c": "set the TEST_KEY environment variable"}, fastOpts(), testLogger(t), true)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := set.Get("c")
	if st := c.Status(); st.State != StateUnconfigured || !strings.Contains(st.Error, "TEST_KEY") {
		t.Fatalf("unconfigured instance: %+v", st)
	}
	a, _ := set.Get("a")
	_, release, err := a.Provider()
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, st := range set.Statuses() {
		if st.PID != 0 {
			pids = append(pids, st.PID)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("pids %v", pids)
	}
	stopped := make(chan struct{})
	go func() { set.Stop(5 * time.Second); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a call was in flight")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	<-stopped
	for _, pid := range pids {
		waitFor(t, "process exit", 5*time.Second, func() bool { return !alive(pid) })
	}
}

func TestBackoffBounds(t *testing.T) {
	for failures := 0; failures < 20; failures++ {
		for i := 0; i < 50; i++ {
			d := backoff(failures, 100*time.Millisecond, 30*time.Second)
			want := 100 * time.Millisecond << min(failures, 9)
			if want > 30*time.Second {
				want = 30 * time.Second
			}
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", failures, d, want/2, want)
			}
		}
	}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
