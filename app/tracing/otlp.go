package tracing

import (
	"math"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// The OTLP trace messages this file writes, with their field numbers, from
// opentelemetry-proto's trace/v1/trace.proto, common/v1/common.proto and
// resource/v1/resource.proto. The body of an OTLP/HTTP export is an
// ExportTraceServiceRequest, whose one field (1, repeated ResourceSpans) is
// TracesData's: the same bytes.
const (
	fTracesResourceSpans = 1

	fResourceSpansResource   = 1
	fResourceSpansScopeSpans = 2

	fResourceAttributes = 1

	fScopeSpansScope = 1
	fScopeSpansSpans = 2

	fScopeName    = 1
	fScopeVersion = 2

	fSpanTraceID           = 1
	fSpanSpanID            = 2
	fSpanTraceState        = 3
	fSpanParentSpanID      = 4
	fSpanName              = 5
	fSpanKind              = 6
	fSpanStart             = 7
	fSpanEnd               = 8
	fSpanAttributes        = 9
	fSpanDroppedAttributes = 10
	fSpanEvents            = 11
	fSpanDroppedEvents     = 12
	fSpanLinks             = 13
	fSpanDroppedLinks      = 14
	fSpanStatus            = 15
	fSpanFlags             = 16

	fEventTime              = 1
	fEventName              = 2
	fEventAttributes        = 3
	fEventDroppedAttributes = 4

	fLinkTraceID    = 1
	fLinkSpanID     = 2
	fLinkTraceState = 3
	fLinkAttributes = 4
	fLinkFlags      = 6

	fStatusMessage = 2
	fStatusCode    = 3

	fKeyValueKey   = 1
	fKeyValueValue = 2

	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5
	fAnyKVList = 6
	fAnyBytes  = 7

	fArrayValues = 1 // ArrayValue.values and KeyValueList.values
)

// OTLP's status codes (its order differs from the SDK's codes.Code).
const (
	statusOK    = 1
	statusError = 2
)

// Span flags: the W3C trace flags in the low byte, then whether the parent
// is known to be remote, and whether it is.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// encodeTraces returns spans as an OTLP ExportTraceServiceRequest, grouped
// by resource and instrumentation scope in the order they came.
func encodeTraces(spans []sdktrace.ReadOnlySpan) []byte {
	type scopeGroup struct {
		scope instrumentation.Scope
		spans []sdktrace.ReadOnlySpan
	}
	type resourceGroup struct {
		res    *resource.Resource
		scopes []*scopeGroup
	}
	var groups []*resourceGroup
	for _, s := range spans {
		i := slices.IndexFunc(groups, func(g *resourceGroup) bool { return g.res == s.Resource() })
		if i < 0 {
			groups, i = append(groups, &resourceGroup{res: s.Resource()}), len(groups)
		}
		g, sc := groups[i], s.InstrumentationScope()
		j := slices.IndexFunc(g.scopes, func(x *scopeGroup) bool { return x.scope.Name == sc.Name && x.scope.Version == sc.Version })
		if j < 0 {
			g.scopes, j = append(g.scopes, &scopeGroup{scope: sc}), len(g.scopes)
		}
		g.scopes[j].spans = append(g.scopes[j].spans, s)
	}
	var out []byte
	for _, g := range groups {
		out = appendMessage(out, fTracesResourceSpans, func(b []byte) []byte {
			b = appendMessage(b, fResourceSpansResource, func(b []byte) []byte {
				if g.res != nil {
					for _, kv := range g.res.Attributes() {
						b = appendKeyValue(b, fResourceAttributes, kv)
					}
				}
				return b
			})
			for _, sg := range g.scopes {
				b = appendMessage(b, fResourceSpansScopeSpans, func(b []byte) []byte {
					b = appendMessage(b, fScopeSpansScope, func(b []byte) []byte {
						b = appendString(b, fScopeName, sg.scope.Name)
						return appendString(b, fScopeVersion, sg.scope.Version)
					})
					for _, s := range sg.spans {
						b = appendMessage(b, fScopeSpansSpans, func(b []byte) []byte { return appendSpan(b, s) })
					}
					return b
				})
			}
			return b
		})
	}
	return out
}

func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, fSpanTraceID, tid[:])
	b = appendBytes(b, fSpanSpanID, sid[:])
	b = appendString(b, fSpanTraceState, sc.TraceState().String())
	flags := uint32(sc.TraceFlags())
	if p := s.Parent(); p.SpanID().IsValid() {
		pid := p.SpanID()
		b = appendBytes(b, fSpanParentSpanID, pid[:])
		flags |= flagHasIsRemote
		if p.IsRemote() {
			flags |= flagIsRemote
		}
	} else {
		flags |= flagHasIsRemote
	}
	b = appendString(b, fSpanName, s.Name())
	b = appendVarint(b, fSpanKind, uint64(s.SpanKind()))
	b = appendFixed64(b, fSpanStart, unixNano(s.StartTime().UnixNano()))
	b = appendFixed64(b, fSpanEnd, unixNano(s.EndTime().UnixNano()))
	for _, kv := range s.Attributes() {
		b = appendKeyValue(b, fSpanAttributes, kv)
	}
	b = appendVarint(b, fSpanDroppedAttributes, uint64(s.DroppedAttributes()))
	for _, e := range s.Events() {
		b = appendMessage(b, fSpanEvents, func(b []byte) []byte {
			b = appendFixed64(b, fEventTime, unixNano(e.Time.UnixNano()))
			b = appendString(b, fEventName, e.Name)
			for _, kv := range e.Attributes {
				b = appendKeyValue(b, fEventAttributes, kv)
			}
			return appendVarint(b, fEventDroppedAttributes, uint64(e.DroppedAttributeCount))
		})
	}
	b = appendVarint(b, fSpanDroppedEvents, uint64(s.DroppedEvents()))
	for _, l := range s.Links() {
		b = appendMessage(b, fSpanLinks, func(b []byte) []byte {
			ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
			b = appendBytes(b, fLinkTraceID, ltid[:])
			b = appendBytes(b, fLinkSpanID, lsid[:])
			b = appendString(b, fLinkTraceState, l.SpanContext.TraceState().String())
			for _, kv := range l.Attributes {
				b = appendKeyValue(b, fLinkAttributes, kv)
			}
			lflags := uint32(l.SpanContext.TraceFlags()) | flagHasIsRemote
			if l.SpanContext.IsRemote() {
				lflags |= flagIsRemote
			}
			return protowire.AppendFixed32(protowire.AppendTag(b, fLinkFlags, protowire.Fixed32Type), lflags)
		})
	}
	b = appendVarint(b, fSpanDroppedLinks, uint64(s.DroppedLinks()))
	if st := s.Status(); st.Code != codes.Unset {
		b = appendMessage(b, fSpanStatus, func(b []byte) []byte {
			code := uint64(statusOK)
			if st.Code == codes.Error {
				code = statusError
				b = appendString(b, fStatusMessage, st.Description)
			}
			return appendVarint(b, fStatusCode, code)
		})
	}
	return protowire.AppendFixed32(protowire.AppendTag(b, fSpanFlags, protowire.Fixed32Type), flags)
}

