package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what a run prints. Times are in milliseconds.
type Result struct {
	API         string `json:"api"`
	Scenario    string `json:"scenario"`
	Concurrency int    `json:"concurrency"`
	// Requests were measured (sent after the warm-up and answered before
	// the end); Total counts every request sent, warm-up included, for
	// CPU-per-request figures.
	Requests int `json:"requests"`
	Total    int `json:"total"`
	Errors   int `json:"errors"`
	// ErrorSamples holds up to five distinct error messages.
	ErrorSamples []string `json:"error_samples,omitempty"`
	Seconds      float64  `json:"seconds"`
	RPS          float64  `json:"rps"`
	Latency      Summary  `json:"latency_ms"`
	// TTFT is the time to the first token of streams.
	TTFT *Summary `json:"ttft_ms,omitempty"`
	// Spread is the time from the first to the last content chunk of
	// streams: near zero when chunks are coalesced, about the upstream's
	// gaps between them when they are forwarded as they arrive.
	Spread *Summary `json:"spread_ms,omitempty"`
	// EventsPerStream is the mean number of stream events per answer.
	EventsPerStream float64 `json:"events_per_stream,omitempty"`
	// PeakInFlight is the most requests open at once.
	PeakInFlight int64 `json:"peak_in_flight"`
}

// Summary holds percentiles of a set of durations, in milliseconds.
type Summary struct {
	N    int     `json:"n"`
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// summarize sorts ds and returns its nearest-rank percentiles.
func summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	at := func(p float64) float64 {
		i := int(p*float64(len(ds))+0.999999) - 1 // nearest rank, 1-based
		return ms(ds[min(max(i, 0), len(ds)-1)])
	}
	return Summary{N: len(ds), Min: ms(ds[0]), Mean: ms(sum / time.Duration(len(ds))), P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: ms(ds[len(ds)-1])}
}

// worker holds one worker's samples; merged at the end, so the hot loop
// shares nothing but two atomic counters.
type worker struct {
	lat, ttft, spread []time.Duration
	events            int
	errors            int
	errs              []string
}

// drive runs the load described by cfg.
func drive(ctx context.Context, cfg config) (*Result, error) {
	t, err := newTarget(cfg)
	if err != nil {
		return nil, err
	}
	client := &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only: never a proxy from the environment
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        cfg.Concurrency * 2,
			MaxIdleConnsPerHost: cfg.Concurrency * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	defer client.CloseIdleConnections()

	begin := time.Now()
	measureFrom := begin.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	ctx, cancel := context.WithDeadline(ctx, end.Add(cfg.Timeout))
	defer cancel()

	// completed counts measured requests that finished. A run lasts until
	// end and until one measured request finished: on a loaded machine a
	// short run's only requests may all start in the warm-up, and a run
	// that measured nothing would say nothing.
	var measured, completed, total, inFlight, peak atomic.Int64
	var overran atomic.Bool
	workers := make([]worker, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.lat = make([]time.Duration, 0, min(cfg.Max/cfg.Concurrency+16, 1<<16))
		wg.Go(func() {
			next := i // a mixed run's workers start at different requests
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(end) {
					if completed.Load() > 0 {
						return
					}
					overran.Store(true)
				}
				measure := !start.Before(measureFrom)
				if measure && measured.Add(1) > int64(cfg.Max) {
					return
				}
				total.Add(1)
				n := inFlight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				tt := t
				if t.mix != nil {
					tt, next = t.mix[next%len(t.mix)], next+1
				}
				a, err := do(ctx, client, tt, start)
				inFlight.Add(-1)
				if !measure {
					continue
				}
				completed.Add(1)
				if err != nil {
					if ctx.Err() != nil && time.Now().After(end) {
						return // cut off by the run's end, not a failure
					}
					w.errors++
					if msg := err.Error(); len(w.errs) < 5 && !slices.Contains(w.errs, msg) {
						w.errs = append(w.errs, msg)
					}
					continue
				}
				w.lat = append(w.lat, time.Since(start))
				if a.ttft > 0 {
					w.ttft = append(w.ttft, a.ttft)
					w.spread = append(w.spread, a.spread)
				}
				w.events += a.events
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	if last := end.Sub(measureFrom); elapsed > last && !overran.Load() {
		elapsed = last // the tail after the end is a request finishing, not throughput
	}

	res := &Result{API: cfg.API, Scenario: cfg.Scenario, Concurrency: cfg.Concurrency, Total: int(total.Load()),
		Seconds: elapsed.Seconds(), PeakInFlight: peak.Load()}
	var lat, ttft, spread []time.Duration
	events := 0
	for _, w := range workers {
		lat = append(lat, w.lat...)
		ttft = append(ttft, w.ttft...)
		spread = append(spread, w.spread...)
		events += w.events
		res.Errors += w.errors
		for _, e := range w.errs {
			if len(res.ErrorSamples) < 5 && !slices.Contains(res.ErrorSamples, e) {
				res.ErrorSamples = append(res.ErrorSamples, e)
			}
		}
	}
	res.Requests = len(lat)
	res.RPS = float64(len(lat)) / elapsed.Seconds()
	res.Latency = summarize(lat)
	if streaming(cfg.Scenario) {
		s, sp := summarize(ttft), summarize(spread)
		res.TTFT, res.Spread = &s, &sp
		if len(lat) > 0 {
			res.EventsPerStream = float64(events) / float64(len(lat))
		}
	}
	if res.Requests == 0 && res.Errors == 0 {
		return res, fmt.Errorf("no request completed in %s", cfg.Duration)
	}
	return res, nil
}

// do sends one request and reads its whole answer.
func do(ctx context.Context, client *http.Client, t *target, start time.Time) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return answer{}, fmt.Errorf("build request: %w", err)
	}
	req.Header = t.headers.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return answer{}, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return t.read(resp.Body, start)
}
