package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports; reading it needs cgo.
const clockTicks = 100

// statusField returns a field of /proc/PID/status text ("VmRSS", ...)
// without its trailing unit.
func statusField(status, name string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// parseRSSKB reads VmRSS in kB from /proc/PID/status text. A process
// without VmRSS (a zombie, a kernel thread) has 0.
func parseRSSKB(status string) (int64, error) {
	v, ok := statusField(status, "VmRSS")
	if !ok {
		return 0, nil
	}
	num, unit, _ := strings.Cut(v, " ")
	if unit = strings.TrimSpace(unit); unit != "kB" {
		return 0, fmt.Errorf("parse VmRSS %q: unexpected unit %q", v, unit)
	}
	kb, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse VmRSS %q: %w", v, err)
	}
	return kb, nil
}

// procStat is what the harness needs from /proc/PID/stat.
type procStat struct {
	PID   int
	Comm  string
	PPID  int
	UTime int64 // clock ticks
	STime int64 // clock ticks
	// CUTime and CSTime are the reaped children's, in clock ticks.
	CUTime, CSTime int64
}

// parseStat parses /proc/PID/stat. The command name is in parentheses and
// may itself hold spaces and parentheses, so fields are counted from the
// last ')'.
func parseStat(s string) (procStat, error) {
	open := strings.IndexByte(s, '(')
	closing := strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("parse /proc stat %.40q: no (comm)", s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat pid: %w", err)
	}
	// After ")": state(3) ppid(4) ... utime(14) stime(15).
	f := strings.Fields(s[closing+1:])
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("parse /proc stat of %d: %d fields after comm, want at least 13", pid, len(f))
	}
	st := procStat{PID: pid, Comm: s[open+1 : closing]}
	if st.PPID, err = strconv.Atoi(f[1]); err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat ppid of %d: %w", pid, err)
	}
	if st.UTime, err = strconv.ParseInt(f[11], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat utime of %d: %w", pid, err)
	}
	if st.STime, err = strconv.ParseInt(f[12], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat stime of %d: %w", pid, err)
	}
	if len(f) >= 15 {
		// cutime(16) and cstime(17); older test fixtures stop at stime.
		if st.CUTime, err = strconv.ParseInt(f[13], 10, 64); err != nil {
			return procStat{}, fmt.Errorf("parse /proc stat cutime of %d: %w", pid, err)
		}
		if st.CSTime, err = strconv.ParseInt(f[14], 10, 64); err != nil {
			return procStat{}, fmt.Errorf("parse /proc stat cstime of %d: %w", pid, err)
		}
	}
	return st, nil
}

// descendants returns root and every process below it in a pid → ppid
// map, root first and the rest ascending.
func descendants(parents map[int]int, root int) []int {
	children := map[int][]int{}
	for pid, ppid := range parents {
		children[ppid] = append(children[ppid], pid)
	}
	var below []int
	queue := []int{root}
	seen := map[int]bool{root: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if !seen[c] {
				seen[c] = true
				below = append(below, c)
				queue = append(queue, c)
			}
		}
	}
	slices.Sort(below)
	return append([]int{root}, below...)
}

// procfs reads a /proc tree; root is "/proc" outside tests.
type procfs struct{ root string }

func (p procfs) read(pid int, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), file))
	if err != nil {
		return "", fmt.Errorf("read /proc/%d/%s: %w", pid, file, err)
	}
	return string(b), nil
}

// all returns the parsed stat of every process there is now; one that
// exits while being read is left out.
func (p procfs) all() ([]procStat, error) {
	entries, err := os.ReadDir(p.root)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []procStat
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := p.read(n, "stat")
		if err != nil {
			continue // exited meanwhile
		}
		if st, err := parseStat(s); err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// tree returns pid and its descendants as they are now.
func (p procfs) tree(pid int) ([]int, error) {
	procs, err := p.all()
	if err != nil {
		return nil, err
	}
	parents := make(map[int]int, len(procs))
	for _, st := range procs {
		parents[st.PID] = st.PPID
	}
	return descendants(parents, pid), nil
}

// ProcSample is one look at a process tree.
type ProcSample struct {
	Procs []ProcInfo `json:"procs"`
	// RSSKB is the sum of VmRSS over the tree; CPUTicks of utime+stime.
	RSSKB    int64 `json:"rss_kb"`
	CPUTicks int64 `json:"cpu_ticks"`
}

// ProcInfo is one process of a sample.
type ProcInfo struct {
	PID      int    `json:"pid"`
	Comm     string `json:"comm"`
	RSSKB    int64  `json:"rss_kb"`
	CPUTicks int64  `json:"cpu_ticks"`
	CPUs     string `json:"cpus_allowed_list"`
}

// sample reads RSS, CPU time and affinity of pid and its descendants.
func (p procfs) sample(pid int) (ProcSample, error) {
	pids, err := p.tree(pid)
	if err != nil {
		return ProcSample{}, err
	}
	var out ProcSample
	for _, n := range pids {
		s, err := p.read(n, "stat")
		if err != nil {
			if n == pid {
				return ProcSample{}, err
			}
			continue
		}
		st, err := parseStat(s)
		if err != nil {
			return ProcSample{}, err
		}
		status, err := p.read(n, "status")
		if err != nil {
			continue
		}
		rss, err := parseRSSKB(status)
		if err != nil {
			return ProcSample{}, fmt.Errorf("process %d: %w", n, err)
		}
		cpus, _ := statusField(status, "Cpus_allowed_list")
		info := ProcInfo{PID: n, Comm: st.Comm, RSSKB: rss, CPUTicks: st.UTime + st.STime, CPUs: cpus}
		out.Procs = append(out.Procs, info)
		out.RSSKB += rss
		out.CPUTicks += info.CPUTicks
	}
	return out, nil
}

// cpuByComm sums the CPU time, in clock ticks, of every process whose
// command name is one of comms: the external stores' servers, which fork a
// process per connection (PostgreSQL) and are no descendants of a core.
// Reaped children's time counts too, so a backend that exits during a
// step leaves its CPU in its parent's sum instead of taking it away. A
// name with no process is not in the map.
func (p procfs) cpuByComm(comms ...string) (map[string]int64, error) {
	procs, err := p.all()
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(comms))
	for _, st := range procs {
		if slices.Contains(comms, st.Comm) {
			out[st.Comm] += st.UTime + st.STime + st.CUTime + st.CSTime
		}
	}
	return out, nil
}
