package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchPinnedEnv marks the re-executed, CPU-pinned driver.
const benchPinnedEnv = "ONEFLOW_BENCH_PINNED"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "upstream":
			return runUpstream(ctx, args[1:], stdout)
		case "floor":
			return runFloor(ctx, args[1:], stdout)
		}
	}
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if o.loadCPU >= 0 && os.Getenv(benchPinnedEnv) == "" {
		return repin(o.loadCPU)
	}
	return drive(ctx, o, stdout, stderr)
}

// repin re-executes the driver under taskset so the load generator runs
// on its own CPU; it replaces this process and returns only on failure.
func repin(cpu int) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the driver's own binary to pin it: %w", err)
	}
	taskset, err := lookTaskset()
	if err != nil {
		return err
	}
	argv := append([]string{taskset, "-c", strconv.Itoa(cpu), self}, os.Args[1:]...)
	env := append(os.Environ(), benchPinnedEnv+"=1")
	if err := syscall.Exec(taskset, argv, env); err != nil {
		return fmt.Errorf("re-execute the driver under taskset -c %d: %w", cpu, err)
	}
	return nil
}

func lookTaskset() (string, error) {
	for _, p := range []string{"/usr/bin/taskset", "/bin/taskset"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("taskset not found (apt-get install util-linux), or pass -gateway-cpu -1 -load-cpu -1 to run unpinned")
}

// options are the driver's flags after quick/full defaults are applied.
type options struct {
	mode    string
	quick   bool
	out     string
	mdOut   string
	binDir  string
	targets []string

	gatewayCPU, loadCPU int

	seqN     int
	rates    []int
	rateDur  time.Duration
	settle   time.Duration
	p99Limit time.Duration

	search   searchPlan
	probeDur time.Duration

	streamN      int
	streamLevels []int
	streamDur    time.Duration
	chunks       int
	chunkGap     time.Duration

	loadRate   int
	soak       time.Duration
	soakRate   int
	soakEvery  time.Duration
	soakTarget string

	gwLogLevel  string
	logDir      string
	gwPprof     string
	gwEnv       []string
	profileOut  string
	profileRate int

	stores stores

	args []string // as given, for the report
}

// modes are the values -mode accepts.
func modes() []string { return []string{"all", "latency", "rate", "stream", "rss"} }

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{args: args}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", "all", "what to measure: "+strings.Join(modes(), "|"))
	fs.BoolVar(&o.quick, "quick", false, "short durations (a CI smoke run of about two minutes)")
	fs.StringVar(&o.out, "out", "bench-results.json", "machine-readable results (empty: none)")
	fs.StringVar(&o.mdOut, "md", "", "also write the markdown report to this file")
	fs.StringVar(&o.binDir, "bin", "bin", "directory holding oneflow and plugins/ (make build)")
	targets := fs.String("targets", "direct,floor,bare,governed", "targets to measure, comma separated")
	fs.IntVar(&o.gatewayCPU, "gateway-cpu", 0, "CPU for the gateway, its plugins and the floor (-1: unpinned)")
	fs.IntVar(&o.loadCPU, "load-cpu", 1, "CPU for the load generator and the fake upstream (-1: unpinned)")
	fs.IntVar(&o.seqN, "seq-n", 0, "requests per target at concurrency 1 (default 3000, quick 300)")
	rates := fs.String("rates", "500,1000,2000", "fixed rates in req/s")
	fs.DurationVar(&o.rateDur, "rate-dur", 0, "duration of each fixed-rate step (default 10s, quick 2s)")
	fs.DurationVar(&o.settle, "settle", 500*time.Millisecond, "pause between steps")
	fs.DurationVar(&o.p99Limit, "p99-limit", 20*time.Millisecond, "p99 a sustainable rate must stay under")
	fs.IntVar(&o.search.Start, "search-start", 1000, "first rate of the search")
	fs.IntVar(&o.search.Step, "search-step", 0, "rate increment while probes pass (default 500, quick 1000)")
	fs.IntVar(&o.search.Resolution, "search-res", 0, "bisection stops this close, req/s (default 100, quick 500)")
	fs.IntVar(&o.search.MaxRate, "search-max", 30000, "highest rate probed")
	fs.IntVar(&o.search.MaxProbes, "search-probes", 0, "probes per target (default 24, quick 8)")
	fs.DurationVar(&o.probeDur, "probe-dur", 0, "duration of each search probe (default 5s, quick 1500ms)")
	fs.IntVar(&o.streamN, "stream-n", 0, "sequential streams per target (default 100, quick 20)")
	levels := fs.String("stream-levels", "100,200,500,1000", "concurrent stream levels")
	fs.DurationVar(&o.streamDur, "stream-dur", 0, "duration of each concurrency level (default 5s, quick 2s)")
	fs.IntVar(&o.chunks, "chunks", 20, "content chunks per upstream stream")
	fs.DurationVar(&o.chunkGap, "chunk-gap", 5*time.Millisecond, "pause between upstream stream chunks")
	fs.IntVar(&o.loadRate, "load-rate", 1000, "-mode rss: the rate of the step that measures RSS under load and CPU per request")
	fs.DurationVar(&o.soak, "soak", 0, "run a soak of this length sampling RSS (mode all or rss)")
	fs.IntVar(&o.soakRate, "soak-rate", 500, "req/s during the soak")
	fs.DurationVar(&o.soakEvery, "soak-every", 10*time.Second, "RSS sampling interval during the soak")
	fs.StringVar(&o.soakTarget, "soak-target", "bare", "target of the soak: bare or governed")
	fs.StringVar(&o.gwLogLevel, "gw-log-level", "info", "the cores' log level")
	fs.StringVar(&o.logDir, "logs", "", "write each child's output (cores, floor, upstream) to a file in this directory")
	fs.StringVar(&o.gwPprof, "gw-pprof", "", "ask the bare core to serve pprof here (ONEFLOW_PPROF), e.g. 127.0.0.1:6060")
	gwEnv := fs.String("gw-env", "", "extra environment for the cores, comma separated (e.g. GOGC=200): for experiments")
	fs.StringVar(&o.profileOut, "profile", "", "with -gw-pprof: save a CPU profile of the bare core taken during its -profile-rate step")
	fs.IntVar(&o.profileRate, "profile-rate", 1000, "the fixed rate during which the profile is taken")
	fs.StringVar(&o.stores.postgres, "database-url", "", "PostgreSQL server for the cores, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable; each core gets a fresh database, dropped afterwards (empty: SQLite)")
	fs.StringVar(&o.stores.redis, "redis-url", "", "Redis for the cores' rate limits, e.g. redis://127.0.0.1:6379/0 (empty: in process)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if !slices.Contains(modes(), o.mode) {
		return nil, fmt.Errorf("-mode %q: want one of %s", o.mode, strings.Join(modes(), ", "))
	}
	var err error
	if o.rates, err = parseInts(*rates); err != nil {
		return nil, fmt.Errorf("-rates: %w", err)
	}
	if o.streamLevels, err = parseInts(*levels); err != nil {
		return nil, fmt.Errorf("-stream-levels: %w", err)
	}
	o.targets = strings.Split(*targets, ",")
	if *gwEnv != "" {
		o.gwEnv = strings.Split(*gwEnv, ",")
	}
	for _, t := range o.targets {
		if !slices.Contains([]string{"direct", "floor", "bare", "governed"}, t) {
			return nil, fmt.Errorf("-targets: unknown target %q", t)
		}
	}
	if !slices.Contains(o.targets, "direct") {
		// Every added figure is relative to direct.
		o.targets = append([]string{"direct"}, o.targets...)
	}
	if o.profileOut != "" && o.gwPprof == "" {
		return nil, errors.New("-profile needs -gw-pprof")
	}
	if o.stores.postgres != "" {
		if err := checkPostgresURL(o.stores.postgres); err != nil {
			return nil, err
		}
	}
	if o.soakTarget != "bare" && o.soakTarget != "governed" {
		return nil, fmt.Errorf("-soak-target %q: want bare or governed", o.soakTarget)
	}
	def := func(p *int, full, quick int) {
		if *p == 0 {
			*p = pick(o.quick, quick, full)
		}
	}
	defD := func(p *time.Duration, full, quick time.Duration) {
		if *p == 0 {
			*p = pick(o.quick, quick, full)
		}
	}
	def(&o.seqN, 3000, 300)
	defD(&o.rateDur, 10*time.Second, 2*time.Second)
	def(&o.search.Resolution, 100, 500)
	def(&o.search.Step, 500, 1000)
	def(&o.search.MaxProbes, 24, 8)
	defD(&o.probeDur, 5*time.Second, 1500*time.Millisecond)
	def(&o.streamN, 100, 20)
	defD(&o.streamDur, 5*time.Second, 2*time.Second)
	return o, nil
}

func pick[T any](quick bool, q, full T) T {
	if quick {
		return q
	}
	return full
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func (o *options) wants(phase string) bool { return o.mode == "all" || o.mode == phase }
