package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Results is everything one run measured; it is written as JSON.
type Results struct {
	Machine  Machine                  `json:"machine"`
	Command  string                   `json:"command"`
	Mode     string                   `json:"mode"`
	Quick    bool                     `json:"quick"`
	Started  time.Time                `json:"started"`
	Elapsed  time.Duration            `json:"elapsed_ns"`
	Settings map[string]string        `json:"settings"`
	Notes    []string                 `json:"notes,omitempty"`
	Procs    map[string]ProcSample    `json:"processes_idle,omitempty"` // after start, before load
	Seq      map[string]*SeqFigure    `json:"sequential,omitempty"`
	Rates    []*RateResult            `json:"fixed_rates,omitempty"`
	Search   map[string]*SearchFig    `json:"max_rate,omitempty"`
	Streams  map[string]*StreamResult `json:"streams,omitempty"`
	Load     map[string]*RateResult   `json:"under_load,omitempty"` // the step RSS and CPU/request come from
	Soak     *SoakResult              `json:"soak,omitempty"`
	Checks   []Check                  `json:"checks,omitempty"`
}

// SeqFigure is concurrency-1 latency with what it adds over direct.
type SeqFigure struct {
	SeqResult
	AddedP50 float64 `json:"added_p50_ms"`
	AddedP99 float64 `json:"added_p99_ms"`
}

// SearchFig is a rate search and the criteria it used.
type SearchFig struct {
	searchResult
	Results []*RateResult `json:"probe_results"`
}

// driver holds the processes of one run.
type driver struct {
	o        *options
	out      io.Writer // progress
	pf       procfs
	res      *Results
	adminKey string

	upstream *child
	floor    *child
	gws      map[string]*gateway
	targets  []*target // direct, floor, bare, governed, in that order, as available
	auto     *target   // bare core with model "auto"
}

func drive(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	if _, err := os.Stat(filepath.Join(o.binDir, "oneflow")); err != nil && slices.ContainsFunc(o.targets, isGateway) {
		return fmt.Errorf("no %s/oneflow: run `make build` first (or pass -bin): %w", o.binDir, err)
	}
	d := &driver{o: o, out: stderr, pf: procfs{root: "/proc"}, gws: map[string]*gateway{}}
	d.res = &Results{
		Machine: machineInfo(o.binDir), Command: "go run ./core/bench " + strings.Join(maskPasswords(o.args), " "),
		Mode: o.mode, Quick: o.quick, Started: time.Now().UTC(), Settings: o.settings(),
		Procs: map[string]ProcSample{},
	}
	key, err := randomKey()
	if err != nil {
		return err
	}
	d.adminKey = key
	defer d.cleanup()
	if err := d.start(ctx); err != nil {
		return err
	}
	if err := d.measure(ctx); err != nil {
		return err
	}
	d.res.Elapsed = time.Since(d.res.Started)
	d.res.Machine.LoadAvgEnd = readLoadAvg()
	d.res.Checks = checks(d.res, o)
	md := renderMarkdown(d.res)
	fmt.Fprint(stdout, md)
	if o.mdOut != "" {
		if err := os.WriteFile(o.mdOut, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", o.mdOut, err)
		}
	}
	if o.out != "" {
		b, err := json.MarshalIndent(d.res, "", "  ")
		if err != nil {
			return fmt.Errorf("encode results: %w", err)
		}
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", o.out, err)
		}
	}
	return nil
}

func isGateway(name string) bool { return name == "bare" || name == "governed" }

// isDirect reports whether a step measured the upstream itself.
func isDirect(name string) bool { return name == "direct" || name == "direct/after" }

func randomKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make an admin key: %w", err)
	}
	return "of-bench-" + hex.EncodeToString(b), nil
}

func (o *options) settings() map[string]string {
	return map[string]string{
		"gateway_cpu": strconv.Itoa(o.gatewayCPU), "load_cpu": strconv.Itoa(o.loadCPU),
		"seq_n": strconv.Itoa(o.seqN), "rates": fmt.Sprint(o.rates), "rate_dur": o.rateDur.String(),
		"probe_dur": o.probeDur.String(), "search": fmt.Sprintf("%+v", o.search), "p99_limit": o.p99Limit.String(),
		"stream_n": strconv.Itoa(o.streamN), "stream_levels": fmt.Sprint(o.streamLevels), "stream_dur": o.streamDur.String(),
		"chunks": strconv.Itoa(o.chunks), "chunk_gap": o.chunkGap.String(), "gw_log_level": o.gwLogLevel,
		"stores": o.stores.describe(),
	}
}

