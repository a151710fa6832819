package collectortest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/openbedrock/gateway/internal/testbin"
)

// collector is the OpenTelemetry Collector's OTLP receiver (HTTP only),
// running in the test, with a sink that keeps every span it decoded.
type collector struct {
	// Endpoint is the OTLP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT.
	Endpoint string
	sink     *consumertest.TracesSink
}

// startCollector starts the receiver on addr (host:port; empty picks a
// free port) and stops it when the test ends.
func startCollector(tb testing.TB, addr string) *collector {
	tb.Helper()
	if addr == "" {
		addr = testbin.LocalAddr(tb)
	}
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = addr
	sink := new(consumertest.TracesSink)
	r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		tb.Fatalf("create the OTLP receiver: %v", err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		tb.Fatalf("start the OTLP receiver on %s: %v", addr, err)
	}
	tb.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return &collector{Endpoint: "http://" + addr, sink: sink}
}

// span is a span as the collector decoded it, flattened for assertions.
type span struct {
	TraceID, SpanID, ParentID string
	Name                      string
	Kind                      ptrace.SpanKind
	Status                    ptrace.StatusCode
	TraceState                string
	Attrs                     map[string]any
	Resource                  map[string]any
	Scope                     string
	Start, End                time.Time
}

func (s span) String() string {
	return fmt.Sprintf("%s %q (trace %s, parent %s, scope %s) %v", s.Kind, s.Name, s.TraceID, s.ParentID, s.Scope, s.Attrs)
}

// Spans returns every span received so far.
func (c *collector) Spans() []span {
	var out []span
	for _, td := range c.sink.AllTraces() {
		for _, rs := range td.ResourceSpans().All() {
			res := rs.Resource().Attributes().AsRaw()
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					sp := span{
						TraceID: s.TraceID().String(), SpanID: s.SpanID().String(), Name: s.Name(), Kind: s.Kind(),
						Status: s.Status().Code(), TraceState: s.TraceState().AsRaw(), Attrs: s.Attributes().AsRaw(),
						Resource: res, Scope: ss.Scope().Name(), Start: s.StartTimestamp().AsTime(), End: s.EndTimestamp().AsTime(),
					}
					if !s.ParentSpanID().IsEmpty() {
						sp.ParentID = s.ParentSpanID().String()
					}
					out = append(out, sp)
				}
			}
		}
	}
	return out
}

// strings returns every string the collector received: names, attribute
// values of spans, events and resources.
func (c *collector) strings() []string {
	var out []string
	var walk func(v pcommon.Value)
	walk = func(v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeMap:
			for k, e := range v.Map().All() {
				out = append(out, k)
				walk(e)
			}
		case pcommon.ValueTypeSlice:
			for _, e := range v.Slice().All() {
				walk(e)
			}
		default:
			out = append(out, v.AsString())
		}
	}
	walkMap := func(m pcommon.Map) {
		for k, v := range m.All() {
			out = append(out, k)
			walk(v)
		}
	}
	for _, td := range c.sink.AllTraces() {
		for _, rs := range td.ResourceSpans().All() {
			walkMap(rs.Resource().Attributes())
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					out = append(out, s.Name(), s.Status().Message())
					walkMap(s.Attributes())
					for _, e := range s.Events().All() {
						out = append(out, e.Name())
						walkMap(e.Attributes())
					}
				}
			}
		}
	}
	return out
}

// waitSpans polls until keep holds for want spans, or fails after 10s.
func (c *collector) waitSpans(tb testing.TB, want int, keep func(span) bool) []span {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []span
		for _, s := range c.Spans() {
			if keep(s) {
				got = append(got, s)
			}
		}
		if len(got) >= want {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("got %d matching spans after 10s, want %d; all spans:\n%s", len(got), want, spansText(c.Spans()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func spansText(spans []span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString("  " + s.String() + "\n")
	}
	return b.String()
}

// inTrace keeps the spans of one trace.
func inTrace(id string) func(span) bool { return func(s span) bool { return s.TraceID == id } }

// named returns the spans called name, failing unless there are want.
func named(tb testing.TB, spans []span, name string, want int) []span {
	tb.Helper()
	var out []span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	if len(out) != want {
		tb.Fatalf("got %d spans named %q, want %d; the trace:\n%s", len(out), name, want, spansText(spans))
	}
	return out
}

// attr checks one attribute.
func attr(tb testing.TB, s span, key string, want any) {
	tb.Helper()
	if got, ok := s.Attrs[key]; !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		tb.Errorf("%s: %s = %v (set: %v), want %v", s.Name, key, got, ok, want)
	}
}

// ids numbers the traces the tests start.
var ids struct {
	sync.Mutex
	n int
}

// newTraceparent makes a client's W3C trace context with fresh ids.
func newTraceparent() (header, traceID, spanID string) {
	ids.Lock()
	ids.n++
	n := ids.n
	ids.Unlock()
	traceID = fmt.Sprintf("4bf92f3577b34da6a3ce929d%08x", n)
	spanID = fmt.Sprintf("00f067aa%08x", n)
	return "00-" + traceID + "-" + spanID + "-01", traceID, spanID
}
