package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Machine describes where the numbers came from.
type Machine struct {
	NProc        int    `json:"nproc"`
	CPUModel     string `json:"cpu_model"`
	MemTotalMB   int64  `json:"mem_total_mb"`
	GoVersion    string `json:"go_version"`
	Kernel       string `json:"kernel"`
	GitRev       string `json:"git_rev,omitempty"`
	CoreBinary   string `json:"core_binary"`
	CoreBuilt    string `json:"core_binary_mtime,omitempty"`
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end,omitempty"`
}

func machineInfo(binDir string) Machine {
	m := Machine{GoVersion: runtime.Version(), LoadAvgStart: readLoadAvg(), CoreBinary: filepath.Join(binDir, "oneflow")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch strings.TrimSpace(k) {
			case "processor":
				m.NProc++
			case "model name":
				m.CPUModel = strings.TrimSpace(v)
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v, ok := statusField(string(b), "MemTotal"); ok {
			var kb int64
			if _, err := fmt.Sscanf(v, "%d kB", &kb); err == nil {
				m.MemTotalMB = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		m.GitRev = strings.TrimSpace(string(out))
	}
	if st, err := os.Stat(m.CoreBinary); err == nil {
		m.CoreBuilt = st.ModTime().UTC().Format(time.RFC3339)
	}
	return m
}

func readLoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// Check is one performance target and whether it was met.
type Check struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Limit  float64 `json:"limit"`
	Status string  `json:"status"` // PASS, FAIL or "not measured"
	Detail string  `json:"detail"`
}

// minFloorAdded keeps a ratio meaningful when the floor adds (almost)
// nothing or, by noise, less than nothing.
const minFloorAdded = 0.010 // ms

// ratioCheck: value/floor ≤ limit (atMost) or ≥ limit.
func ratioCheck(name string, value, floor, limit float64, atMost bool, unit string) Check {
	c := Check{Name: name, Limit: limit}
	den := floor
	if atMost {
		den = max(floor, minFloorAdded)
	}
	if den <= 0 {
		c.Status, c.Detail = "not measured", "the floor's figure is zero"
		return c
	}
	c.Value = value / den
	ok := c.Value <= limit
	if !atMost {
		ok = c.Value >= limit
	}
	c.Status = map[bool]string{true: "PASS", false: "FAIL"}[ok]
	c.Detail = fmt.Sprintf("%.3g %s vs floor %.3g %s = %.2f×", value, unit, floor, unit, c.Value)
	return c
}

func notMeasured(name string, limit float64, why string) Check {
	return Check{Name: name, Limit: limit, Status: "not measured", Detail: why}
}

// checks evaluates the targets against the floor.
func checks(r *Results, o *options) []Check {
	var out []Check
	rateAt := func(name string, rate int) *RateResult {
		for _, x := range r.Rates {
			if x.Target == name && x.Rate == rate {
				return x
			}
		}
		return nil
	}
	for _, g := range []struct {
		name           string
		p50Lim, p99Lim float64
	}{{"bare", 2.5, 3}, {"governed", 3.5, 3.5}} {
		n50 := fmt.Sprintf("%s: added p50 at 1000 req/s ≤ %.1f× floor", g.name, g.p50Lim)
		n99 := fmt.Sprintf("%s: added p99 at 1000 req/s ≤ %.1f× floor", g.name, g.p99Lim)
		gw, fl := rateAt(g.name, 1000), rateAt("floor", 1000)
		switch {
		case !o.wants("latency"):
		case gw == nil || fl == nil:
			out = append(out, notMeasured(n50, g.p50Lim, g.name+" or floor not run at 1000 req/s"), notMeasured(n99, g.p99Lim, g.name+" or floor not run at 1000 req/s"))
		default:
			out = append(out, ratioCheck(n50, gw.AddedP50, fl.AddedP50, g.p50Lim, true, "ms"),
				ratioCheck(n99, gw.AddedP99, fl.AddedP99, g.p99Lim, true, "ms"))
		}
		nr := fmt.Sprintf("%s: highest rate with no error and p99 < %v ≥ 0.35× floor", g.name, o.p99Limit)
		gs, fs := r.Search[g.name], r.Search["floor"]
		switch {
		case !o.wants("rate"):
		case gs == nil || fs == nil:
			out = append(out, notMeasured(nr, 0.35, g.name+" or floor not searched"))
		default:
			out = append(out, ratioCheck(nr, float64(gs.Best), float64(fs.Best), 0.35, false, "req/s"))
		}
	}
	return out
}

func renderMarkdown(r *Results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.Machine
	p("## Run\n\n")
	p("- Command: `%s` (mode %s, quick %v), started %s, took %v\n", r.Command, r.Mode, r.Quick, r.Started.Format(time.RFC3339), r.Elapsed.Round(time.Second))
	p("- Machine: %d × %s, %d MB RAM, kernel %s, %s; code %s; core binary built %s\n", m.NProc, m.CPUModel, m.MemTotalMB, m.Kernel, m.GoVersion, m.GitRev, m.CoreBuilt)
	p("- Load average at start %s, at end %s\n", m.LoadAvgStart, m.LoadAvgEnd)
	p("- Placement: gateway/floor (and plugins) on CPU %s; load generator and fake upstream on CPU %s\n", r.Settings["gateway_cpu"], r.Settings["load_cpu"])
	if st := r.Settings["stores"]; st != "" {
		p("- Cores' stores: %s\n", st)
	}
	p("\n")

	if len(r.Checks) > 0 {
		p("### Targets\n\n| target | status | detail |\n|---|---|---|\n")
		for _, c := range r.Checks {
			p("| %s | **%s** | %s |\n", c.Name, c.Status, c.Detail)
		}
		p("\n")
	}
	if len(r.Seq) > 0 {
		p("### (a) Concurrency 1 (%s sequential requests)\n\n", r.Settings["seq_n"])
		p("| target | p50 ms | p99 ms | added p50 ms | added p99 ms | errors |\n|---|---:|---:|---:|---:|---:|\n")
		for _, name := range targetOrder(r.Seq) {
			f := r.Seq[name]
			p("| %s | %.3f | %.3f | %s | %s | %d |\n", name, ms(f.Latency.P50), ms(f.Latency.P99), added(name, f.AddedP50), added(name, f.AddedP99), f.Errors)
		}
		p("\n")
	}
	if len(r.Rates) > 0 {
		p("### (b) Fixed rates (%s each, vegeta constant pacer)\n\n", r.Settings["rate_dur"])
		p("| req/s | target | answered/s | p50 ms | p99 ms | added p50 ms | added p99 ms | errors | CPU µs/req | RSS MB |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		direct := map[int]bool{}
		for _, x := range r.Rates {
			direct[x.Rate] = direct[x.Rate] || x.Target == "direct"
		}
		for _, x := range r.Rates {
			a50, a99 := added(x.Target, x.AddedP50), added(x.Target, x.AddedP99)
			if !direct[x.Rate] {
				a50, a99 = "–", "–" // nothing to subtract
			}
			p("| %d | %s | %.0f | %.3f | %.3f | %s | %s | %d | %s | %s |\n", x.Rate, x.Target, x.Achieved, ms(x.Latency.P50), ms(x.Latency.P99),
				a50, a99, x.Errors, optF(x.CPUPerReq, "%.0f"), optF(float64(x.RSSKB)/1024, "%.1f"))
		}
		p("\n")
	}
	if len(r.Search) > 0 {
		p("### (c) Highest rate with no error and p99 < %s (%s probes)\n\n", r.Settings["p99_limit"], r.Settings["probe_dur"])
		p("| target | sustained req/s | first failing req/s | probes (req/s: pass/fail) |\n|---|---:|---:|---|\n")
		for _, name := range targetOrder(r.Search) {
			s := r.Search[name]
			var pr []string
			for i, t := range s.Probes {
				v := "fail"
				if t.Pass {
					v = "pass"
				}
				if i < len(s.Results) && !t.Pass {
					x := s.Results[i]
					v = fmt.Sprintf("fail (p99 %.1fms, %d err, sent %d)", ms(x.Latency.P99), x.Errors, x.Sent)
				}
				pr = append(pr, fmt.Sprintf("%d: %s", t.Rate, v))
			}
			capped := ""
			if s.Capped {
				capped = " (capped)"
			}
			p("| %s | %d%s | %s | %s |\n", name, s.Best, capped, optI(s.Failed), strings.Join(pr, "; "))
		}
		p("\n")
	}
	if len(r.Streams) > 0 {
		p("### (d) Streaming (upstream: %s chunks %s apart; stall = a gap > 10× that)\n\n", r.Settings["chunks"], r.Settings["chunk_gap"])
		p("| target | TTFT p50 ms | added TTFT p50 / p99 ms | first token p50 ms | gap mean / p99 ms | added gap mean / p99 ms | errors | clean concurrent streams | ramp |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, name := range targetOrder(r.Streams) {
			s := r.Streams[name]
			var ramp []string
			for _, st := range s.Ramp {
				ramp = append(ramp, fmt.Sprintf("%d: %d streams, %d err, %d stalled, max gap %.0fms", st.Concurrency, st.Streams, st.Errors, st.Stalls, ms(st.MaxGap)))
			}
			p("| %s | %.3f | %s / %s | %.3f | %.3f / %.3f | %s / %s | %d | %d | %s |\n", name, ms(s.TTFT.P50), added(name, s.AddedTTFTP50), added(name, s.AddedTTFTP99),
				ms(s.TTFC.P50), ms(s.Gap.Mean), ms(s.Gap.P99), added(name, s.AddedGapMean), added(name, s.AddedGapP99), s.Errors, s.MaxClean, strings.Join(ramp, "; "))
		}
		p("\n")
	}
	if len(r.Procs) > 0 {
		p("### (e) Memory and CPU (process tree: core + plugins)\n\n")
		p("| target | idle RSS MB | idle by process | load step req/s | RSS MB after it | CPU µs/request | CPU by process µs/request |\n|---|---:|---|---:|---:|---:|---|\n")
		for _, name := range targetOrder(r.Procs) {
			s := r.Procs[name]
			var by []string
			for _, pr := range s.Procs {
				by = append(by, fmt.Sprintf("%s %.1f", pr.Comm, float64(pr.RSSKB)/1024))
			}
			rate, loadRSS, cpu, cpuBy := "–", "–", "–", "–"
			if l := r.Load[name]; l != nil {
				rate, loadRSS, cpu = fmt.Sprint(l.Rate), optF(float64(l.RSSKB)/1024, "%.1f"), optF(l.CPUPerReq, "%.0f")
				var parts []string
				for _, c := range l.CPUByProc {
					parts = append(parts, fmt.Sprintf("%s %.0f", c.Comm, c.CPUPerReq))
				}
				cpuBy = strings.Join(parts, ", ")
				var servers []string
				for _, c := range l.ServerCPU {
					servers = append(servers, fmt.Sprintf("%s %.0f", c.Comm, c.CPUPerReq))
				}
				if len(servers) > 0 {
					// Not in the tree's figure: unpinned, and on their own
					// machines in production.
					cpuBy += "; outside the tree (unpinned): " + strings.Join(servers, ", ")
				}
			}
			p("| %s | %.1f | %s | %s | %s | %s | %s |\n", name, float64(s.RSSKB)/1024, strings.Join(by, ", "), rate, loadRSS, cpu, cpuBy)
		}
		p("\n")
	}
	if s := r.Soak; s != nil {
		p("### Soak\n\n%s at %d req/s for %v after a %v warm-up: %d requests, %d errors, p99 %.3f ms; RSS %s; leak rate (least-squares slope) **%.3f MB/min**\n\n",
			s.Target, s.Rate, s.Duration, s.WarmUp, s.Requests, s.Errors, ms(s.Latency.P99), soakSeries(s.Samples), s.LeakMBMin)
	}
	if len(r.Notes) > 0 {
		p("### Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
		p("\n")
	}
	return b.String()
}

func soakSeries(ss []SoakSample) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("%v %.1f MB", s.At.Round(time.Second), float64(s.RSSKB)/1024))
	}
	if len(parts) > 8 {
		parts = append(parts[:4], append([]string{"…"}, parts[len(parts)-3:]...)...)
	}
	return strings.Join(parts, ", ")
}

// added renders an added figure; direct adds nothing by definition.
func added(name string, v float64) string {
	if isDirect(name) {
		return "–"
	}
	return fmt.Sprintf("%.3f", v)
}

func optF(v float64, format string) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

func optI(v int) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprint(v)
}

// targetOrder lists a map's targets in the report's fixed order.
func targetOrder[V any](m map[string]V) []string {
	rank := map[string]int{"direct": 0, "floor": 1, "bare": 2, "bare/auto": 3, "governed": 4}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return rank[a] - rank[b] })
	return names
}
