package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// streamOnce opens one streaming chat and times its chunks.
func (t *target) streamOnce(ctx context.Context, body []byte) (time.Time, sseTiming, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return time.Time{}, sseTiming{}, fmt.Errorf("build a stream request to %s: %w", t.Name, err)
	}
	req.Header = t.header()
	req.Header.Set("Accept", "text/event-stream")
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return start, sseTiming{}, fmt.Errorf("open a stream to %s: %w", t.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return start, sseTiming{}, fmt.Errorf("open a stream to %s: status %d", t.Name, resp.StatusCode)
	}
	tm, err := readSSE(resp.Body, time.Now)
	if err != nil {
		return start, tm, fmt.Errorf("stream from %s: %w", t.Name, err)
	}
	if !tm.Done || len(tm.Content) == 0 {
		return start, tm, fmt.Errorf("stream from %s ended without [DONE] or content (%d data lines)", t.Name, tm.DataLines)
	}
	return start, tm, nil
}

// StreamResult is what sequential streams showed.
type StreamResult struct {
	Streams int `json:"streams"`
	Errors  int `json:"errors"`
	// TTFT is request start to the first data line; TTFC to the first data
	// line carrying content (the first token a user sees).
	TTFT Summary `json:"ttft"`
	TTFC Summary `json:"ttfc"`
	Gap  Summary `json:"gap"` // between consecutive content chunks
	// Added figures are this target's minus the direct upstream's.
	AddedTTFTP50 float64  `json:"added_ttft_p50_ms"`
	AddedTTFTP99 float64  `json:"added_ttft_p99_ms"`
	AddedGapMean float64  `json:"added_gap_mean_ms"`
	AddedGapP99  float64  `json:"added_gap_p99_ms"`
	ErrorMsg     []string `json:"error_samples,omitempty"`
	// Ramp is the concurrency ramp; MaxClean the highest level that ran
	// with no stall and no error.
	Ramp     []RampStep `json:"ramp,omitempty"`
	MaxClean int        `json:"max_clean_streams"`
}

func sequentialStreams(ctx context.Context, t *target, n int) StreamResult {
	body := chatBody(t.Model, true)
	var ttft, ttfc, gaps []time.Duration
	res := StreamResult{}
	for range n {
		if ctx.Err() != nil {
			break
		}
		res.Streams++
		start, tm, err := t.streamOnce(ctx, body)
		if err != nil {
			res.Errors++
			res.ErrorMsg = addSample(res.ErrorMsg, err.Error())
			continue
		}
		ttft = append(ttft, tm.FirstData.Sub(start))
		ttfc = append(ttfc, tm.Content[0].Sub(start))
		gaps = append(gaps, tm.gaps()...)
	}
	res.TTFT, res.TTFC, res.Gap = summarize(ttft), summarize(ttfc), summarize(gaps)
	return res
}

// RampStep is `Concurrency` streams kept open for a while.
type RampStep struct {
	Concurrency int           `json:"concurrency"`
	Streams     int           `json:"streams"`
	Errors      int           `json:"errors"`
	Stalls      int           `json:"stalls"` // streams with a gap > stall threshold
	MaxGap      time.Duration `json:"max_gap_ns"`
	Gap         Summary       `json:"gap"`
	TTFC        Summary       `json:"ttfc"`
	ErrorMsg    []string      `json:"error_samples,omitempty"`
	Clean       bool          `json:"clean"`
}

// concurrentStreams keeps n streams open until d has passed: each worker
// opens a new stream as soon as its last one ends. Workers start spread
// over one upstream stream's length so they do not all tick together.
func concurrentStreams(ctx context.Context, t *target, n int, d, stall, spread time.Duration) RampStep {
	body := chatBody(t.Model, true)
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	step := RampStep{Concurrency: n}
	var gaps, ttfc []time.Duration
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(spread * time.Duration(i) / time.Duration(n)):
			case <-ctx.Done():
				return
			}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				start, tm, err := t.streamOnce(ctx, body)
				g := tm.gaps()
				mu.Lock()
				step.Streams++
				if err != nil {
					step.Errors++
					step.ErrorMsg = addSample(step.ErrorMsg, err.Error())
				} else {
					ttfc = append(ttfc, tm.Content[0].Sub(start))
				}
				stalled := false
				for _, x := range g {
					step.MaxGap = max(step.MaxGap, x)
					stalled = stalled || x > stall
				}
				if stalled {
					step.Stalls++
				}
				gaps = append(gaps, g...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	step.Gap, step.TTFC = summarize(gaps), summarize(ttfc)
	step.Clean = step.Errors == 0 && step.Stalls == 0 && step.Streams > 0
	return step
}