func (d *driver) logf(format string, args ...any) {
	fmt.Fprintf(d.out, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (d *driver) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.res.Notes = append(d.res.Notes, msg)
	d.logf("NOTE %s", msg)
}

func (d *driver) cleanup() {
	for _, g := range d.gws {
		g.cleanup()
	}
	if d.floor != nil {
		d.floor.stop(5 * time.Second)
	}
	if d.upstream != nil {
		d.upstream.stop(5 * time.Second)
	}
}

// start launches the upstream, the floor and the cores, and checks where
// each process is allowed to run.
func (d *driver) start(ctx context.Context) error {
	o := d.o
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the driver's own binary: %w", err)
	}
	d.logf("driver pid %d, cpus %s", os.Getpid(), d.cpusOf(os.Getpid()))
	up, err := startChild(ctx, "upstream", pinned(o.loadCPU, self, "upstream", "-chunks", strconv.Itoa(o.chunks), "-gap", o.chunkGap.String()), cleanEnv(), "", o.logDir, listeningLine)
	if err != nil {
		return err
	}
	d.upstream = up
	upURL := "http://" + up.addr
	d.targets = append(d.targets, &target{Name: "direct", URL: upURL + "/v1/chat/completions", Key: "unused", Model: "gpt-4o-mini", client: newClient()})
	d.logf("upstream %s pid %d cpus %s", up.addr, up.pid(), d.cpusOf(up.pid()))

	if slices.Contains(o.targets, "floor") {
		fl, err := startChild(ctx, "floor", pinned(o.gatewayCPU, self, "floor", "-upstream", upURL), cleanEnv(), "", o.logDir, listeningLine)
		if err != nil {
			return err
		}
		d.floor = fl
		d.targets = append(d.targets, &target{Name: "floor", URL: "http://" + fl.addr + "/v1/chat/completions", Key: "unused", Model: "gpt-4o-mini", PID: fl.pid(), client: newClient()})
		d.logf("floor %s pid %d cpus %s", fl.addr, fl.pid(), d.cpusOf(fl.pid()))
	}
	for _, fl := range []gatewayFlavor{{Name: "bare"}, {Name: "governed", Governed: true}} {
		if !slices.Contains(o.targets, fl.Name) {
			continue
		}
		pprof := ""
		if fl.Name == "bare" {
			pprof = o.gwPprof
		}
		g, err := startGateway(ctx, o, fl, upURL, d.adminKey, pprof)
		if err != nil {
			return fmt.Errorf("start the %s core: %w", fl.Name, err)
		}
		d.gws[fl.Name] = g
		if fl.Governed {
			k, err := g.governKey(ctx, d.adminKey)
			if err != nil {
				if errors.Is(err, errStoreUnavailable) {
					d.note("governed: not measured: %v (the store-backed accounts are not wired into this core yet)", err)
				} else {
					d.note("governed: not measured: %v", err)
				}
				d.sampleIdle(fl.Name, g.pid())
				g.cleanup()
				delete(d.gws, fl.Name)
				continue
			}
			g.key = k
		}
		t := &target{Name: fl.Name, URL: g.base + "/v1/chat/completions", Key: g.key, Model: "gpt-4o-mini", PID: g.pid(), client: newClient()}
		d.targets = append(d.targets, t)
		if fl.Name == "bare" {
			d.auto = &target{Name: "bare/auto", URL: t.URL, Key: t.Key, Model: "auto", PID: t.PID, client: newClient()}
		}
	}
	// Idle figures: everything started, nothing sent yet beyond readiness.
	time.Sleep(time.Second)
	for _, t := range d.targets {
		if t.PID != 0 {
			d.sampleIdle(t.Name, t.PID)
		}
	}
	return nil
}

// sampleIdle records a target's process tree at rest and checks that
// every process in it is pinned where it should be.
func (d *driver) sampleIdle(name string, pid int) {
	s, err := d.pf.sample(pid)
	if err != nil {
		d.note("%s: cannot sample processes: %v", name, err)
		return
	}
	d.res.Procs[name] = s
	want := strconv.Itoa(d.o.gatewayCPU)
	for _, p := range s.Procs {
		d.logf("%s: pid %d %s rss %d kB cpus %s", name, p.PID, p.Comm, p.RSSKB, p.CPUs)
		if d.o.gatewayCPU >= 0 && p.CPUs != want {
			d.note("%s: process %d (%s) may run on CPUs %s, not only %s", name, p.PID, p.Comm, p.CPUs, want)
		}
	}
}

