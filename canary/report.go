package canary

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Summary condenses a run of results: per target and probe, how many failed,
// how many hit a cold instance and how fast warm and cold answers were; and
// per instance, when the canary first and last saw it.
type Summary struct {
	// Results is the number of results summarised.
	Results int
	// From and To are the times of the first and last result.
	From, To time.Time
	// Probes has one entry per target and probe, by target, then in order
	// of first appearance.
	Probes []ProbeSummary
	// Instances has one entry per target and instance id, by target, then
	// by first sighting.
	Instances []InstanceSummary
	// DistinctInstances counts distinct instance ids over all targets.
	DistinctInstances int
}

// ProbeSummary is the summary of one probe against one target.
type ProbeSummary struct {
	Target, Probe string
	// Count is the number of results; Failures how many did not pass.
	Count, Failures int
	// Reporting is the number of results that named their instance, the
	// base of the cold-start rate; Cold how many of those were cold.
	Reporting, Cold int
	// Warm and ColdLatency are latency percentiles of passed probes that
	// hit a warm or a cold instance. For a probe that reports no instance
	// (the chat probe) every passed result is in Warm.
	Warm, ColdLatency Percentiles
}

// Percentiles are nearest-rank latency percentiles of N samples.
type Percentiles struct {
	N             int
	P50, P90, P99 time.Duration
}

// InstanceSummary is what the canary saw of one execution environment.
// Its observed lifetime is LastSeen - FirstSeen: a lower bound of the real
// one, since the canary only looks every interval.
type InstanceSummary struct {
	Target, ID, Version string
	FirstSeen, LastSeen time.Time
	// Probes is how many results it answered; Cold how many were cold.
	Probes, Cold int
}

// Summarize builds the Summary of results; their order does not matter.
func Summarize(results []Result) Summary {
	sorted := slices.Clone(results)
	slices.SortStableFunc(sorted, func(a, b Result) int { return a.Time.Compare(b.Time) })

	s := Summary{Results: len(sorted)}
	if len(sorted) == 0 {
		return s
	}
	s.From, s.To = sorted[0].Time, sorted[len(sorted)-1].Time

	type key struct{ a, b string }
	probeIdx := map[key]int{}
	instIdx := map[key]int{}
	ids := map[string]bool{}
	warm := map[int][]time.Duration{}
	cold := map[int][]time.Duration{}
	for _, r := range sorted {
		pk := key{r.Target, r.Probe}
		i, ok := probeIdx[pk]
		if !ok {
			i = len(s.Probes)
			probeIdx[pk] = i
			s.Probes = append(s.Probes, ProbeSummary{Target: r.Target, Probe: r.Probe})
		}
		ps := &s.Probes[i]
		ps.Count++
		if !r.OK {
			ps.Failures++
		}
		if r.InstanceID != "" {
			ps.Reporting++
			if r.Cold {
				ps.Cold++
			}
		}
		if r.OK {
			if r.Cold {
				cold[i] = append(cold[i], r.Latency)
			} else {
				warm[i] = append(warm[i], r.Latency)
			}
		}

		if r.InstanceID == "" {
			continue
		}
		ids[r.InstanceID] = true
		ik := key{r.Target, r.InstanceID}
		j, ok := instIdx[ik]
		if !ok {
			j = len(s.Instances)
			instIdx[ik] = j
			s.Instances = append(s.Instances, InstanceSummary{
				Target: r.Target, ID: r.InstanceID, Version: r.Version, FirstSeen: r.Time,
			})
		}
		in := &s.Instances[j]
		in.LastSeen = r.Time
		in.Probes++
		if r.Cold {
			in.Cold++
		}
	}
	for i := range s.Probes {
		s.Probes[i].Warm = percentiles(warm[i])
		s.Probes[i].ColdLatency = percentiles(cold[i])
	}
	// Group by target; within a target keep the order of first appearance.
	slices.SortStableFunc(s.Probes, func(a, b ProbeSummary) int { return strings.Compare(a.Target, b.Target) })
	slices.SortStableFunc(s.Instances, func(a, b InstanceSummary) int { return strings.Compare(a.Target, b.Target) })
	s.DistinctInstances = len(ids)
	return s
}

// percentiles returns nearest-rank percentiles: the smallest sample with at
// least p% of the samples at or below it.
func percentiles(d []time.Duration) Percentiles {
	p := Percentiles{N: len(d)}
	if len(d) == 0 {
		return p
	}
	d = slices.Clone(d)
	slices.Sort(d)
	rank := func(q float64) time.Duration {
		i := int(math.Ceil(q/100*float64(len(d)))) - 1
		return d[max(i, 0)]
	}
	p.P50, p.P90, p.P99 = rank(50), rank(90), rank(99)
	return p
}

// WriteMarkdown writes s as a Markdown report with three tables: probes,
// latency and instances.
func (s Summary) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Canary report\n\n")
	if s.Results == 0 {
		b.WriteString("No results.\n")
		return writeString(w, b.String())
	}
	fmt.Fprintf(&b, "%d results from %s to %s (%s).\n\n",
		s.Results, s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339), s.To.Sub(s.From).Round(time.Second))

	b.WriteString("## Probes\n\n")
	b.WriteString("| Target | Probe | Probes | Failed | Failure rate | Cold | Cold-start rate |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
	for _, p := range s.Probes {
		coldRate := "n/a"
		if p.Reporting > 0 {
			coldRate = pct(p.Cold, p.Reporting)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %d | %s |\n",
			p.Target, p.Probe, p.Count, p.Failures, pct(p.Failures, p.Count), p.Cold, coldRate)
	}

	b.WriteString("\n## Latency of passed probes (ms)\n\n")
	b.WriteString("| Target | Probe | Instance | N | p50 | p90 | p99 |\n")
	b.WriteString("|---|---|---|--:|--:|--:|--:|\n")
	for _, p := range s.Probes {
		warmLabel := "warm"
		if p.Reporting == 0 {
			warmLabel = "all" // the probe does not say which instance answered
		}
		for _, row := range []struct {
			label string
			p     Percentiles
		}{{warmLabel, p.Warm}, {"cold", p.ColdLatency}} {
			if row.p.N == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %.1f | %.1f | %.1f |\n",
				p.Target, p.Probe, row.label, row.p.N, millis(row.p.P50), millis(row.p.P90), millis(row.p.P99))
		}
	}

	b.WriteString("\n## Instances\n\n")
	fmt.Fprintf(&b, "%d distinct instances. \"Seen for\" is last minus first sighting, a lower bound of the lifetime.\n\n", s.DistinctInstances)
	if len(s.Instances) > 0 {
		b.WriteString("| Target | Instance | Version | First seen | Last seen | Seen for | Probes | Cold |\n")
		b.WriteString("|---|---|---|---|---|--:|--:|--:|\n")
		for _, in := range s.Instances {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d | %d |\n",
				in.Target, in.ID, in.Version,
				in.FirstSeen.UTC().Format(time.RFC3339), in.LastSeen.UTC().Format(time.RFC3339),
				in.LastSeen.Sub(in.FirstSeen).Round(time.Second), in.Probes, in.Cold)
		}
	}
	return writeString(w, b.String())
}

// pct formats n/d as a percentage with one decimal.
func pct(n, d int) string {
	if d == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
}

func writeString(w io.Writer, s string) error {
	if _, err := io.WriteString(w, s); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
