package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/hashicorp/go-hclog"

	"github.com/oneflow-ai/oneflow/core/internal/accounts"
	"github.com/oneflow-ai/oneflow/core/internal/config"
	"github.com/oneflow-ai/oneflow/core/internal/plugins"
	"github.com/oneflow-ai/oneflow/core/internal/pricing"
	"github.com/oneflow-ai/oneflow/core/internal/routing"
	"github.com/oneflow-ai/oneflow/core/internal/telemetry"
	"github.com/oneflow-ai/oneflow/sdk/grpcplugin"
)

// Version is the core's version, set at build time with -ldflags.
var Version = "dev"

const usage = `usage: oneflow <command> [-config FILE] ...

commands:
  serve      run the gateway (SIGHUP reloads the config, SIGINT/SIGTERM stop it)
  validate   check the config and print its diagnostics
  plugins    list the declared plugins and whether each binary exists and verifies
  migrate    apply the database migrations (-down: roll back one)
  users      create|list users
  projects   create|list|topup|add-member projects
  keys       create|list|rotate|revoke API keys
  version    print the version
`

// ErrUsage is returned for a command line that names no known command.
var ErrUsage = errors.New("usage")

// Run is the whole CLI: main only wires the process's args and streams.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return ErrUsage
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("oneflow "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "oneflow.hcl", "path to the config file")
	down := fs.Bool("down", false, "migrate: roll back the latest migration")
	switch cmd {
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "oneflow %s (plugin protocol %d)\n", Version, grpcplugin.ProtocolVersion)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "users", "projects", "keys":
		path, rest := takeConfigFlag(args)
		return manage(ctx, path, rest, stdout, stderr)
	case "serve", "validate", "plugins", "migrate":
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return ErrUsage
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	switch cmd {
	case "validate":
		return validate(*cfgPath, stdout, stderr)
	case "plugins":
		return listPlugins(*cfgPath, stdout, stderr)
	case "migrate":
		return migrate(ctx, *cfgPath, *down, stdout, stderr)
	}
	return serve(ctx, *cfgPath, stderr)
}

func validate(path string, stdout, stderr io.Writer) error {
	cfg, diags := config.Load(path)
	if len(diags) > 0 {
		_ = config.WriteDiagnostics(stderr, diags, sourcesOf(cfg, path))
	}
	if diags.HasErrors() {
		return fmt.Errorf("%s is invalid", path)
	}
	fmt.Fprintf(stdout, "%s is valid: %d plugins, %d providers, %d strategies\n", path, len(cfg.Plugins), len(cfg.Providers), len(cfg.Strategies))
	return nil
}

func listPlugins(path string, stdout, stderr io.Writer) error {
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		_ = config.WriteDiagnostics(stderr, diags, sourcesOf(cfg, path))
		return fmt.Errorf("%s is invalid", path)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tPATH\tSTATUS")
	bad := 0
	for _, p := range cfg.Plugins {
		status := checkBinary(p)
		if status != "ok" && status != "ok (verified)" {
			bad++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Kind, p.Path, status)
	}
	_ = tw.Flush()
	if bad > 0 {
		return fmt.Errorf("%d plugin binaries are missing or do not verify (run `make build`)", bad)
	}
	return nil
}

func checkBinary(p config.Plugin) string {
	f, err := os.Open(p.Path)
	if err != nil {
		return "missing"
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "not executable"
	}
	if p.SHA256 == "" {
		return "ok"
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unreadable"
	}
	if hex.EncodeToString(h.Sum(nil)) != p.SHA256 {
		return "checksum mismatch"
	}
	return "ok (verified)"
}

func serve(ctx context.Context, cfgPath string, stderr io.Writer) error {
	redactor := telemetry.NewRedactor(stderr, nil)
	log := hclog.New(&hclog.LoggerOptions{
		Name: "oneflow", Level: hclog.Info, Output: redactor, JSONFormat: true,
	})
	if lvl := os.Getenv("ONEFLOW_LOG_LEVEL"); lvl != "" {
		log.SetLevel(hclog.LevelFromString(lvl))
	}
	a := &App{
		cfgPath: cfgPath, listen: os.Getenv("ONEFLOW_LISTEN"), log: log, stderr: stderr, redactor: redactor,
		stats: routing.NewStats(), counter: pricing.NewCounter(),
		pluginOpts: plugins.Options{}, hurry: make(chan struct{}),
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// A buffer of one collapses a burst of SIGHUPs into one pending reload.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	defer signal.Stop(sig)
	hup := make(chan struct{}, 1)
	go func() {
		for range sig {
			select {
			case hup <- struct{}{}:
			default:
			}
		}
	}()
	return a.serve(ctx, hup)
}

// takeConfigFlag removes "-config FILE" (or -config=FILE) from args.
func takeConfigFlag(args []string) (string, []string) {
	path := "oneflow.hcl"
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-config" || a == "--config") && i+1 < len(args):
			path = args[i+1]
			i++
		case strings.HasPrefix(a, "-config="), strings.HasPrefix(a, "--config="):
			path = a[strings.Index(a, "=")+1:]
		default:
			out = append(out, a)
		}
	}
	return path, out
}

func loadValid(path string, stderr io.Writer) (*config.Config, error) {
	cfg, diags := config.Load(path)
	if len(diags) > 0 {
		_ = config.WriteDiagnostics(stderr, diags, sourcesOf(cfg, path))
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s is invalid", path)
	}
	return cfg, nil
}

func migrate(ctx context.Context, path string, down bool, stdout, stderr io.Writer) error {
	cfg, err := loadValid(path, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if down {
		err = st.MigrateDown(ctx)
	} else {
		err = st.Migrate(ctx)
	}
	if err != nil {
		return err
	}
	v, err := st.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database at migration version %d\n", v)
	return nil
}

// manage runs the users|projects|keys verbs against the configured store.
func manage(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadValid(path, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	a := &App{log: hclog.New(&hclog.LoggerOptions{Name: "oneflow", Level: hclog.Warn, Output: stderr, JSONFormat: true}), adminKey: cfg.Auth.AdminKey}
	svc, err := a.newAccounts(ctx, cfg, st)
	if err != nil {
		return err
	}
	defer func() { _ = svc.Close(context.Background()) }()
	err = accounts.RunCLI(ctx, svc, args, stdout)
	if errors.Is(err, accounts.ErrUsage) {
		fmt.Fprintf(stderr, "%v\n\n%s\n", err, accounts.CLIUsage)
		return ErrUsage
	}
	return err
}
