package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"google.golang.org/grpc"

	"github.com/oneflow-ai/oneflow/sdk/grpcplugin"
	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// Kind is the kind of plugin an instance runs.
type Kind string

// The plugin kinds.
const (
	KindProvider Kind = "provider"
	KindStrategy Kind = "strategy"
)

// State is an instance's lifecycle state.
type State string

// The states an instance moves through.
const (
	StateStarting     State = "starting"
	StateServing      State = "serving"
	StateDown         State = "down"
	StateUnconfigured State = "unconfigured"
	StateStopped      State = "stopped"
)

// ErrNotServing is returned by Acquire when the instance has no live process.
var ErrNotServing = errors.New("plugin is not serving")

// Spec says how to run one plugin instance.
type Spec struct {
	// Name identifies the instance: the provider block's name for
	// providers, the plugin block's name for strategies.
	Name string
	// Plugin is the plugin block the binary comes from.
	Plugin string
	Kind   Kind
	Path   string
	// SHA256 is the expected hex checksum of Path, empty to skip.
	SHA256 string
	Args   []string
	Env    map[string]string
	// Provider is handed to a provider plugin's Configure after launch.
	Provider provider.Config
}

// Options tune supervision. Zero values take the defaults.
type Options struct {
	StartTimeout   time.Duration // handshake deadline (10s)
	HealthInterval time.Duration // time between health checks (5s)
	HealthTimeout  time.Duration // deadline of one health check (2s)
	ExitPoll       time.Duration // how often process exit is checked (100ms)
	BackoffBase    time.Duration // first restart delay (100ms)
	BackoffMax     time.Duration // restart delay cap (30s)
	// OnRestart is called after each successful restart.
	OnRestart func(name string)
	// OnState is called on every state change.
	OnState func(name string, s State)
	// DialOptions are added to every plugin's gRPC connection (tracing).
	DialOptions []grpc.DialOption
	// Env is added to every plugin's environment (tracing settings).
	Env map[string]string
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StartTimeout, 10*time.Second)
	def(&o.HealthInterval, 5*time.Second)
	def(&o.HealthTimeout, 2*time.Second)
	def(&o.ExitPoll, 100*time.Millisecond)
	def(&o.BackoffBase, 100*time.Millisecond)
	def(&o.BackoffMax, 30*time.Second)
	return o
}

// Status is a snapshot of an instance for the API and readiness.
type Status struct {
	Name     string `json:"name"`
	Plugin   string `json:"plugin"`
	Kind     Kind   `json:"kind"`
	Version  string `json:"version"`
	PID      int    `json:"pid"`
	State    State  `json:"state"`
	Restarts int64  `json:"restarts"`
	Error    string `json:"error,omitempty"`
}

// conn is one live plugin process and what was dispensed from it.
type conn struct {
	client   *plugin.Client
	rpc      plugin.ClientProtocol
	provider provider.Client
	strategy strategy.Strategy
	pid      int
}

