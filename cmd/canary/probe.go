package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/openbedrock/gateway/canary"
)

// runOnce probes every target once and fails when any probe failed.
func runOnce(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return usageError{err}
	}
	fs := flag.NewFlagSet("canary once", flag.ContinueOnError)
	fs.SetOutput(stderr)
	done := probeFlags(fs, &s)
	out, textfile := outputFlags(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := done(); err != nil {
		return err
	}
	p, err := newProber(ctx, s)
	if err != nil {
		return err
	}
	rec, err := openRecorder(*out, *textfile, stdout, stderr)
	if err != nil {
		return err
	}
	results := p.Run(ctx, s.targets)
	return errors.Join(rec.record(ctx, results), rec.close(), canary.Failure(results))
}

// runLoop probes every target each interval until ctx ends or count runs
// are done. Failed probes are recorded, not fatal: the loop is a recorder.
// Only a failure to write results ends it with an error.
func runLoop(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	s, err := loadSettings(getenv)
	if err != nil {
		return usageError{err}
	}
	fs := flag.NewFlagSet("canary loop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	done := probeFlags(fs, &s)
	out, textfile := outputFlags(fs)
	interval := fs.Duration("interval", 5*time.Minute, "time between runs")
	count := fs.Int("count", 0, "stop after `N` runs (0: run until interrupted)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := done(); err != nil {
		return err
	}
	if *interval <= 0 || *count < 0 {
		return usageError{fmt.Errorf("-interval must be positive and -count not negative")}
	}
	p, err := newProber(ctx, s)
	if err != nil {
		return err
	}
	rec, err := openRecorder(*out, *textfile, stdout, stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rec.close()) }()

	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for n := 0; *count == 0 || n < *count; n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		if err := rec.record(ctx, p.Run(ctx, s.targets)); err != nil {
			return err
		}
	}
	return nil
}

// outputFlags registers the result and metrics file flags.
func outputFlags(fs *flag.FlagSet) (out, textfile *string) {
	out = fs.String("out", "", "append results as JSON lines to `file` (- for stdout); input of canary report")
	textfile = fs.String("textfile", "", "write Prometheus metrics to `file` (name it *.prom, in node_exporter's --collector.textfile.directory)")
	return out, textfile
}

// recorder sends each run's results to the log and, when asked, to a
// results file and a Prometheus text file.
type recorder struct {
	logger   *slog.Logger
	out      io.Writer
	closeOut func() error
	metrics  *canary.Metrics
	textfile string
}

// openRecorder opens the results file for appending (so runs accumulate)
// and sets up the metrics. Log lines go to stderr.
func openRecorder(out, textfile string, stdout, stderr io.Writer) (*recorder, error) {
	r := &recorder{logger: newLogger(stderr), closeOut: func() error { return nil }, textfile: textfile}
	switch out {
	case "":
	case "-":
		r.out = stdout
	default:
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open results file: %w", err)
		}
		r.out, r.closeOut = f, f.Close
	}
	if textfile != "" {
		m, err := canary.NewMetrics()
		if err != nil {
			return nil, errors.Join(err, r.closeOut())
		}
		r.metrics = m
	}
	return r, nil
}

// record logs results and writes them to the configured outputs.
func (r *recorder) record(ctx context.Context, results []canary.Result) error {
	canary.Log(ctx, r.logger, results)
	if r.out != nil {
		if err := canary.WriteJSONL(r.out, results); err != nil {
			return err
		}
	}
	if r.metrics != nil {
		r.metrics.Observe(results)
		if err := r.metrics.WriteTextfile(r.textfile); err != nil {
			return err
		}
	}
	return nil
}

// close closes the results file, if one was opened.
func (r *recorder) close() error {
	if err := r.closeOut(); err != nil {
		return fmt.Errorf("close results file: %w", err)
	}
	return nil
}
