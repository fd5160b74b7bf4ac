package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// target is one thing the load generator calls.
type target struct {
	Name  string
	URL   string // full chat completions URL
	Key   string // bearer token; the upstream and the floor ignore it
	Model string
	// PID is the process serving it (its descendants are sampled too);
	// 0 for the upstream, which shares the load generator's CPU.
	PID    int
	client *http.Client
}

// newClient is a keep-alive client sized for the highest concurrency the
// harness uses, so no figure includes connection churn on the client side.
func newClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 4096,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// chatBody is the small request every load step sends.
func chatBody(model string, stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	return fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":"Say hello"}]%s}`, model, s)
}

func (t *target) header() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", "Bearer "+t.Key)
	return h
}

// once sends one non-streaming request and returns its latency.
func (t *target) once(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build a request to %s: %w", t.Name, err)
	}
	req.Header = t.header()
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("call %s: %w", t.Name, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("read %s's answer: %w", t.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("call %s: status %d", t.Name, resp.StatusCode)
	}
	return d, nil
}

// SeqResult is n requests sent one after another (concurrency 1).
type SeqResult struct {
	Latency  Summary  `json:"latency"`
	Errors   int      `json:"errors"`
	ErrorMsg []string `json:"error_samples,omitempty"`
}

func sequential(ctx context.Context, t *target, n, warmup int) (SeqResult, error) {
	body := chatBody(t.Model, false)
	var res SeqResult
	ds := make([]time.Duration, 0, n)
	for i := 0; i < warmup+n; i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		d, err := t.once(ctx, body)
		if i < warmup {
			continue
		}
		if err != nil {
			res.Errors++
			res.ErrorMsg = addSample(res.ErrorMsg, err.Error())
			continue
		}
		ds = append(ds, d)
	}
	res.Latency = summarize(ds)
	return res, nil
}

// RateResult is a constant-rate run.
type RateResult struct {
	Target    string        `json:"target"`
	Rate      int           `json:"rps"`
	Duration  time.Duration `json:"duration_ns"`
	Sent      int           `json:"sent"`
	OK        int           `json:"ok"`
	Errors    int           `json:"errors"`
	ErrorMsg  []string      `json:"error_samples,omitempty"`
	Achieved  float64       `json:"achieved_rps"` // answered requests per second
	Latency   Summary       `json:"latency"`      // of every request, failed ones included
	AddedP50  float64       `json:"added_p50_ms"`
	AddedP99  float64       `json:"added_p99_ms"`
	CPUPerReq float64       `json:"cpu_us_per_request,omitempty"`
	CPUByProc []procCPU     `json:"cpu_by_process,omitempty"`
	// ServerCPU is the CPU of the external stores' processes (every
	// process of each name on the machine) over the step, per request.
	ServerCPU []procCPU `json:"server_cpu,omitempty"`
	RSSKB     int64     `json:"rss_kb_after,omitempty"`
}

type procCPU struct {
	Comm      string  `json:"comm"`
	PID       int     `json:"pid"`
	CPUPerReq float64 `json:"cpu_us_per_request"`
}

// attack sends rate req/s for d with vegeta's constant pacer.
func attack(ctx context.Context, t *target, rate int, d time.Duration, stream bool) RateResult {
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: t.URL, Body: chatBody(t.Model, stream), Header: t.header()})
	atk := vegeta.NewAttacker(vegeta.Client(t.client), vegeta.Workers(64), vegeta.MaxWorkers(5000), vegeta.MaxBody(64<<10))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	res := RateResult{Target: t.Name, Rate: rate}
	ds := make([]time.Duration, 0, int(float64(rate)*d.Seconds())+16)
	var first, last time.Time
	for r := range atk.Attack(tr, vegeta.ConstantPacer{Freq: rate, Per: time.Second}, d, t.Name) {
		res.Sent++
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		if end := r.End(); end.After(last) {
			last = end
		}
		ds = append(ds, r.Latency)
		if r.Error != "" || r.Code != http.StatusOK {
			res.Errors++
			res.ErrorMsg = addSample(res.ErrorMsg, fmt.Sprintf("%d %s", r.Code, r.Error))
			continue
		}
		res.OK++
	}
	if span := last.Sub(first); span > 0 {
		res.Duration = span
		res.Achieved = float64(res.OK) / span.Seconds()
	}
	res.Latency = summarize(ds)
	return res
}

// addSample keeps up to three distinct error messages.
func addSample(samples []string, msg string) []string {
	if len(samples) >= 3 || slices.Contains(samples, msg) {
		return samples
	}
	return append(samples, msg)
}
