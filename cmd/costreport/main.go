// Command costreport models the monthly AWS bill of the gateway's two
// topologies (V1: ALB + Lambda; V2: an on-premises container) for a usage
// profile, plus the Bedrock token spend both share and its split by API key
// name, and writes an itemised table (Markdown, CSV) and an SVG bar chart.
//
//	costreport [-profile usage.yaml] [-metrics http://127.0.0.1:9090/metrics] [-window 24h]
//	           [-prices prices.json] [-markdown report.md] [-csv report.csv] [-svg report.svg]
//
// The profile (JSON or YAML, see topology.Profile) gives requests per day,
// tokens per request and the model mix, and the inputs of each topology;
// what it leaves out keeps the defaults. -metrics derives the traffic from a
// running gateway's /metrics (a URL or a saved scrape) instead. -prices
// replaces entries of the embedded price table, as PRICES_FILE does. With
// no output flag the Markdown goes to stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/cmd/costreport/topology"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "costreport:", err)
		}
		os.Exit(2)
	}
}

// run parses the flags, builds the report and writes it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("costreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profilePath := fs.String("profile", "", "usage profile, JSON or YAML (default: the built-in example)")
	metricsSrc := fs.String("metrics", "", "derive the traffic from a gateway's /metrics: a URL or a saved scrape")
	window := fs.Duration("window", 0, "time the -metrics counters cover (default: since gateway_start_time_seconds)")
	pricesPath := fs.String("prices", "", "price file whose entries replace the embedded ones")
	mdPath := fs.String("markdown", "", "write the Markdown table here (- for stdout)")
	csvPath := fs.String("csv", "", "write the CSV here (- for stdout)")
	svgPath := fs.String("svg", "", "write the SVG chart here (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	profile := topology.DefaultProfile()
	if *profilePath != "" {
		p, err := topology.LoadProfile(*profilePath)
		if err != nil {
			return err
		}
		profile = p
	}
	if *metricsSrc != "" {
		r, err := openMetrics(ctx, *metricsSrc)
		if err != nil {
			return err
		}
		profile, err = topology.ProfileFromMetrics(r, profile, time.Now(), *window)
		r.Close()
		if err != nil {
			return fmt.Errorf("derive the profile from %s: %w", *metricsSrc, err)
		}
	}
	prices, err := cost.LoadPrices(*pricesPath)
	if err != nil {
		return err
	}
	report, err := topology.Estimate(profile, prices)
	if err != nil {
		return fmt.Errorf("estimate: %w", err)
	}

	if *mdPath == "" && *csvPath == "" && *svgPath == "" {
		*mdPath = "-"
	}
	outputs := []struct {
		path   string
		render func(io.Writer) error
	}{{*mdPath, report.Markdown}, {*csvPath, report.CSV}, {*svgPath, report.SVG}}
	for _, o := range outputs {
		if err := write(o.path, stdout, o.render); err != nil {
			return err
		}
	}
	return nil
}

// openMetrics opens a URL or a file holding a scrape.
func openMetrics(ctx context.Context, src string) (io.ReadCloser, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("open metrics: %w", err)
		}
		return f, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("scrape %s: %w", src, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("scrape %s: %w", src, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("scrape %s: HTTP %d", src, resp.StatusCode)
	}
	return readCloser{resp.Body, cancel}, nil
}

type readCloser struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (r readCloser) Close() error {
	defer r.cancel()
	return r.ReadCloser.Close()
}

// write renders to path; "" skips, "-" is stdout.
func write(path string, stdout io.Writer, render func(io.Writer) error) error {
	switch path {
	case "":
		return nil
	case "-":
		return render(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := render(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
