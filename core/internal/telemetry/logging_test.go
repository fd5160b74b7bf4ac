package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Fake credentials, shaped like the real ones but never valid anywhere.
const (
	fakeOpenAIKey = "sk-proj-FAKEFAKEFAKEFAKE1234567890abcd"
	fakeAnthKey   = "sk-ant-api03-FAKEfakeFAKEfake_0123456789-xyz"
	fakeOFKey     = "of_live_FAKE0123456789abcdef"
	fakeAdminKey  = "of-admin-0123456789abcdef0123"
	fakeJWT       = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWZha2U"
	fakeJWTSecret = "my jwt secret <with> \"quotes\" & stuff"
)

func TestRedactorReplacesSecrets(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"configured secret", []string{"hunter2-custom-key"}, "key=hunter2-custom-key end", "key=[REDACTED] end"},
		{"configured secret twice", []string{"hunter2-custom-key"}, "hunter2-custom-key/hunter2-custom-key", "[REDACTED]/[REDACTED]"},
		{"longer secret containing a shorter one", []string{"abcd", "abcdefgh"}, "x abcdefgh y", "x [REDACTED] y"},
		{"short secrets ignored", []string{"ab", ""}, "ab cab", "ab cab"},
		{"openai key pattern", nil, "calling with " + fakeOpenAIKey + " now", "calling with [REDACTED] now"},
		{"anthropic key pattern", nil, `{"key":"` + fakeAnthKey + `"}`, `{"key":"[REDACTED]"}`},
		{"short sk- is not a key", nil, "task sk-1 done", "task sk-1 done"},
		{"bearer header in JSON", nil, `{"authorization":"Bearer abc.def-123"}`, `{"authorization":"[REDACTED]"}`},
		{"lowercase bearer", nil, "authorization: bearer tok123 rest", "authorization: [REDACTED] rest"},
		{"bearer before escaped quote", nil, `"msg":"header \"Bearer tok123\" seen"`, `"msg":"header \"[REDACTED]\" seen"`},
		{"oneflow api key", nil, "key " + fakeOFKey + ".", "key [REDACTED]."},
		{"oneflow admin key", nil, "admin=" + fakeAdminKey, "admin=[REDACTED]"},
		{"jwt", nil, "token=" + fakeJWT + " ok", "token=[REDACTED] ok"},
		{"nothing secret", nil, "plain log line with sk and Bearer-less text", "plain log line with sk and Bearer-less text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := NewRedactor(&buf, tt.secrets)
			n, err := r.Write([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.in) {
				t.Errorf("Write returned %d, want len(p) = %d", n, len(tt.in))
			}
			if buf.String() != tt.want {
				t.Errorf("wrote %q, want %q", buf.String(), tt.want)
			}
			if got := r.Redact(tt.in); got != tt.want {
				t.Errorf("Redact = %q, want %q", got, tt.want)
			}
		})
	}
}

// The logger end to end: secrets passed as hclog fields, inside error
// values and inside messages never reach the output, in either format.
func TestLoggerThroughRedactorLeaksNoSecret(t *testing.T) {
	secrets := []string{fakeJWTSecret, "plain-admin-secret-value"}
	for _, jsonFormat := range []bool{true, false} {
		t.Run(fmt.Sprintf("json=%v", jsonFormat), func(t *testing.T) {
			var buf bytes.Buffer
			log := NewLogger(NewRedactor(&buf, secrets), "debug", jsonFormat)
			log.Info("calling vendor", "provider", "openai", "api_key", fakeOpenAIKey)
			log.Error("request failed", "err", errors.New("vendor said: invalid key "+fakeAnthKey))
			log.Debug("config", "jwt_secret", fakeJWTSecret, "admin", "plain-admin-secret-value")
			log.Warn("auth header Bearer " + fakeJWT)
			log.Named("plugin").Info("re-emitted", "line", `{"Authorization":"Bearer tok-xyz"}`)
			out := buf.String()
			for _, s := range []string{fakeOpenAIKey, fakeAnthKey, fakeJWT, "tok-xyz", "plain-admin-secret-value", "my jwt secret", jsonEscaped(fakeJWTSecret)} {
				if strings.Contains(out, s) {
					t.Errorf("output leaks %q:\n%s", s, out)
				}
			}
			if got := strings.Count(out, Redacted); got < 6 {
				t.Errorf("%d redactions, want at least 6:\n%s", got, out)
			}
			if jsonFormat {
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var v map[string]any
					if err := json.Unmarshal([]byte(line), &v); err != nil {
						t.Errorf("redaction broke a JSON line %q: %v", line, err)
					}
				}
			}
		})
	}
}

