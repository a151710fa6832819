// Command bench is the gateway's benchmark harness (`make bench`). It builds
// the gateway, the Bedrock emulator, a bare reverse proxy and the load
// generator, starts them as separate processes on 127.0.0.1, drives
// non-streaming chat, streaming chat and embeddings at fixed concurrencies
// with the emulator's upstream delay at 0 and 50 ms, and measures, in the
// same run, the baselines that do no translation: the emulator directly
// and through the proxy. It also measures CPU per request, resident
// memory, start-up time, the Lambda build's init under the Runtime
// Interface Emulator, many concurrent streams, CPU and allocation profiles
// and the hot-path micro-benchmarks, and writes a Markdown report and an
// SVG chart.
//
//	cd bench && go run ./cmd/bench          # full profile: bench/REPORT.md, bench/chart.svg
//	cd bench && go run ./cmd/bench -profile smoke -out /tmp/r.md -chart /tmp/c.svg
//
// It lives in the bench module (bench/go.mod), apart from the gateway's, and
// finds the gateway's module through that module's replace directive.
//
// It notes the machine's load before the run and flags runs during which
// other processes used the CPU, so a skewed report says so.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	Profile   string
	Out       string // Markdown report
	Chart     string // SVG chart
	Repo      string // the gateway's module root; found through bench/go.mod when empty
	Bins      string // prebuilt binaries; empty: build them
	Keep      bool   // keep the work directory (binaries, raw profiles)
	QuietWait time.Duration
}

func run(ctx context.Context, args []string, log io.Writer) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(log)
	fs.StringVar(&o.Profile, "profile", "full", "full (make bench) or smoke (seconds; the Go test)")
	fs.StringVar(&o.Out, "out", "", "report path (default: bench/REPORT.md in the repository)")
	fs.StringVar(&o.Chart, "chart", "", "chart path (default: bench/chart.svg in the repository)")
	fs.StringVar(&o.Repo, "repo", "", "the gateway's repository root (default: the directory bench/go.mod replaces the gateway's module with)")
	fs.StringVar(&o.Bins, "bins", "", "use the binaries in this directory (as make test shares them) instead of building them")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory with the binaries and raw profiles")
	fs.DurationVar(&o.QuietWait, "quiet-wait", -1, "wait up to this long for the 1-minute load to fall to 1.5 before starting (default: the profile's)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o, err := o.resolve(ctx)
	if err != nil {
		return err
	}
	rep, err := runBench(ctx, o, log)
	if rep == nil {
		return err
	}
	if werr := writeReport(rep, o); werr != nil {
		return errors.Join(err, werr)
	}
	fmt.Fprintf(log, "bench: wrote %s and %s\n", o.Out, o.Chart)
	if err != nil {
		return err
	}
	if n := failedRuns(rep); n > 0 {
		return fmt.Errorf("%d load runs had errors (see the report)", n)
	}
	return nil
}

// runBench runs the harness with resolved options. It returns the report
// whenever load runs happened, with an error if it could not finish.
func runBench(ctx context.Context, o options, log io.Writer) (*report, error) {
	prof, err := profileNamed(o.Profile)
	if err != nil {
		return nil, err
	}
	if o.QuietWait >= 0 {
		prof.QuietWait = o.QuietWait
	}
	work, err := os.MkdirTemp("", "gateway-bench-")
	if err != nil {
		return nil, fmt.Errorf("make work directory: %w", err)
	}
	if o.Keep {
		fmt.Fprintf(log, "bench: keeping %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	h := &harness{prof: prof, repo: o.Repo, bins: o.Bins, work: work, log: log, caPath: caBundle(),
		rep: &report{Profile: prof.Name, Rounds: prof.Rounds, Date: time.Now()}}
	h.rep.CABundle = h.caPath
	start := time.Now()
	err = h.execute(ctx)
	h.rep.Elapsed = time.Since(start)
	if len(h.rep.Runs) == 0 {
		return nil, err
	}
	return h.rep, err
}

// caBundle is the CA bundle the gateway-ca runs point AWS_CA_BUNDLE at:
// the environment's, else the system bundle.
func caBundle() string {
	for _, p := range []string{os.Getenv("AWS_CA_BUNDLE"), "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// resolve fills in the default paths.
func (o options) resolve(ctx context.Context) (options, error) {
	if o.Repo == "" {
		var err error
		if o.Repo, err = moduleRoot(ctx); err != nil {
			return o, err
		}
	}
	if o.Out == "" {
		o.Out = filepath.Join(o.Repo, "bench", "REPORT.md")
	}
	if o.Chart == "" {
		o.Chart = filepath.Join(o.Repo, "bench", "chart.svg")
	}
	return o, nil
}

// moduleRoot is the directory of the gateway's module as the bench module
// sees it: its replace directive points at the repository root.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", gatewayModule).Output()
	if err != nil {
		return "", fmt.Errorf("find the gateway's module (run inside the bench module, or pass -repo): %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("find the gateway's module: go list gave no directory; pass -repo")
	}
	return dir, nil
}

// gatewayModule is the module path of the gateway.
const gatewayModule = "github.com/openbedrock/gateway"

func writeReport(rep *report, o options) error {
	for _, f := range []struct{ path, body string }{{o.Out, rep.markdown()}, {o.Chart, rep.chartSVG()}} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		if err := os.WriteFile(f.path, []byte(f.body), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// failedRuns counts load runs with errors.
func failedRuns(rep *report) int {
	n := 0
	for _, m := range append(append([]measurement(nil), rep.Runs...), rep.Streams...) {
		if m.Err != "" || m.Res.Errors > 0 {
			n++
		}
	}
	return n
}
