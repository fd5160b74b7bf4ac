package main

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oneflow-ai/oneflow/core/internal/config"
	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

func durs(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sample []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", durs(7), 99, 7 * time.Millisecond},
		{"p0 is the minimum", durs(1, 2, 3), 0, time.Millisecond},
		{"p100 is the maximum", durs(1, 2, 3), 100, 3 * time.Millisecond},
		{"median of four is the second (nearest rank)", durs(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"median of five", durs(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p99 of ten is the maximum", durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p above 100 is clamped", durs(1, 2), 150, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sample, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sample, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"unsorted input is sorted", durs(30, 10, 20), Summary{N: 3, Min: 10 * time.Millisecond, Mean: 20 * time.Millisecond,
			P50: 20 * time.Millisecond, P90: 30 * time.Millisecond, P99: 30 * time.Millisecond, Max: 30 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLinearFit(t *testing.T) {
	tests := []struct {
		name         string
		xs, ys       []float64
		slope, icept float64
		ok           bool
	}{
		{"exact line", []float64{0, 1, 2, 3}, []float64{100, 102, 104, 106}, 2, 100, true},
		{"flat", []float64{0, 1, 2}, []float64{50, 50, 50}, 0, 50, true},
		{"noisy around a slope of one", []float64{0, 1, 2, 3}, []float64{0, 2, 1, 3}, 0.8, 0.3, true},
		{"one point", []float64{1}, []float64{1}, 0, 0, false},
		{"all x equal", []float64{2, 2}, []float64{1, 3}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, i, ok := linearFit(tt.xs, tt.ys)
			if ok != tt.ok || math.Abs(s-tt.slope) > 1e-9 || math.Abs(i-tt.icept) > 1e-9 {
				t.Errorf("linearFit = %v, %v, %v; want %v, %v, %v", s, i, ok, tt.slope, tt.icept, tt.ok)
			}
		})
	}
}

const statusText = "Name:\toneflow\nState:\tS (sleeping)\nPid:\t4242\nPPid:\t1\nVmPeak:\t 1300000 kB\nVmRSS:\t   51234 kB\nThreads:\t9\nCpus_allowed:\t1\nCpus_allowed_list:\t0\n"

func TestParseRSSKB(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"running process", statusText, 51234, false},
		{"zombie has no VmRSS", "Name:\tx\nState:\tZ (zombie)\n", 0, false},
		{"unknown unit", "VmRSS:\t 12 MB\n", 0, true},
		{"garbage number", "VmRSS:\t twelve kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRSSKB(tt.status)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseRSSKB = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if v, ok := statusField(statusText, "Cpus_allowed_list"); !ok || v != "0" {
		t.Errorf("Cpus_allowed_list = %q, %v; want 0", v, ok)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{"plain", "4242 (oneflow) S 1 4242 4242 0 -1 4194560 3000 0 0 0 150 37 0 0 20 0 9 0 12345 1300000000 12808 18446744073709551615\n",
			procStat{PID: 4242, Comm: "oneflow", PPID: 1, UTime: 150, STime: 37}, false},
		{"comm with spaces and parentheses", "77 (a (b) c) R 42 77 77 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1\n",
			procStat{PID: 77, Comm: "a (b) c", PPID: 42, UTime: 5, STime: 6}, false},
		{"truncated", "77 (x) R 42 77\n", procStat{}, true},
		{"no comm", "77 x R 42\n", procStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseStat = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDescendants(t *testing.T) {
	parents := map[int]int{1: 0, 10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 30: 12}
	tests := []struct {
		root int
		want []int
	}{
		{10, []int{10, 11, 12, 13, 30}},
		{20, []int{20}},
		{99, []int{99}}, // gone: just itself
	}
	for _, tt := range tests {
		t.Run("root "+itoa(tt.root), func(t *testing.T) {
			if got := descendants(parents, tt.root); !equalInts(got, tt.want) {
				t.Errorf("descendants(%d) = %v, want %v", tt.root, got, tt.want)
			}
		})
	}
}

// TestProcfsSample sums a fake process tree: a core with two plugins and
// an unrelated process.
func TestProcfsSample(t *testing.T) {
	root := t.TempDir()
	write := func(pid, ppid int, comm string, rssKB, utime, stime int, cpus string) {
		dir := filepath.Join(root, itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := itoa(pid) + " (" + comm + ") S " + itoa(ppid) + " 1 1 0 -1 0 0 0 0 0 " + itoa(utime) + " " + itoa(stime) + " 0 0 20 0 1 0 1 1 1\n"
		status := "Name:\t" + comm + "\nVmRSS:\t" + itoa(rssKB) + " kB\nCpus_allowed_list:\t" + cpus + "\n"
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(100, 1, "oneflow", 40000, 300, 100, "0")
	write(101, 100, "oneflow-provide", 15000, 50, 10, "0")
	write(102, 100, "oneflow-strateg", 12000, 5, 5, "0-1")
	write(200, 1, "other", 99999, 1, 1, "0-1")
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil { // not a pid
		t.Fatal(err)
	}
	s, err := procfs{root: root}.sample(100)
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKB != 67000 || s.CPUTicks != 470 || len(s.Procs) != 3 {
		t.Fatalf("sample = %+v; want RSS 67000 kB, 470 ticks, 3 processes", s)
	}
	if s.Procs[2].CPUs != "0-1" || s.Procs[0].Comm != "oneflow" {
		t.Errorf("processes = %+v", s.Procs)
	}
	if _, err := (procfs{root: root}).sample(555); err == nil {
		t.Error("sampling a missing process succeeded")
	}
}

// stepReader hands out one line per Read, so the clock advances between
// lines like a stream that arrives chunk by chunk.
type stepReader struct{ lines []string }

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.lines) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.lines[0])
	r.lines[0] = r.lines[0][n:]
	if r.lines[0] == "" {
		r.lines = r.lines[1:]
	}
	return n, nil
}

func TestReadSSE(t *testing.T) {
	// The chunk shapes follow the fake upstream's (OpenAI chat chunks):
	// a role chunk with empty content, content chunks, a finish chunk.
	const role = `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null}}]}` + "\n"
	content := func(s string) string { return `data: {"choices":[{"index":0,"delta":{"content":"` + s + `"}}]}` + "\n" }
	const finish = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n"
	base := time.Unix(1700000000, 0)
	tests := []struct {
		name        string
		lines       []string
		wantData    int
		wantContent int
		wantDone    bool
		firstDataAt int // clock tick of the first data line
		gaps        []time.Duration
	}{
		{"whole stream", []string{role, "\n", content("Hello"), "\n", content(" world"), "\n", finish, "\n", "data: [DONE]\n", "\n"},
			5, 2, true, 1, []time.Duration{2 * time.Millisecond}},
		{"comments, event names and CRLF are skipped", []string{": ping\r\n", "event: message\r\n", content("a")[:len(content("a"))-1] + "\r\n", "\r\n", "data:[DONE]\r\n"},
			2, 1, true, 3, nil},
		{"cut before DONE", []string{role, content("x"), content("y"), content("z")},
			4, 3, false, 1, []time.Duration{time.Millisecond, time.Millisecond}},
		{"empty", nil, 0, 0, false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tick := 0
			now := func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Millisecond) }
			got, err := readSSE(&stepReader{lines: append([]string(nil), tt.lines...)}, now)
			if err != nil {
				t.Fatal(err)
			}
			if got.DataLines != tt.wantData || len(got.Content) != tt.wantContent || got.Done != tt.wantDone {
				t.Fatalf("readSSE = %d data lines, %d content, done %v; want %d, %d, %v", got.DataLines, len(got.Content), got.Done, tt.wantData, tt.wantContent, tt.wantDone)
			}
			if tt.wantData > 0 && !got.FirstData.Equal(base.Add(time.Duration(tt.firstDataAt)*time.Millisecond)) {
				t.Errorf("first data line stamped %v, want tick %d", got.FirstData.Sub(base), tt.firstDataAt)
			}
			if g := got.gaps(); !equalDurs(g, tt.gaps) {
				t.Errorf("gaps = %v, want %v", g, tt.gaps)
			}
		})
	}
}

func TestReadSSEError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := readSSE(io.MultiReader(strings.NewReader("data: {}\n"), errReader{boom}), time.Now)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestHasContent(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"delta":{"content":"Hi"}}`, true},
		{`{"delta":{"content": "Hi"}}`, true},
		{`{"delta":{"role":"assistant","content":""}}`, false},
		{`{"delta":{"content":null}}`, false},
		{`{"delta":{}}`, false},
		{`{"a":{"content":""},"delta":{"content":"x"}}`, true},
		{`{"delta":{"content":"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := hasContent([]byte(tt.in)); got != tt.want {
				t.Errorf("hasContent(%s) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSearchRate(t *testing.T) {
	capacity := func(c int) probeFunc { return func(rate int) (bool, error) { return rate <= c, nil } }
	tests := []struct {
		name       string
		plan       searchPlan
		capacity   int
		wantBest   int
		wantFailed int
		wantProbes []int
		wantCapped bool
	}{
		{"steps then bisects", searchPlan{Start: 1000, Step: 500, Resolution: 100, MaxRate: 30000, MaxProbes: 20}, 2300,
			2250, 2312, []int{1000, 1500, 2000, 2500, 2250, 2375, 2312}, false},
		{"fails at the start", searchPlan{Start: 1000, Step: 500, Resolution: 200, MaxRate: 30000, MaxProbes: 20}, 300,
			250, 375, []int{1000, 500, 250, 375}, false},
		{"nothing passes", searchPlan{Start: 1000, Step: 500, Resolution: 300, MaxRate: 30000, MaxProbes: 20}, 0,
			0, 250, []int{1000, 500, 250}, false},
		{"capped by the highest rate", searchPlan{Start: 1000, Step: 500, Resolution: 100, MaxRate: 2000, MaxProbes: 20}, 1 << 30,
			2000, 0, []int{1000, 1500, 2000}, true},
		{"capped by the probe budget", searchPlan{Start: 1000, Step: 1000, Resolution: 1, MaxRate: 30000, MaxProbes: 4}, 2600,
			2500, 3000, []int{1000, 2000, 3000, 2500}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := searchRate(tt.plan, capacity(tt.capacity))
			if err != nil {
				t.Fatal(err)
			}
			var rates []int
			for _, p := range got.Probes {
				rates = append(rates, p.Rate)
			}
			if got.Best != tt.wantBest || got.Failed != tt.wantFailed || got.Capped != tt.wantCapped || !equalInts(rates, tt.wantProbes) {
				t.Errorf("searchRate = best %d failed %d capped %v probes %v; want %d %d %v %v",
					got.Best, got.Failed, got.Capped, rates, tt.wantBest, tt.wantFailed, tt.wantCapped, tt.wantProbes)
			}
			if tt.capacity > 0 && got.Best > tt.capacity {
				t.Errorf("best %d exceeds the capacity %d", got.Best, tt.capacity)
			}
		})
	}
	t.Run("probe error stops the search", func(t *testing.T) {
		boom := errors.New("core died")
		_, err := searchRate(searchPlan{Start: 1000, Step: 500, Resolution: 100, MaxProbes: 5}, func(int) (bool, error) { return false, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("invalid plan", func(t *testing.T) {
		if _, err := searchRate(searchPlan{}, capacity(1)); err == nil {
			t.Fatal("an empty plan was accepted")
		}
	})
}

func TestRatioCheck(t *testing.T) {
	tests := []struct {
		name                string
		value, floor, limit float64
		atMost              bool
		status              string
	}{
		{"within", 0.2, 0.1, 2.5, true, "PASS"},
		{"over", 0.3, 0.1, 2.5, true, "FAIL"},
		{"floor adds nothing: compared to 10µs", 0.02, -0.001, 2.5, true, "PASS"},
		{"rate high enough", 4000, 10000, 0.35, false, "PASS"},
		{"rate too low", 3000, 10000, 0.35, false, "FAIL"},
		{"floor sustained nothing", 3000, 0, 0.35, false, "not measured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := ratioCheck(tt.name, tt.value, tt.floor, tt.limit, tt.atMost, "ms"); c.Status != tt.status {
				t.Errorf("status %s (%s), want %s", c.Status, c.Detail, tt.status)
			}
		})
	}
}

func TestChecksReportWhatWasNotMeasured(t *testing.T) {
	o, err := parseOptions([]string{"-quick"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r := &Results{
		Rates:  []*RateResult{{Target: "floor", Rate: 1000, AddedP50: 0.1, AddedP99: 0.2}, {Target: "bare", Rate: 1000, AddedP50: 0.2, AddedP99: 0.9}},
		Search: map[string]*SearchFig{"floor": {searchResult: searchResult{Best: 8000}}, "bare": {searchResult: searchResult{Best: 3000}}},
	}
	got := map[string]string{}
	for _, c := range checks(r, o) {
		got[c.Name] = c.Status
	}
	want := map[string]string{
		"bare: added p50 at 1000 req/s ≤ 2.5× floor":                        "PASS",
		"bare: added p99 at 1000 req/s ≤ 3.0× floor":                        "FAIL",
		"bare: highest rate with no error and p99 < 20ms ≥ 0.35× floor":     "PASS",
		"governed: added p50 at 1000 req/s ≤ 3.5× floor":                    "not measured",
		"governed: added p99 at 1000 req/s ≤ 3.5× floor":                    "not measured",
		"governed: highest rate with no error and p99 < 20ms ≥ 0.35× floor": "not measured",
	}
	for name, status := range want {
		if got[name] != status {
			t.Errorf("%s: %q, want %q (all: %v)", name, got[name], status, got)
		}
	}
	if md := renderMarkdown(r); !strings.Contains(md, "| 1000 | bare |") {
		t.Errorf("markdown lacks the fixed-rate row:\n%s", md)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(*options) bool
		wantErr bool
	}{
		{"full defaults", nil, func(o *options) bool {
			return o.seqN == 3000 && o.rateDur == 10*time.Second && o.search.Resolution == 100
		}, false},
		{"quick defaults", []string{"-quick"}, func(o *options) bool {
			return o.seqN == 300 && o.rateDur == 2*time.Second && o.search.MaxProbes == 8 && o.search.Step == 1000
		}, false},
		{"explicit beats quick", []string{"-quick", "-rate-dur", "7s"}, func(o *options) bool { return o.rateDur == 7*time.Second }, false},
		{"direct is always measured", []string{"-targets", "bare"}, func(o *options) bool { return equalStrings(o.targets, []string{"direct", "bare"}) }, false},
		{"bad mode", []string{"-mode", "fast"}, nil, true},
		{"bad target", []string{"-targets", "nginx"}, nil, true},
		{"bad rates", []string{"-rates", "500,x"}, nil, true},
		{"profile without pprof", []string{"-profile", "cpu.out"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && !tt.check(o) {
				t.Errorf("options = %+v", o)
			}
		})
	}
}

func TestOutputLines(t *testing.T) {
	tests := []struct {
		name  string
		match func(string) (string, bool)
		line  string
		want  string
		ok    bool
	}{
		{"helper", listeningLine, "listening 127.0.0.1:4321", "127.0.0.1:4321", true},
		{"helper other line", listeningLine, "starting", "", false},
		{"core", servingLine, `{"@level":"info","@message":"oneflow serving","addr":"127.0.0.1:5555","generation":1}`, "127.0.0.1:5555", true},
		{"core other message", servingLine, `{"@message":"oneflow serving soon"}`, "", false},
		{"core text line", servingLine, `oneflow serving at 1.2.3.4`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.match(tt.line)
			if got != tt.want || ok != tt.ok {
				t.Errorf("= %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestRenderedConfigLoads keeps the harness's configs valid as the config
// schema evolves.
func TestRenderedConfigLoads(t *testing.T) {
	for _, governed := range []bool{false, true} {
		t.Run(map[bool]string{false: "bare", true: "governed"}[governed], func(t *testing.T) {
			dir := t.TempDir()
			src := renderConfig(coreConfig{BinDir: "/opt/oneflow/bin", DatabaseURL: sqliteURL(dir),
				UpstreamURL: "http://127.0.0.1:9", LogLevel: "info", Governed: governed})
			env := func(k string) (string, bool) {
				if k == "ONEFLOW_ADMIN_KEY" {
					return "of-test-admin", true
				}
				return "", false
			}
			cfg, diags := config.Parse([]byte(src), filepath.Join(dir, "oneflow.hcl"), config.WithEnv(env))
			if diags.HasErrors() {
				t.Fatalf("config does not load: %s\n%s", diags.Error(), src)
			}
			wantMin := map[bool]int{false: 0, true: 10_000_000}[governed]
			if cfg.RateLimit.PerMinute != wantMin {
				t.Errorf("per_minute = %d, want %d", cfg.RateLimit.PerMinute, wantMin)
			}
		})
	}
}

// TestFloorStreams sends one stream through the floor's proxy in process:
// chunks must arrive spread out, not buffered until the end.
func TestFloorStreams(t *testing.T) {
	up := httptest.NewServer(fakeupstream.New(fakeupstream.Faults{StreamChunks: 4, ChunkGap: 20 * time.Millisecond}, 1))
	defer up.Close()
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	floor := httptest.NewServer(floorProxy(u))
	defer floor.Close()
	tg := &target{Name: "floor", URL: floor.URL + "/v1/chat/completions", Key: "unused", Model: "gpt-4o-mini", client: newClient()}
	_, tm, err := tg.streamOnce(t.Context(), chatBody(tg.Model, true))
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Content) != 4 {
		t.Fatalf("%d content chunks, want 4", len(tm.Content))
	}
	for _, g := range tm.gaps() {
		if g < 10*time.Millisecond {
			t.Fatalf("gaps %v: chunks were buffered", tm.gaps())
		}
	}
	if _, err := tg.once(t.Context(), chatBody(tg.Model, false)); err != nil {
		t.Fatal(err)
	}
}

func TestChatBody(t *testing.T) {
	if got := string(chatBody("auto", true)); got != `{"model":"auto","messages":[{"role":"user","content":"Say hello"}],"stream":true}` {
		t.Errorf("chatBody = %s", got)
	}
	if !bytes.Contains(chatBody("gpt-4o-mini", false), []byte(`"gpt-4o-mini"`)) || bytes.Contains(chatBody("x", false), []byte("stream")) {
		t.Error("non-streaming body is wrong")
	}
}

func TestGovernKeyReportsStoreUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"message":"create project: the store is unavailable; retry shortly","code":"store_unavailable"}}`)
	}))
	defer srv.Close()
	g := &gateway{base: srv.URL}
	_, err := g.governKey(t.Context(), "of-admin-secret-123")
	if !errors.Is(err, errStoreUnavailable) {
		t.Fatalf("err = %v, want errStoreUnavailable", err)
	}
	if strings.Contains(err.Error(), "of-admin-secret-123") {
		t.Fatal("the admin key appears in the error")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func equalInts(a, b []int) bool { return slices.Equal(a, b) }

func equalDurs(a, b []time.Duration) bool { return slices.Equal(a, b) }

func equalStrings(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// The cores' config points at the external stores when they are given.
func TestRenderedConfigUsesExternalStores(t *testing.T) {
	dir := t.TempDir()
	src := renderConfig(coreConfig{BinDir: "/opt/oneflow/bin", DatabaseURL: "postgres://postgres@db:5432/oneflow_bench_x?sslmode=disable",
		RedisURL: "redis://cache:6379/2", UpstreamURL: "http://127.0.0.1:9", LogLevel: "info", Governed: true})
	cfg, diags := config.Parse([]byte(src), filepath.Join(dir, "oneflow.hcl"), config.WithEnv(func(k string) (string, bool) {
		return "of-test-admin", k == "ONEFLOW_ADMIN_KEY"
	}))
	if diags.HasErrors() {
		t.Fatalf("config does not load: %s\n%s", diags.Error(), src)
	}
	if cfg.Storage.DatabaseURL != "postgres://postgres@db:5432/oneflow_bench_x?sslmode=disable" || cfg.Redis.URL != "redis://cache:6379/2" {
		t.Errorf("database_url = %q, redis url = %q", cfg.Storage.DatabaseURL, cfg.Redis.URL)
	}
}

func TestStoreURLs(t *testing.T) {
	got, err := withDatabase("postgres://u:secret@db:5432/test?sslmode=disable", "oneflow_bench_bare_1_ab")
	if err != nil || got != "postgres://u:secret@db:5432/oneflow_bench_bare_1_ab?sslmode=disable" {
		t.Errorf("withDatabase = %q, %v", got, err)
	}
	if _, err := withDatabase("mysql://db/test", "x"); err == nil {
		t.Error("withDatabase took a mysql:// URL")
	}
	if got, _ := withDatabase("postgres://db/test?dbname=test&sslmode=disable", "mine"); got != "postgres://db/mine?sslmode=disable" {
		t.Errorf("withDatabase kept a dbname parameter: %q", got)
	}
	if err := checkPostgresURL("postgres://u:hun%zzter@db/x"); err == nil || strings.Contains(err.Error(), "hun") {
		t.Errorf("checkPostgresURL = %v; want an error without the password", err)
	}
	leaky := errors.New("cannot parse `postgres://u:s3cret@db/x?password=hunter2&sslmode=bogus`: bad sslmode")
	if msg := scrubURLSecrets(leaky, "postgres://u:s3cret@db/x?password=hunter2&sslmode=bogus").Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "hunter2") {
		t.Errorf("scrubURLSecrets left a password: %s", msg)
	}
	tests := []struct{ in, want string }{
		{"postgres://u:secret@db:5432/test?sslmode=disable&password=p2", "postgres://db:5432/test"},
		{"redis://:hunter2@cache:6379/0", "redis://cache:6379/0"},
		{"not a url", "(unparseable URL)"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	s := stores{postgres: "postgres://u:secret@db:5432/test", redis: "redis://:hunter2@cache:6379/0"}
	if d := s.describe(); strings.Contains(d, "secret") || strings.Contains(d, "hunter2") || !strings.Contains(d, "db:5432") {
		t.Errorf("describe = %q", d)
	}
	if got := s.serverComms(); !equalStrings(got, []string{"postgres", "redis-server"}) {
		t.Errorf("serverComms = %v", got)
	}
	if got := (stores{}).serverComms(); len(got) != 0 {
		t.Errorf("serverComms without stores = %v", got)
	}
}

// TestProcfsCPUByComm adds up every process of a name, wherever it sits in
// the tree: PostgreSQL forks a backend per connection.
func TestProcfsCPUByComm(t *testing.T) {
	root := t.TempDir()
	for _, p := range []struct {
		pid                          int
		comm                         string
		utime, stime, cutime, cstime int
	}{{10, "postgres", 5, 1, 20, 2}, {11, "postgres", 30, 4, 0, 0}, {12, "redis-server", 7, 3, 0, 0}, {13, "oneflow", 99, 99, 0, 0}} {
		dir := filepath.Join(root, itoa(p.pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := itoa(p.pid) + " (" + p.comm + ") S 1 1 1 0 -1 0 0 0 0 0 " + itoa(p.utime) + " " + itoa(p.stime) + " " +
			itoa(p.cutime) + " " + itoa(p.cstime) + " 20 0 1 0 1 1 1\n"
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := procfs{root: root}.cpuByComm("postgres", "redis-server")
	if err != nil {
		t.Fatal(err)
	}
	// The postmaster (10) carries 22 ticks of reaped backends.
	if got["postgres"] != 62 || got["redis-server"] != 10 || len(got) != 2 {
		t.Errorf("cpuByComm = %v, want postgres 62, redis-server 10", got)
	}
	if got, _ := (procfs{root: root}).cpuByComm("mysqld"); len(got) != 0 {
		t.Errorf("cpuByComm of a name with no process = %v, want an empty map", got)
	}
}

// TestCreateDatabase makes and drops a core's database on the test
// PostgreSQL (ONEFLOW_TEST_POSTGRES_URL or the local default); under CI a
// missing server fails the test.
func TestCreateDatabase(t *testing.T) {
	server := os.Getenv("ONEFLOW_TEST_POSTGRES_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := t.Context()
	coreURL, drop, err := createDatabase(ctx, server, "bare")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable under CI: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	conn, err := pgx.Connect(ctx, coreURL)
	if err != nil {
		_ = drop(ctx)
		t.Fatalf("connect to the new database: %v", err)
	}
	var name string
	err = conn.QueryRow(ctx, "SELECT current_database()").Scan(&name)
	_ = conn.Close(ctx)
	if err != nil || !strings.HasPrefix(name, "oneflow_bench_bare_") {
		t.Errorf("current_database() = %q, %v", name, err)
	}
	if err := drop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, coreURL); err == nil {
		t.Error("the database is still there after drop")
	}
}

func TestMaskPasswords(t *testing.T) {
	args := []string{"-mode", "latency", "-database-url", "postgres://app:s3cret@db:5432/test?sslmode=disable",
		"--redis-url=redis://:hunter2@cache:6379/0", "-out", "x.json", "-database-url=postgres://db/test?password=pw"}
	got := strings.Join(maskPasswords(args), " ")
	for _, secret := range []string{"s3cret", "hunter2", "=pw"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q is in %q", secret, got)
		}
	}
	for _, kept := range []string{"postgres://app:xxxxx@db:5432/test?sslmode=disable", "--redis-url=redis://:xxxxx@cache:6379/0", "-out x.json"} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q is not in %q", kept, got)
		}
	}
	if args[3] != "postgres://app:s3cret@db:5432/test?sslmode=disable" {
		t.Error("maskPasswords changed its argument")
	}
}

// A stall in one of direct's two steps at a rate must not make the added
// figures negative: each percentile subtracts the lower of the two.
func TestAddedOverUsesTheQuieterDirectStep(t *testing.T) {
	step := func(name string, p50, p99 time.Duration) *RateResult {
		return &RateResult{Target: name, Latency: Summary{P50: p50, P99: p99}}
	}
	direct := step("direct", 150*time.Microsecond, 9600*time.Microsecond) // one stall
	floor := step("floor", 300*time.Microsecond, 800*time.Microsecond)
	bare := step("bare", 800*time.Microsecond, 3*time.Millisecond)
	after := step("direct/after", 170*time.Microsecond, 400*time.Microsecond)
	addedOver([]*RateResult{direct, floor, bare, after})
	if floor.AddedP50 != 0.15 || floor.AddedP99 != 0.4 {
		t.Errorf("floor added %v / %v ms, want 0.15 / 0.4", floor.AddedP50, floor.AddedP99)
	}
	if bare.AddedP50 != 0.65 || bare.AddedP99 != 2.6 {
		t.Errorf("bare added %v / %v ms, want 0.65 / 2.6", bare.AddedP50, bare.AddedP99)
	}
	if direct.AddedP99 != 0 || after.AddedP99 != 0 {
		t.Error("a direct step got an added figure")
	}
	// Without any direct step nothing is subtracted.
	lone := step("bare", time.Millisecond, 2*time.Millisecond)
	addedOver([]*RateResult{lone})
	if lone.AddedP50 != 0 || lone.AddedP99 != 0 {
		t.Errorf("added without direct: %v / %v", lone.AddedP50, lone.AddedP99)
	}
}
