package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite example-cost.svg")

func runReport(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func TestHandComputedExample(t *testing.T) {
	dir := t.TempDir()
	csvPath, svgPath, mdPath := filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.svg"), filepath.Join(dir, "r.md")
	out, err := runReport(t, "-profile", "testdata/hand.yaml", "-prices", "testdata/prices-round.json",
		"-markdown", mdPath, "-csv", csvPath, "-svg", svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if out != "" {
		t.Errorf("wrote to stdout with every output sent to a file: %q", out)
	}
	md, _ := os.ReadFile(mdPath)
	// The totals worked out by hand in cmd/costreport/topology/topology_test.go.
	for _, want := range []string{"| **Total per month (USD)** | **571.25** | **552.02** |", "| 30 days | 79.52% |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
	f, _ := os.Open(csvPath)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 10 || rows[len(rows)-2][6] != "571.246034" {
		t.Errorf("CSV: %v, rows %d, V1 total %v", err, len(rows), rows[len(rows)-2])
	}
	svg, _ := os.ReadFile(svgPath)
	if err := xml.Unmarshal(svg, new(struct{})); err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("the SVG is not XML: %v", err)
	}
}

func TestDefaultsToMarkdownOnStdout(t *testing.T) {
	out, err := runReport(t)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "# Monthly cost: default") || !strings.Contains(out, "## V2: on-premises container") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestProfileFromMetricsURL(t *testing.T) {
	scrape, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(scrape) }))
	defer srv.Close()
	out, err := runReport(t, "-metrics", srv.URL+"/metrics", "-window", "72h", "-csv", "-", "-prices", "testdata/prices-round.json")
	if err != nil {
		t.Fatal(err)
	}
	// 300 requests over 3 days, 1000 in and 200 out each: 100 a day, 3000 a
	// month. Claude Haiku 4.5's us. profile keeps its embedded price (1.10
	// and 5.50 USD per million): 0.0022 a request, 6.60 a month.
	if !strings.Contains(out, "both,Bedrock tokens,us.anthropic.claude-haiku-4-5-20251001-v1:0,3000,requests,0.0022,6.6,") {
		t.Errorf("CSV:\n%s", out)
	}
	if !strings.Contains(out, "1000 in, 200 out tokens per request") {
		t.Errorf("the tokens per request were not derived:\n%s", out)
	}
	md, err := runReport(t, "-metrics", srv.URL+"/metrics", "-window", "72h", "-prices", "testdata/prices-round.json")
	if err != nil {
		t.Fatal(err)
	}
	// The one key: 3000 requests, 3,000,000 in and 600,000 out a month.
	if !strings.Contains(md, "| default | 3000 | 3000000 | 600000 | 0 | 0 | 6.60 | 100.00% |") {
		t.Errorf("no usage per key in the Markdown:\n%s", md)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing profile", []string{"-profile", "testdata/none.yaml"}, "read profile"},
		{"metrics without window", []string{"-metrics", "testdata/metrics.txt"}, "gateway_start_time_seconds"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"bad flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := runReport(t, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// TestREADMEWorkedExample keeps the README's worked example and its chart
// true to the example profile and the embedded prices; after a price or
// model change, run with -update and copy the summary into the README.
func TestREADMEWorkedExample(t *testing.T) {
	svgPath := filepath.Join(t.TempDir(), "example.svg")
	out, err := runReport(t, "-profile", "example-profile.yaml", "-markdown", "-", "-svg", svgPath)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The summary: the three rows under the first table's header.
	var summary []string
	if _, rest, ok := strings.Cut(out, "|---|---:|---:|\n"); ok {
		summary = strings.SplitN(rest, "\n", 4)[:3]
	}
	if len(summary) != 3 || !strings.Contains(string(readme), strings.Join(summary, "\n")) {
		t.Errorf("the README's worked example is not the report's summary:\n%s", strings.Join(summary, "\n"))
	}
	got, _ := os.ReadFile(svgPath)
	if *update {
		if err := os.WriteFile("example-cost.svg", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("example-cost.svg")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("example-cost.svg is stale (%v); run go test ./cmd/costreport -update", err)
	}
}