func (d *driver) cpusOf(pid int) string {
	s, err := d.pf.read(pid, "status")
	if err != nil {
		return "?"
	}
	v, _ := statusField(s, "Cpus_allowed_list")
	return v
}

func (d *driver) target(name string) *target {
	for _, t := range d.targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func (d *driver) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(d.o.settle):
	}
}

func (d *driver) measure(ctx context.Context) error {
	if d.o.wants("latency") {
		if err := d.measureSequential(ctx); err != nil {
			return err
		}
		d.measureRates(ctx)
	}
	if d.o.wants("rate") {
		if err := d.measureSearch(ctx); err != nil {
			return err
		}
	}
	if d.o.wants("stream") {
		d.measureStreams(ctx)
	}
	if d.o.wants("rss") {
		if d.o.mode == "rss" {
			d.measureLoadOnly(ctx)
		}
		if d.o.soak > 0 {
			if err := d.measureSoak(ctx); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// seqTargets are the targets of latency figures, "auto" included.
func (d *driver) seqTargets() []*target {
	out := slices.Clone(d.targets)
	if d.auto != nil {
		out = append(out, d.auto)
	}
	return out
}

func (d *driver) measureSequential(ctx context.Context) error {
	d.res.Seq = map[string]*SeqFigure{}
	for _, t := range d.seqTargets() {
		d.logf("concurrency 1: %s, %d requests", t.Name, d.o.seqN)
		r, err := sequential(ctx, t, d.o.seqN, min(200, d.o.seqN))
		if err != nil {
			return fmt.Errorf("sequential requests to %s: %w", t.Name, err)
		}
		d.res.Seq[t.Name] = &SeqFigure{SeqResult: r}
		d.pause(ctx)
	}
	if direct := d.res.Seq["direct"]; direct != nil {
		for _, f := range d.res.Seq {
			f.AddedP50 = ms(f.Latency.P50 - direct.Latency.P50)
			f.AddedP99 = ms(f.Latency.P99 - direct.Latency.P99)
		}
	}
	return nil
}

// loadStep runs one fixed-rate step and, for a target with a process,
// the CPU time and RSS it took.
func (d *driver) loadStep(ctx context.Context, t *target, rate int, dur time.Duration) *RateResult {
	var before ProcSample
	if t.PID != 0 {
		before, _ = d.pf.sample(t.PID)
	}
	var prof chan error
	if d.o.profileOut != "" && t.Name == "bare" && rate == d.o.profileRate {
		prof = make(chan error, 1)
		go func() { prof <- fetchProfile(ctx, d.o.gwPprof, d.o.profileOut, dur) }()
	}
	servers := d.o.stores.serverComms()
	var serversBefore map[string]int64
	if t.PID != 0 && len(servers) > 0 {
		serversBefore, _ = d.pf.cpuByComm(servers...)
	}
	r := attack(ctx, t, rate, dur, false)
	if serversBefore != nil && r.OK > 0 {
		if after, err := d.pf.cpuByComm(servers...); err == nil {
			for _, comm := range servers {
				was, before := serversBefore[comm]
				now, found := after[comm]
				if !before || !found {
					continue // runs on another machine, or started or stopped meanwhile
				}
				r.ServerCPU = append(r.ServerCPU, procCPU{Comm: comm, CPUPerReq: cpuMicros(now-was, r.OK)})
			}
		}
	}
	if t.PID != 0 {
		if after, err := d.pf.sample(t.PID); err == nil && r.OK > 0 {
			r.RSSKB = after.RSSKB
			r.CPUPerReq = cpuMicros(after.CPUTicks-before.CPUTicks, r.OK)
			for _, p := range after.Procs {
				var was int64
				for _, q := range before.Procs {
					if q.PID == p.PID {
						was = q.CPUTicks
					}
				}
				r.CPUByProc = append(r.CPUByProc, procCPU{Comm: p.Comm, PID: p.PID, CPUPerReq: cpuMicros(p.CPUTicks-was, r.OK)})
			}
		}
	}
	if prof != nil {
		if err := <-prof; err != nil {
			d.note("CPU profile: %v", err)
		} else {
			d.logf("CPU profile of the bare core at %d req/s written to %s", rate, d.o.profileOut)
		}
	}
	d.logf("%-9s %5d req/s: sent %d ok %d err %d achieved %.0f/s p50 %.3fms p99 %.3fms cpu %.1fus/req",
		t.Name, rate, r.Sent, r.OK, r.Errors, r.Achieved, ms(r.Latency.P50), ms(r.Latency.P99), r.CPUPerReq)
	return &r
}

func cpuMicros(ticks int64, reqs int) float64 {
	if reqs <= 0 {
		return 0
	}
	return float64(ticks) * 1e6 / clockTicks / float64(reqs)
}

func (d *driver) measureRates(ctx context.Context) {
	d.res.Load = map[string]*RateResult{}
	for _, rate := range d.o.rates {
		ts := slices.Clone(d.targets)
		if rate == 1000 && d.auto != nil {
			ts = append(ts, d.auto)
		}
		if len(ts) > 1 {
			// Direct again after the others: see addedOver.
			ts = append(ts, &target{Name: "direct/after", URL: ts[0].URL, Key: ts[0].Key, Model: ts[0].Model, client: ts[0].client})
		}
		var step []*RateResult
		for _, t := range ts {
			if ctx.Err() != nil {
				return
			}
			r := d.loadStep(ctx, t, rate, d.o.rateDur)
			step = append(step, r)
			d.res.Rates = append(d.res.Rates, r)
			if rate == 1000 && t.PID != 0 {
				d.res.Load[t.Name] = r
			}
			d.pause(ctx)
		}
		addedOver(step)
	}
}

// addedOver sets the added figures of one rate's steps against direct,
// which step measures first and, when it holds other targets, again last
// ("direct/after"). Each percentile subtracts the lower of direct's two:
// one stall in a 10 s direct step raised its p99 to 9.6 ms once, which
// made every added p99 of that rate negative and the ratios meaningless.
func addedOver(step []*RateResult) {
	var p50, p99 time.Duration
	first := true
	for _, r := range step {
		if !isDirect(r.Target) {
			continue
		}
		if first || r.Latency.P50 < p50 {
			p50 = r.Latency.P50
		}
		if first || r.Latency.P99 < p99 {
			p99 = r.Latency.P99
		}
		first = false
	}
	if first {
		return
	}
	for _, r := range step {
		if !isDirect(r.Target) {
			r.AddedP50 = ms(r.Latency.P50 - p50)
			r.AddedP99 = ms(r.Latency.P99 - p99)
		}
	}
}

// measureLoadOnly is -mode rss: one -load-rate step per process target
// for RSS under load and CPU per request.
func (d *driver) measureLoadOnly(ctx context.Context) {
	d.res.Load = map[string]*RateResult{}
	for _, t := range d.targets {
		if t.PID != 0 && ctx.Err() == nil {
			r := d.loadStep(ctx, t, d.o.loadRate, d.o.rateDur)
			d.res.Rates = append(d.res.Rates, r)
			d.res.Load[t.Name] = r
			d.pause(ctx)
		}
	}
}

// passes is the sustainable-rate criterion: no errors, p99 under the
// limit, and the load generator kept the pace (a rate it could not send
// was not sustained).
func (d *driver) passes(r *RateResult, rate int, dur time.Duration) bool {
	want := float64(rate) * dur.Seconds()
	return r.Errors == 0 && r.Latency.P99 < d.o.p99Limit && float64(r.Sent) >= 0.95*want
}

func (d *driver) measureSearch(ctx context.Context) error {
	d.res.Search = map[string]*SearchFig{}
	for _, t := range d.targets {
		fig := &SearchFig{}
		d.logf("rate search: %s", t.Name)
		sr, err := searchRate(d.o.search, func(rate int) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			r := d.loadStep(ctx, t, rate, d.o.probeDur)
			fig.Results = append(fig.Results, r)
			d.pause(ctx)
			return d.passes(r, rate, d.o.probeDur), nil
		})
		if err != nil {
			return fmt.Errorf("rate search on %s: %w", t.Name, err)
		}
		fig.searchResult = sr
		d.res.Search[t.Name] = fig
		d.logf("rate search: %s sustains %d req/s (first failure %d)", t.Name, sr.Best, sr.Failed)
	}
	return nil
}

func (d *driver) measureStreams(ctx context.Context) {
	d.res.Streams = map[string]*StreamResult{}
	stall := 10 * d.o.chunkGap
	spread := time.Duration(d.o.chunks+1) * d.o.chunkGap
	for _, t := range d.targets {
		d.logf("streams: %s, %d sequential", t.Name, d.o.streamN)
		r := sequentialStreams(ctx, t, d.o.streamN)
		d.res.Streams[t.Name] = &r
		d.pause(ctx)
	}
	if direct := d.res.Streams["direct"]; direct != nil {
		for _, r := range d.res.Streams {
			r.AddedTTFTP50 = ms(r.TTFT.P50 - direct.TTFT.P50)
			r.AddedTTFTP99 = ms(r.TTFT.P99 - direct.TTFT.P99)
			r.AddedGapMean = ms(r.Gap.Mean - direct.Gap.Mean)
			r.AddedGapP99 = ms(r.Gap.P99 - direct.Gap.P99)
		}
	}
	for _, t := range d.targets {
		r := d.res.Streams[t.Name]
		for _, n := range d.o.streamLevels {
			if ctx.Err() != nil {
				return
			}
			step := concurrentStreams(ctx, t, n, d.o.streamDur, stall, spread)
			r.Ramp = append(r.Ramp, step)
			d.logf("streams: %-9s %4d concurrent: %d streams, %d errors, %d stalled, max gap %.1fms",
				t.Name, n, step.Streams, step.Errors, step.Stalls, ms(step.MaxGap))
			t.client.CloseIdleConnections()
			d.pause(ctx)
			if !step.Clean {
				break
			}
			r.MaxClean = n
		}
	}
}

// SoakResult is RSS over a long constant-rate run.
type SoakResult struct {
	Target    string        `json:"target"`
	Rate      int           `json:"rps"`
	Duration  time.Duration `json:"duration_ns"`
	WarmUp    time.Duration `json:"warm_up_ns"` // load before the first sample
	Samples   []SoakSample  `json:"samples"`
	LeakMBMin float64       `json:"leak_mb_per_min"` // slope of the least-squares fit
	Requests  int           `json:"requests"`
	Errors    int           `json:"errors"`
	Latency   Summary       `json:"latency"`
}

// SoakSample is one RSS reading of the soak.
type SoakSample struct {
	At    time.Duration `json:"at_ns"`
	RSSKB int64         `json:"rss_kb"`
}

func (d *driver) measureSoak(ctx context.Context) error {
	t := d.target(d.o.soakTarget)
	if t == nil {
		d.note("soak: target %s is not running; skipped", d.o.soakTarget)
		return nil
	}
	d.logf("soak: %s at %d req/s for %v, RSS every %v", t.Name, d.o.soakRate, d.o.soak, d.o.soakEvery)
	s := &SoakResult{Target: t.Name, Rate: d.o.soakRate, Duration: d.o.soak}
	// Warm up first: heaps, pools and caches grow during the first seconds
	// of load, and that growth is not a leak.
	warm := min(time.Minute, d.o.soak/5)
	d.logf("soak: warming up for %v", warm)
	s.WarmUp = warm
	attack(ctx, t, d.o.soakRate, warm, false)
	start := time.Now()
	sampleNow := func() {
		if ps, err := d.pf.sample(t.PID); err == nil {
			s.Samples = append(s.Samples, SoakSample{At: time.Since(start), RSSKB: ps.RSSKB})
			d.logf("soak: %v rss %.1f MB", time.Since(start).Round(time.Second), float64(ps.RSSKB)/1024)
		}
	}
	sampleNow()
	done := make(chan RateResult, 1)
	go func() { done <- attack(ctx, t, d.o.soakRate, d.o.soak, false) }()
	tick := time.NewTicker(d.o.soakEvery)
	defer tick.Stop()
	var r RateResult
wait:
	for {
		select {
		case <-tick.C:
			sampleNow()
		case r = <-done:
			break wait
		}
	}
	if n := len(s.Samples); n == 0 || time.Since(start)-s.Samples[n-1].At > d.o.soakEvery/2 {
		sampleNow()
	}
	s.Requests, s.Errors, s.Latency = r.Sent, r.Errors, r.Latency
	var xs, ys []float64
	for _, smp := range s.Samples {
		xs = append(xs, smp.At.Minutes())
		ys = append(ys, float64(smp.RSSKB)/1024)
	}
	if slope, _, ok := linearFit(xs, ys); ok {
		s.LeakMBMin = slope
	}
	d.res.Soak = s
	return ctx.Err()
}

// fetchProfile saves a CPU profile from the core's pprof listener taken
// over most of a load step.
func fetchProfile(ctx context.Context, addr, path string, during time.Duration) error {
	secs := max(1, int((during-time.Second)/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	if err != nil {
		return fmt.Errorf("build the profile request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch a CPU profile from %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch a CPU profile from %s: status %d", addr, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