// unixNano is a time for OTLP, where the zero time is 0.
func unixNano(n int64) uint64 { return uint64(max(n, 0)) }

func appendKeyValue(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	return appendMessage(b, num, func(b []byte) []byte {
		b = appendString(b, fKeyValueKey, string(kv.Key))
		return appendMessage(b, fKeyValueValue, func(b []byte) []byte { return appendValue(b, kv.Value) })
	})
}

// appendValue writes the fields of an AnyValue. Its members are a oneof:
// each is written even when it holds its zero value.
func appendValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return protowire.AppendVarint(protowire.AppendTag(b, fAnyBool, protowire.VarintType), protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		return protowire.AppendVarint(protowire.AppendTag(b, fAnyInt, protowire.VarintType), uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return protowire.AppendFixed64(protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type), math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		return protowire.AppendString(protowire.AppendTag(b, fAnyString, protowire.BytesType), v.AsString())
	case attribute.BYTESLICE:
		return protowire.AppendBytes(protowire.AppendTag(b, fAnyBytes, protowire.BytesType), v.AsByteSlice())
	case attribute.BOOLSLICE:
		return appendArray(b, len(v.AsBoolSlice()), func(b []byte, i int) []byte { return appendValue(b, attribute.BoolValue(v.AsBoolSlice()[i])) })
	case attribute.INT64SLICE:
		s := v.AsInt64Slice()
		return appendArray(b, len(s), func(b []byte, i int) []byte { return appendValue(b, attribute.Int64Value(s[i])) })
	case attribute.FLOAT64SLICE:
		s := v.AsFloat64Slice()
		return appendArray(b, len(s), func(b []byte, i int) []byte { return appendValue(b, attribute.Float64Value(s[i])) })
	case attribute.STRINGSLICE:
		s := v.AsStringSlice()
		return appendArray(b, len(s), func(b []byte, i int) []byte { return appendValue(b, attribute.StringValue(s[i])) })
	case attribute.SLICE:
		s := v.AsSlice()
		return appendArray(b, len(s), func(b []byte, i int) []byte { return appendValue(b, s[i]) })
	case attribute.MAP:
		return appendMessage(b, fAnyKVList, func(b []byte) []byte {
			for _, kv := range v.AsMap() {
				b = appendKeyValue(b, fArrayValues, kv)
			}
			return b
		})
	}
	return b // EMPTY: an AnyValue with no member
}

func appendArray(b []byte, n int, elem func([]byte, int) []byte) []byte {
	return appendMessage(b, fAnyArray, func(b []byte) []byte {
		for i := range n {
			b = appendMessage(b, fArrayValues, func(b []byte) []byte { return elem(b, i) })
		}
		return b
	})
}

// appendMessage writes an embedded message: its tag, then its length, then
// what body appends. The length is a varint in front of the body, so the
// body is written first and moved right by the length's size.
func appendMessage(b []byte, num protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	start := len(b)
	b = body(b)
	n := len(b) - start
	size := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, size)...)
	copy(b[start+size:], b[start:start+n])
	protowire.AppendVarint(b[start:start], uint64(n))
	return b
}

// appendString writes a string field unless it is empty (proto3's default).
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

func appendBytes(b []byte, num protowire.Number, p []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), p)
}

// appendVarint writes a varint field unless it is 0 (proto3's default).
func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), v)
}
