package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the driver started and must stop.
type child struct {
	name   string
	cmd    *exec.Cmd
	addr   string // host:port it listens on
	exited chan struct{}

	mu   sync.Mutex
	tail []string // its last output lines, for error messages
}

const tailLines = 40

func (c *child) keep(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tail) == tailLines {
		c.tail = c.tail[1:]
	}
	c.tail = append(c.tail, line)
}

// lastLines is the child's recent output, for a failure message.
func (c *child) lastLines() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop asks the child to shut down and kills it if it has not within
// grace. SIGTERM lets a gateway stop its plugins itself.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// pinned prefixes argv with taskset so the process and everything it
// starts run on cpu; cpu < 0 leaves placement to the scheduler.
func pinned(cpu int, argv ...string) []string {
	if cpu < 0 {
		return argv
	}
	return append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
}

// startChild runs argv and waits until ready extracts a listen address
// from one of its output lines (stdout and stderr are both scanned).
func startChild(ctx context.Context, name string, argv, env []string, dir, logDir string, ready func(line string) (string, bool)) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	// If the driver dies, its children must not outlive it and keep a CPU
	// busy; SIGTERM still lets a gateway stop its plugins.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, strings.Join(argv, " "), err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{})}
	var logf *os.File
	if logDir != "" {
		// Keep the whole output for diagnosis; the file is closed when
		// both pipes are drained.
		if logf, err = os.Create(filepath.Join(logDir, strings.ReplaceAll(name, " ", "-")+".log")); err != nil {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("create the log of %s: %w", name, err)
		}
	}
	var logMu sync.Mutex
	addr := make(chan string, 1)
	var scans sync.WaitGroup
	scan := func(r io.Reader) {
		defer scans.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.keep(line)
			if logf != nil {
				logMu.Lock()
				_, _ = logf.WriteString(line + "\n")
				logMu.Unlock()
			}
			if a, ok := ready(line); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
		// Drain whatever is left so the child never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, r)
	}
	scans.Add(2)
	go scan(stdout)
	go scan(stderr)
	go func() {
		scans.Wait()
		if logf != nil {
			_ = logf.Close()
		}
		_ = cmd.Wait()
		close(c.exited)
	}()
	select {
	case c.addr = <-addr:
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("%s exited during start:\n%s", name, c.lastLines())
	case <-ctx.Done():
		c.stop(5 * time.Second)
		return nil, fmt.Errorf("start %s: %w", name, ctx.Err())
	case <-time.After(60 * time.Second):
		c.stop(5 * time.Second)
		return nil, fmt.Errorf("%s did not report its address within 60s:\n%s", name, c.lastLines())
	}
}

// listeningLine matches the "listening ADDR" line the helper roles print.
func listeningLine(line string) (string, bool) {
	a, ok := strings.CutPrefix(line, "listening ")
	if !ok {
		return "", false
	}
	return strings.TrimSpace(a), true
}

// servingLine matches the core's JSON log line announcing its address.
func servingLine(line string) (string, bool) {
	if !strings.Contains(line, "oneflow serving") {
		return "", false
	}
	var rec struct {
		Message string `json:"@message"`
		Addr    string `json:"addr"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Message != "oneflow serving" || rec.Addr == "" {
		return "", false
	}
	return rec.Addr, true
}

// cleanEnv is the environment without settings that would change what is
// measured: a developer's OneFlow settings, vendor keys and base URLs.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ONEFLOW_") || strings.HasSuffix(k, "_API_KEY") || strings.HasSuffix(k, "_BASE_URL") ||
			k == "REDIS_URL" || k == "GOMAXPROCS" || k == "GOGC" || k == "GOMEMLIMIT" || k == benchPinnedEnv {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// errStoreUnavailable is what governed setup reports while the core has no
// store-backed accounts.
var errStoreUnavailable = errors.New("the admin API answered store_unavailable")