// Instance supervises one plugin process.
type Instance struct {
	spec Spec
	opts Options
	log  hclog.Logger

	mu       sync.Mutex
	cur      *conn
	state    State
	version  string
	lastErr  string
	info     *provider.Info
	sinfo    *strategy.Info
	restarts atomic.Int64

	inflight sync.WaitGroup
	active   atomic.Int64
	kick     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

// NewInstance prepares an instance; Start launches it.
func NewInstance(spec Spec, opts Options, log hclog.Logger) *Instance {
	return &Instance{
		spec:    spec,
		opts:    opts.withDefaults(),
		log:     log.With("plugin", spec.Name),
		state:   StateStarting,
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
}

// Name is the instance's name.
func (in *Instance) Name() string { return in.spec.Name }

// Kind is the instance's plugin kind.
func (in *Instance) Kind() Kind { return in.spec.Kind }

// Start launches the process and begins supervising it. It returns the
// launch error, if any; the supervisor keeps retrying in the background
// either way until Stop.
func (in *Instance) Start(ctx context.Context) error {
	err := in.launch(ctx)
	go in.supervise(err != nil)
	return err
}

// MarkUnconfigured records that the instance will not be launched because
// its settings are incomplete (for example a missing API key).
func (in *Instance) MarkUnconfigured(reason string) {
	in.mu.Lock()
	in.state = StateUnconfigured
	in.lastErr = reason
	in.mu.Unlock()
	in.stopOnce.Do(func() { close(in.stop); close(in.stopped) })
}

func (in *Instance) setState(s State, err error) {
	in.mu.Lock()
	in.state = s
	if err != nil {
		in.lastErr = err.Error()
	} else if s == StateServing {
		in.lastErr = ""
	}
	in.mu.Unlock()
	if in.opts.OnState != nil {
		in.opts.OnState(in.spec.Name, s)
	}
}

// launch starts a process, performs the handshake, dispenses the plugin,
// configures and describes it. On any failure the process is killed.
func (in *Instance) launch(ctx context.Context) error {
	in.setState(StateStarting, nil)
	c, err := in.dial(ctx)
	if err != nil {
		in.setState(StateDown, err)
		in.log.Error("plugin failed to start", "err", err)
		return err
	}
	in.mu.Lock()
	in.cur = c
	in.mu.Unlock()
	in.setState(StateServing, nil)
	in.log.Info("plugin serving", "pid", c.pid, "version", in.Version())
	return nil
}

func (in *Instance) dial(ctx context.Context) (*conn, error) {
	secure, err := secureConfig(in.spec.SHA256)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(in.spec.Path, in.spec.Args...)
	cmd.Env = pluginEnv(in.opts.Env, map[string]string{"OTEL_SERVICE_NAME": "oneflow-" + in.spec.Plugin}, in.spec.Env)
	setParentDeathSignal(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  grpcplugin.Handshake(),
		Plugins:          grpcplugin.PluginSet(),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     secure,
		StartTimeout:     in.opts.StartTimeout,
		Logger:           in.log,
		GRPCDialOptions:  append(grpcplugin.DialOptions(), in.opts.DialOptions...),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("start plugin %q from %s (core speaks protocol version %d): %w",
			in.spec.Name, in.spec.Path, grpcplugin.ProtocolVersion, err)
	}
	c := &conn{client: client, rpc: rpc}
	if rc := client.ReattachConfig(); rc != nil {
		c.pid = rc.Pid
	}
	if err := in.prepare(ctx, c); err != nil {
		client.Kill()
		return nil, err
	}
	return c, nil
}

// prepare dispenses the plugin and runs Configure and Describe.
func (in *Instance) prepare(ctx context.Context, c *conn) error {
	ctx, cancel := context.WithTimeout(ctx, in.opts.StartTimeout)
	defer cancel()
	switch in.spec.Kind {
	case KindProvider:
		raw, err := c.rpc.Dispense(grpcplugin.ProviderPluginName)
		if err != nil {
			return fmt.Errorf("dispense provider from plugin %q: %w", in.spec.Name, err)
		}
		p, ok := raw.(provider.Client)
		if !ok {
			return fmt.Errorf("plugin %q dispensed %T, not a provider", in.spec.Name, raw)
		}
		if err := p.Configure(ctx, in.spec.Provider); err != nil {
			return fmt.Errorf("configure provider %q: %w", in.spec.Name, err)
		}
		info, err := p.Describe(ctx)
		if err != nil {
			return fmt.Errorf("describe provider %q: %w", in.spec.Name, err)
		}
		c.provider = p
		in.mu.Lock()
		in.info, in.version = info, info.Version
		in.mu.Unlock()
	case KindStrategy:
		raw, err := c.rpc.Dispense(grpcplugin.StrategyPluginName)
		if err != nil {
			return fmt.Errorf("dispense strategy from plugin %q: %w", in.spec.Name, err)
		}
		s, ok := raw.(strategy.Strategy)
		if !ok {
			return fmt.Errorf("plugin %q dispensed %T, not a strategy", in.spec.Name, raw)
		}
		info, err := s.Describe(ctx)
		if err != nil {
			return fmt.Errorf("describe strategy %q: %w", in.spec.Name, err)
		}
		c.strategy = s
		in.mu.Lock()
		in.sinfo, in.version = info, info.Version
		in.mu.Unlock()
	default:
		return fmt.Errorf("plugin %q: unknown kind %q", in.spec.Name, in.spec.Kind)
	}
	return nil
}

// supervise watches the process and restarts it when it dies or stops
// answering health checks, until Stop.
func (in *Instance) supervise(startFailed bool) {
	defer close(in.stopped)
	exitTick := time.NewTicker(in.opts.ExitPoll)
	defer exitTick.Stop()
	health := time.NewTicker(in.opts.HealthInterval)
	defer health.Stop()
	failures := 0
	if startFailed {
		failures = 1
		if !in.restart(&failures) {
			return
		}
	}
	for {
		select {
		case <-in.stop:
			return
		case <-exitTick.C:
			if !in.exited() {
				continue
			}
			in.log.Warn("plugin process exited")
		case <-in.kick:
			if in.healthy() {
				continue
			}
			in.log.Warn("plugin failed a health check after a call error")
		case <-health.C:
			if in.healthy() {
				continue
			}
			in.log.Warn("plugin failed a health check")
		}
		failures = 0
		if !in.restart(&failures) {
			return
		}
	}
}

// restart kills the current process and launches a new one, backing off
// between attempts. It returns false if Stop was called meanwhile.
func (in *Instance) restart(failures *int) bool {
	in.mu.Lock()
	old := in.cur
	in.cur = nil
	in.mu.Unlock()
	in.setState(StateDown, nil)
	if old != nil {
		old.client.Kill()
	}
	for {
		delay := backoff(*failures, in.opts.BackoffBase, in.opts.BackoffMax)
		select {
		case <-in.stop:
			return false
		case <-time.After(delay):
		}
		ctx, cancel := context.WithTimeout(context.Background(), in.opts.StartTimeout)
		err := in.launch(ctx)
		cancel()
		if err == nil {
			in.restarts.Add(1)
			if in.opts.OnRestart != nil {
				in.opts.OnRestart(in.spec.Name)
			}
			return true
		}
		*failures++
	}
}

// backoff is capped exponential backoff with full jitter in [d/2, d].
func backoff(failures int, base, max time.Duration) time.Duration {
	d := base
	for i := 0; i < failures && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func (in *Instance) exited() bool {
	in.mu.Lock()
	c := in.cur
	in.mu.Unlock()
	return c != nil && c.client.Exited()
}

func (in *Instance) healthy() bool {
	in.mu.Lock()
	c := in.cur
	in.mu.Unlock()
	if c == nil || c.client.Exited() {
		return false
	}
	done := make(chan error, 1)
	go func() { done <- c.rpc.Ping() }()
	select {
	case err := <-done:
		return err == nil
	case <-time.After(in.opts.HealthTimeout):
		return false
	}
}

// ReportFailure tells the supervisor that a call failed in a way that may
// mean the process is gone, so it checks now instead of at the next tick.
func (in *Instance) ReportFailure() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// Provider returns the live provider client and a release function that
// must be called when the call ends; Drain waits for every release.
func (in *Instance) Provider() (provider.Client, func(), error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cur == nil || in.cur.provider == nil || in.state != StateServing {
		return nil, nil, fmt.Errorf("provider %q: %w (state %s)", in.spec.Name, ErrNotServing, in.state)
	}
	in.inflight.Add(1)
	in.active.Add(1)
	return in.cur.provider, in.release, nil
}

// Strategy returns the live strategy client and its release function.
func (in *Instance) Strategy() (strategy.Strategy, func(), error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cur == nil || in.cur.strategy == nil || in.state != StateServing {
		return nil, nil, fmt.Errorf("strategy %q: %w (state %s)", in.spec.Name, ErrNotServing, in.state)
	}
	in.inflight.Add(1)
	in.active.Add(1)
	return in.cur.strategy, in.release, nil
}

func (in *Instance) release() {
	in.active.Add(-1)
	in.inflight.Done()
}

// Info returns what the provider plugin described, nil for strategies or
// before the first successful launch.
func (in *Instance) Info() *provider.Info {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.info
}

// StrategyInfo returns what the strategy plugin described.
func (in *Instance) StrategyInfo() *strategy.Info {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sinfo
}

// Version is the plugin's self-reported version.
func (in *Instance) Version() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.version
}

// Status returns a snapshot for the API.
func (in *Instance) Status() Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	st := Status{
		Name: in.spec.Name, Plugin: in.spec.Plugin, Kind: in.spec.Kind, Version: in.version,
		State: in.state, Restarts: in.restarts.Load(), Error: in.lastErr,
	}
	if in.cur != nil {
		st.PID = in.cur.pid
	}
	return st
}

// Stop drains in-flight calls for at most drain, then kills the process
// and ends supervision. It is safe to call more than once.
func (in *Instance) Stop(drain time.Duration) {
	in.stopOnce.Do(func() { close(in.stop) })
	<-in.stopped
	waited := make(chan struct{})
	go func() { in.inflight.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(drain):
		in.log.Warn("drain timed out; killing plugin with calls in flight", "in_flight", in.active.Load())
	}
	in.mu.Lock()
	c := in.cur
	in.cur = nil
	if in.state != StateUnconfigured {
		in.state = StateStopped
	}
	in.mu.Unlock()
	if c != nil {
		c.client.Kill()
	}
}

// secureConfig builds go-plugin's checksum check; go-plugin refuses to
// start a binary whose SHA-256 differs.
func secureConfig(sum string) (*plugin.SecureConfig, error) {
	if sum == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(sum)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("sha256 %q is not 64 hex digits", sum)
	}
	return &plugin.SecureConfig{Checksum: b, Hash: sha256.New()}, nil
}

// pluginEnv gives a plugin a minimal environment: it must not inherit the
// core's secrets (admin key, database URL). Provider keys reach it through
// Configure, not the environment.
func pluginEnv(extras ...map[string]string) []string {
	env := make([]string, 0, 8)
	// The Go runtime's knobs pass through too, so an operator tunes the
	// plugins the way they tune the core.
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
		"GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for _, extra := range extras {
		for k, v := range extra {
			env = append(env, k+"="+v)
		}
	}
	return env
}
