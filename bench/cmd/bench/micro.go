package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// microPackages hold the hot-path micro-benchmarks (*_bench_test.go).
var microPackages = []string{"./app/openai/", "./app/bedrock/", "./app/server/", "./app/auth/"}

// microResult is one testing.B result. A sub-benchmark named
// "baseline..." is the reference its siblings' Ratio is measured against.
type microResult struct {
	Pkg      string
	Name     string // without the -GOMAXPROCS suffix
	NsOp     float64
	BOp      float64
	AllocsOp float64
	Baseline string  // the sibling baseline's name, if any
	Ratio    float64 // NsOp / the baseline's NsOp
}

// runMicro runs the micro-benchmarks once, in one go test invocation, so
// the ratios compare figures from the same run.
func runMicro(ctx context.Context, repo, benchtime string) ([]microResult, string) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", benchtime, "-count", "1"}, microPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	res := parseBench(string(out))
	if err != nil {
		return res, fmt.Sprintf("go test -bench: %v: %s", err, lastLines(string(out)+stderr.String(), 15))
	}
	if len(res) == 0 {
		return nil, "go test -bench printed no benchmark results"
	}
	return res, ""
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op(?:\s+[0-9.]+ MB/s)?(?:\s+([0-9.]+) B/op)?(?:\s+([0-9.]+) allocs/op)?`)

// parseBench reads `go test -bench -benchmem` output.
func parseBench(out string) []microResult {
	var res []microResult
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := microResult{Pkg: pkg, Name: m[1]}
		r.NsOp, _ = strconv.ParseFloat(m[2], 64)
		r.BOp, _ = strconv.ParseFloat(m[3], 64)
		r.AllocsOp, _ = strconv.ParseFloat(m[4], 64)
		res = append(res, r)
	}
	// Ratios against the "baseline..." sibling of each sub-benchmark.
	for i := range res {
		parent, _, ok := cutLast(res[i].Name, "/")
		if !ok {
			continue
		}
		for _, b := range res {
			bp, leaf, _ := cutLast(b.Name, "/")
			if bp == parent && b.Pkg == res[i].Pkg && strings.HasPrefix(leaf, "baseline") && b.Name != res[i].Name && b.NsOp > 0 {
				res[i].Baseline, res[i].Ratio = b.Name, res[i].NsOp/b.NsOp
				break
			}
		}
	}
	return res
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
