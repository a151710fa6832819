package canary

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// readFixture reads a results file from testdata/.
func readFixture(tb testing.TB, name string) []Result {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	results, err := ReadJSONL(f)
	if err != nil {
		tb.Fatalf("read %s: %v", name, err)
	}
	return results
}

func TestReportGolden(t *testing.T) {
	results := readFixture(t, "results.jsonl")
	var got bytes.Buffer
	if err := Summarize(results).WriteMarkdown(&got); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("report differs from %s (run with -update and review the diff):\n%s", golden, got.String())
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(readFixture(t, "results.jsonl"))
	if s.Results != 50 || s.DistinctInstances != 4 {
		t.Errorf("got %d results, %d instances, want 50 and 4", s.Results, s.DistinctInstances)
	}
	byKey := map[string]ProbeSummary{}
	for _, p := range s.Probes {
		byKey[p.Target+" "+p.Probe] = p
	}
	v1 := byKey["https://v1.example.test health"]
	if v1.Count != 24 || v1.Failures != 1 || v1.Reporting != 23 || v1.Cold != 3 {
		t.Errorf("v1 health: got %+v, want 24 probes, 1 failure, 23 reporting, 3 cold", v1)
	}
	if v1.ColdLatency.N != 3 || v1.Warm.N != 20 {
		t.Errorf("v1 health: got %d cold and %d warm samples, want 3 and 20", v1.ColdLatency.N, v1.Warm.N)
	}
	if v1.ColdLatency.P50 <= v1.Warm.P99 {
		t.Errorf("v1 health: cold p50 %v not above warm p99 %v; fixture or split is wrong", v1.ColdLatency.P50, v1.Warm.P99)
	}
	chat := byKey["https://v1.example.test chat"]
	if chat.Count != 2 || chat.Reporting != 0 || chat.Warm.N != 2 {
		t.Errorf("v1 chat: got %+v, want 2 probes, none reporting an instance", chat)
	}
	first := s.Instances[0]
	if first.ID != "a1f0c3d2e4b5a6c7" || first.LastSeen.Sub(first.FirstSeen) != 45*time.Minute || first.Probes != 10 || first.Cold != 1 {
		t.Errorf("first instance: got %+v, want a1f0... seen for 45m over 10 probes, 1 cold", first)
	}
}

func TestSummarizeEmpty(t *testing.T) {
	var b strings.Builder
	if err := Summarize(nil).WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No results.") {
		t.Errorf("got %q, want it to say there are no results", b.String())
	}
}

func TestPercentiles(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		name          string
		in            []time.Duration
		p50, p90, p99 time.Duration
	}{
		{"empty", nil, 0, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond},
		{"unsorted ten", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 5 * time.Millisecond, 9 * time.Millisecond, 10 * time.Millisecond},
		{"hundred", ms(func() []int {
			var v []int
			for i := 100; i >= 1; i-- {
				v = append(v, i)
			}
			return v
		}()...), 50 * time.Millisecond, 90 * time.Millisecond, 99 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := percentiles(tt.in)
			if got.N != len(tt.in) || got.P50 != tt.p50 || got.P90 != tt.p90 || got.P99 != tt.p99 {
				t.Errorf("got %+v, want N=%d p50=%v p90=%v p99=%v", got, len(tt.in), tt.p50, tt.p90, tt.p99)
			}
		})
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	in := []Result{
		{Time: time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC), Target: "https://a", Probe: "health", OK: true,
			StatusCode: 200, Latency: 12_345 * time.Microsecond, Cold: true, InstanceID: "i", Version: "v",
			Runtime: "lambda", StartedAt: "2026-01-02T03:04:00Z"},
		{Time: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), Target: "https://a", Probe: "chat",
			Latency: 7 * time.Second, Error: "timeout"},
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"latency_ms":12.345`) {
		t.Errorf("got %s, want latency in milliseconds", buf.String())
	}
	out, err := ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("got %d results, want %d", len(out), len(in))
	}
	for i := range in {
		if !out[i].Time.Equal(in[i].Time) {
			t.Errorf("result %d: got time %v, want %v", i, out[i].Time, in[i].Time)
		}
		out[i].Time = in[i].Time
		if out[i] != in[i] {
			t.Errorf("result %d: got %+v, want %+v", i, out[i], in[i])
		}
	}
}

func TestReadJSONLNamesTheBadLine(t *testing.T) {
	in := "{\"probe\":\"health\"}\n\n{not json}\n"
	_, err := ReadJSONL(strings.NewReader(in))
	if err == nil || !strings.HasPrefix(err.Error(), "line 3:") {
		t.Errorf("got %v, want an error for line 3", err)
	}
}
