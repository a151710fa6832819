package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// profileResult summarises the gateway's CPU and allocation profiles under
// one scenario's top-concurrency load.
type profileResult struct {
	Scenario    string
	Concurrency int
	RPS         float64
	Shares      []share  // CPU, cumulative, by component
	AllocShares []share  // bytes allocated, cumulative, by component
	TopFlat     []string // go tool pprof -top rows (CPU)
	TopAlloc    []string // go tool pprof -top rows (alloc_space)
	Files       []string
	Err         string
}

// share is a component's cumulative share of a profile.
type share struct {
	Label   string
	Percent float64
}

// component names a profile share by the functions whose cumulative
// share it is (summed: they must not call each other).
type component struct {
	label string
	funcs []string
}

var cpuComponents = []component{
	{"AWS SDK call, all of it: middleware stack, serialize, sign, send, deserialize", []string{"github.com/aws/aws-sdk-go-v2/service/bedrockruntime.(*Client).invokeOperation"}},
	{"  of which SigV4 signing", []string{"github.com/aws/aws-sdk-go-v2/aws/signer/v4.Signer.SignHTTP"}},
	{"SDK event-stream reader (frames to typed events)", []string{"github.com/aws/smithy-go/transport/http.(*EventStreamReader).readEventStream"}},
	{"gin and the gateway's handlers (includes the SDK call)", []string{"github.com/gin-gonic/gin.(*Engine).ServeHTTP"}},
	{"  request body decode", []string{"github.com/openbedrock/gateway/app/server.decodeJSON"}},
	{"  OpenAI to Converse translation", []string{"github.com/openbedrock/gateway/app/bedrock.(*Translator).Translate"}},
	{"  response JSON (gin)", []string{"github.com/gin-gonic/gin.(*Context).JSON"}},
	{"  SSE chunk conversion and encoding", []string{"github.com/openbedrock/gateway/app/bedrock.(*Stream).Event", "github.com/openbedrock/gateway/app/server.(*sseWriter).event", "github.com/openbedrock/gateway/app/server.(*sseWriter).flush"}},
	{"  access log (slog)", []string{"log/slog.(*Logger).LogAttrs"}},
	{"  embeddings: Bedrock response scan (vectors' shape)", []string{"github.com/openbedrock/gateway/app/bedrock.parseCohere", "github.com/openbedrock/gateway/app/bedrock.parseTitan"}},
	{"  embeddings: response write (vectors copied)", []string{"github.com/openbedrock/gateway/app/openai.(*EmbeddingResponse).AppendJSON"}},
	{"net/http server: reading requests", []string{"net/http.(*conn).readRequest"}},
	{"net/http client: connection read and write loops", []string{"net/http.(*persistConn).readLoop", "net/http.(*persistConn).writeLoop"}},
	{"system calls (socket I/O, futex)", []string{"internal/runtime/syscall/linux.Syscall6"}},
	{"memory allocation (mallocgc)", []string{"runtime.mallocgc"}},
	{"garbage collection (background mark)", []string{"runtime.gcBgMarkWorker"}},
	{"goroutine stack growth", []string{"runtime.newstack"}},
	{"scheduler (finding work)", []string{"runtime.findRunnable"}},
}

var allocComponents = []component{
	{"AWS SDK call (middleware stack, serialize, sign, deserialize)", []string{"github.com/aws/aws-sdk-go-v2/service/bedrockruntime.(*Client).invokeOperation"}},
	{"SDK event-stream reader", []string{"github.com/aws/smithy-go/transport/http.(*EventStreamReader).readEventStream"}},
	{"net/http server: reading requests", []string{"net/http.(*conn).readRequest"}},
	{"request body decode", []string{"github.com/openbedrock/gateway/app/server.decodeJSON"}},
	{"OpenAI to Converse translation", []string{"github.com/openbedrock/gateway/app/bedrock.(*Translator).Translate"}},
	{"response JSON (gin)", []string{"github.com/gin-gonic/gin.(*Context).JSON"}},
	{"SSE chunk conversion and encoding", []string{"github.com/openbedrock/gateway/app/bedrock.(*Stream).Event", "github.com/openbedrock/gateway/app/server.(*sseWriter).event", "github.com/openbedrock/gateway/app/server.(*sseWriter).flush"}},
	{"embeddings: Bedrock response scan", []string{"github.com/openbedrock/gateway/app/bedrock.parseCohere", "github.com/openbedrock/gateway/app/bedrock.parseTitan"}},
}

func cpuShares(cum map[string]float64) []share   { return shares(cpuComponents, cum) }
func allocShares(cum map[string]float64) []share { return shares(allocComponents, cum) }

func shares(cs []component, cum map[string]float64) []share {
	out := make([]share, 0, len(cs))
	for _, c := range cs {
		s := share{Label: c.label}
		for _, f := range c.funcs {
			s.Percent += cum[f]
		}
		out = append(out, s)
	}
	return out
}

// pprofRow is one row of `go tool pprof -top` output.
type pprofRow struct {
	Name         string
	Flat         string // as printed, e.g. "30ms" or "3.5MB"
	FlatPct, Cum float64
	CumText      string
}

// parsePprofTop reads `go tool pprof -top` output. Rows look like
// "0.01s 0.23% 0.23% 1.43s 32.43% pkg.Func (inline)"; a trailing
// "(inline)" is not part of the name.
func parsePprofTop(out string) []pprofRow {
	var rows []pprofRow
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") || !strings.HasSuffix(f[4], "%") {
			continue
		}
		flat, err1 := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		cum, err2 := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		rows = append(rows, pprofRow{Name: f[5], Flat: f[0], FlatPct: flat, Cum: cum, CumText: f[3]})
	}
	return rows
}

// cumByName maps each function to its cumulative share.
func cumByName(rows []pprofRow) map[string]float64 {
	cum := map[string]float64{}
	for _, r := range rows {
		cum[r.Name] = max(cum[r.Name], r.Cum)
	}
	return cum
}

// topFlat renders the n rows with the most own (flat) time or bytes.
func topFlat(rows []pprofRow, n int) []string {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b pprofRow) int { return cmp.Compare(b.FlatPct, a.FlatPct) })
	out := []string{fmt.Sprintf("%10s %7s %10s %7s  %s", "flat", "flat%", "cum", "cum%", "function")}
	for _, r := range rows[:min(n, len(rows))] {
		out = append(out, fmt.Sprintf("%10s %6.2f%% %10s %6.2f%%  %s", r.Flat, r.FlatPct, r.CumText, r.Cum, r.Name))
	}
	return out
}