func TestRedactorSetSecretsReplacesTheSet(t *testing.T) {
	var buf bytes.Buffer
	r := NewRedactor(&buf, []string{"old-secret-value"})
	r.SetSecrets([]string{"new-secret-value"})
	_, _ = r.Write([]byte("old-secret-value new-secret-value"))
	if got, want := buf.String(), "old-secret-value [REDACTED]"; got != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
	if s := fmt.Sprintf("%v", r); strings.Contains(s, "secret-value") {
		t.Fatalf("String leaks secrets: %s", s)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRedactorReportsWriterErrors(t *testing.T) {
	n, err := NewRedactor(failingWriter{}, nil).Write([]byte("x"))
	if err == nil || n != 0 {
		t.Fatalf("n=%d err=%v, want 0 and the writer's error", n, err)
	}
}

// syncBuffer makes bytes.Buffer safe for the concurrent writes below.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestRedactorConcurrentReload(t *testing.T) {
	var buf syncBuffer
	r := NewRedactor(&buf, []string{"secret-one-value"})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				if i == 0 && j%20 == 0 {
					r.SetSecrets([]string{"secret-one-value", fmt.Sprintf("rotating-%d", j)})
				}
				_, _ = r.Write([]byte("x secret-one-value y\n"))
			}
		}()
	}
	wg.Wait()
	if strings.Contains(buf.b.String(), "secret-one-value") {
		t.Fatal("a secret kept across SetSecrets leaked")
	}
}

func TestRedactorCleanLineDoesNotAllocate(t *testing.T) {
	r := NewRedactor(discard{}, []string{"some-configured-secret"})
	line := []byte(`{"@level":"info","@message":"request served","route":"/v1/chat/completions","status":200}` + "\n")
	if a := testing.AllocsPerRun(1000, func() { _, _ = r.Write(line) }); a != 0 {
		t.Fatalf("a clean line costs %v allocations", a)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestNewLoggerLevels(t *testing.T) {
	tests := []struct {
		level     string
		wantDebug bool
		wantInfo  bool
	}{
		{"debug", true, true},
		{"INFO", false, true},
		{"warn", false, false},
		{"nonsense", false, true}, // falls back to info
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			log := NewLogger(&buf, tt.level, true)
			log.Debug("dbg")
			log.Info("inf")
			out := buf.String()
			if strings.Contains(out, `"dbg"`) != tt.wantDebug || strings.Contains(out, `"inf"`) != tt.wantInfo {
				t.Errorf("level %q wrote %q", tt.level, out)
			}
			if tt.wantInfo && !strings.Contains(out, `"@module":"oneflow"`) {
				t.Errorf("logger not named oneflow: %q", out)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    hclog.Level
		wantErr bool
	}{
		{"trace", hclog.Trace, false},
		{" Warn ", hclog.Warn, false},
		{"off", hclog.Off, false},
		{"verbose", hclog.NoLevel, true},
		{"", hclog.NoLevel, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLevel(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

func BenchmarkRedactorCleanLine(b *testing.B) {
	r := NewRedactor(discard{}, []string{"sk-configured-0000000000000000", "admin-secret-value"})
	line := []byte(`{"@level":"info","@message":"request served","@module":"oneflow","route":"/v1/chat/completions","status":200,"request_id":"01J9Z"}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Write(line)
	}
}

func BenchmarkRedactorDirtyLine(b *testing.B) {
	r := NewRedactor(discard{}, []string{"admin-secret-value"})
	line := []byte(`{"@level":"error","@message":"vendor refused key ` + fakeOpenAIKey + `","@module":"oneflow"}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Write(line)
	}
}
