package canary

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"
)

// Result is what one probe of one target saw. Its JSON form is one line of
// a results file (see [WriteJSONL]); latency is in milliseconds there.
type Result struct {
	// Time is when the probe started, in UTC.
	Time time.Time
	// Target is the base URL probed.
	Target string
	// Probe is the probe's name.
	Probe string
	// OK reports whether the probe passed.
	OK bool
	// StatusCode is the HTTP status, zero when no answer arrived.
	StatusCode int
	// Latency is the time from sending the request to reading the whole body.
	Latency time.Duration
	// Cold reports that this request was the instance's first (a cold start).
	Cold bool
	// InstanceID names the execution environment that answered.
	InstanceID string
	// Version is the gateway's version.
	Version string
	// Runtime is "lambda" or "server", as the gateway reports it.
	Runtime string
	// StartedAt is the instance's start time, as the gateway reports it.
	StartedAt string
	// Error says why the probe failed; empty when OK.
	Error string
}

// resultJSON is the wire form of a Result.
type resultJSON struct {
	Time       time.Time `json:"time"`
	Target     string    `json:"target"`
	Probe      string    `json:"probe"`
	OK         bool      `json:"ok"`
	StatusCode int       `json:"status_code,omitempty"`
	LatencyMS  float64   `json:"latency_ms"`
	Cold       bool      `json:"cold"`
	InstanceID string    `json:"instance_id,omitempty"`
	Version    string    `json:"version,omitempty"`
	Runtime    string    `json:"runtime,omitempty"`
	StartedAt  string    `json:"started_at,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// MarshalJSON encodes r with its latency in milliseconds.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{
		Time: r.Time, Target: r.Target, Probe: r.Probe, OK: r.OK,
		StatusCode: r.StatusCode, LatencyMS: millis(r.Latency), Cold: r.Cold,
		InstanceID: r.InstanceID, Version: r.Version, Runtime: r.Runtime,
		StartedAt: r.StartedAt, Error: r.Error,
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result{
		Time: j.Time, Target: j.Target, Probe: j.Probe, OK: j.OK,
		StatusCode: j.StatusCode, Latency: time.Duration(j.LatencyMS * float64(time.Millisecond)),
		Cold: j.Cold, InstanceID: j.InstanceID, Version: j.Version, Runtime: j.Runtime,
		StartedAt: j.StartedAt, Error: j.Error,
	}
	return nil
}

// millis converts d to milliseconds, rounded to the microsecond.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// WriteJSONL writes one JSON line per result.
func WriteJSONL(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write result of %s %s: %w", r.Target, r.Probe, err)
		}
	}
	return nil
}

// ReadJSONL reads a results file written by [WriteJSONL]. Blank lines are
// skipped; any other line that does not decode is an error naming the line.
func ReadJSONL(r io.Reader) ([]Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	var out []Result
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var res Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	return out, nil
}

// Log writes one structured log line per result: Info when it passed,
// Error when it failed.
func Log(ctx context.Context, logger *slog.Logger, results []Result) {
	for _, r := range results {
		level := slog.LevelInfo
		if !r.OK {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("target", r.Target),
			slog.String("probe", r.Probe),
			slog.Bool("ok", r.OK),
			slog.Int("status", r.StatusCode),
			slog.Float64("latency_ms", millis(r.Latency)),
			slog.Bool("cold", r.Cold),
			slog.String("instance_id", r.InstanceID),
			slog.String("version", r.Version),
		}
		if r.Error != "" {
			attrs = append(attrs, slog.String("error", r.Error))
		}
		logger.LogAttrs(ctx, level, "probe", attrs...)
	}
}

// ErrProbeFailed is what a [ProbeFailure] matches with errors.Is, so callers
// can tell failed probes from their own errors.
var ErrProbeFailed = errors.New("probe failed")

// ProbeFailure is the error of a run in which probes failed. Its type name
// is what Lambda reports as the invocation's errorType.
type ProbeFailure struct {
	// Failed are the results that did not pass.
	Failed []Result
	// Total is the number of results of the run.
	Total int
}

// Error lists each failed probe with its error.
func (e *ProbeFailure) Error() string {
	parts := make([]string, len(e.Failed))
	for i, r := range e.Failed {
		parts[i] = fmt.Sprintf("%s %s: %s", r.Target, r.Probe, r.Error)
	}
	return fmt.Sprintf("%s: %d of %d: %s", ErrProbeFailed, len(e.Failed), e.Total, strings.Join(parts, "; "))
}

// Unwrap returns ErrProbeFailed.
func (e *ProbeFailure) Unwrap() error { return ErrProbeFailed }

// Failure returns nil when every result passed, else a *ProbeFailure.
func Failure(results []Result) error {
	var failed []Result
	for _, r := range results {
		if !r.OK {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &ProbeFailure{Failed: failed, Total: len(results)}
}
