package main

import (
	"fmt"
	"time"
)

// profile is the size of a run: `make bench` uses full, the Go test and
// `make bench-smoke` use smoke. Both run every phase, so the smoke run
// checks the whole harness in seconds.
type profile struct {
	Name        string
	Concurrency []int
	Latencies   []time.Duration // the emulator's upstream delay per phase
	Scenarios   []string        // loadgen scenarios: chat, stream, embed
	// RouteScenarios (the Responses and Messages routes) run in the first
	// phase only, at RouteConcurrency, against direct, proxy and gateway,
	// with chat's and stream's Bedrock requests as their baselines.
	RouteScenarios   []string
	RouteConcurrency []int
	// Mixed are the concurrencies of the mixed workload (chat, streams,
	// embeddings, tool calls in turn), first phase only.
	Mixed    []int
	Duration time.Duration // measured time per load run
	// Rounds is how many times the chat runs at 1 client and at the top
	// concurrency are measured, interleaved; the targets use the median.
	Rounds   int
	Warmup   time.Duration // unmeasured time before it
	Max      int           // bound on requests per load run
	Startups int           // start-up measurements per variant
	// Streams is the concurrent-stream test: Streams clients for
	// StreamsDuration, the emulator pausing StreamGap between events.
	Streams         int
	StreamsDuration time.Duration
	StreamGap       time.Duration
	ProfileSeconds  int           // CPU and allocation profile length; 0 skips
	ProfileOf       []string      // scenarios to profile
	MicroBenchtime  string        // go test -benchtime; empty skips the micro-benchmarks
	LambdaInits     int           // Lambda init measurements under RIE; 0 skips
	QuietWait       time.Duration // wait for a quiet machine before starting
	Settle          time.Duration // idle time before the after-load RSS reading
}

func profileNamed(name string) (profile, error) {
	switch name {
	case "full":
		return profile{
			Name: name, Concurrency: []int{1, 16, 64}, Latencies: []time.Duration{0, 50 * time.Millisecond},
			Scenarios: []string{"chat", "stream", "embed"}, Duration: 3 * time.Second, Rounds: 5, Warmup: 500 * time.Millisecond,
			RouteScenarios: routeScenarios, RouteConcurrency: []int{1, 64}, Mixed: []int{64, 256},
			Max: 200000, Startups: 10, Streams: 256, StreamsDuration: 3 * time.Second, StreamGap: 100 * time.Millisecond,
			ProfileSeconds: 4, ProfileOf: []string{"chat", "stream", "embed"}, MicroBenchtime: "300ms", LambdaInits: 5, QuietWait: 30 * time.Second, Settle: time.Second,
		}, nil
	case "smoke":
		return profile{
			Name: name, Concurrency: []int{1, 4}, Latencies: []time.Duration{0, 50 * time.Millisecond},
			Scenarios: []string{"chat", "stream", "embed"}, Duration: 100 * time.Millisecond, Rounds: 2, Warmup: 20 * time.Millisecond,
			RouteScenarios: routeScenarios, RouteConcurrency: []int{4}, Mixed: []int{4},
			Max: 5000, Startups: 2, Streams: 16, StreamsDuration: 300 * time.Millisecond, StreamGap: 20 * time.Millisecond,
			ProfileSeconds: 1, ProfileOf: []string{"chat"}, Settle: 100 * time.Millisecond,
		}, nil
	}
	return profile{}, fmt.Errorf("unknown profile %q (full or smoke)", name)
}

// routeScenarios are the Responses and Anthropic Messages routes, plain
// and streaming.
var routeScenarios = []string{"responses", "responses-stream", "messages", "messages-stream"}

// top is the largest concurrency, the one the throughput and memory
// targets are read at.
func (p profile) top() int { return p.Concurrency[len(p.Concurrency)-1] }
