package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the Bedrock spans.
const TracerName = "github.com/openbedrock/gateway/app/bedrock"

// GenAI semantic-convention attributes of a Bedrock call's span. Prompts
// and completions are never recorded.
const (
	attrProvider       = attribute.Key("gen_ai.provider.name")
	attrOperation      = attribute.Key("gen_ai.operation.name")
	attrRequestModel   = attribute.Key("gen_ai.request.model")
	attrResponseModel  = attribute.Key("gen_ai.response.model")
	attrMaxTokens      = attribute.Key("gen_ai.request.max_tokens")
	attrTemperature    = attribute.Key("gen_ai.request.temperature")
	attrTopP           = attribute.Key("gen_ai.request.top_p")
	attrInputTokens    = attribute.Key("gen_ai.usage.input_tokens")
	attrOutputTokens   = attribute.Key("gen_ai.usage.output_tokens")
	attrCacheRead      = attribute.Key("gen_ai.usage.cache_read.input_tokens")
	attrCacheWrite     = attribute.Key("gen_ai.usage.cache_creation.input_tokens")
	attrFinishReasons  = attribute.Key("gen_ai.response.finish_reasons")
	attrErrorType      = attribute.Key("error.type")
	attrBedrockOp      = attribute.Key("aws.bedrock.operation")
	attrStreamReopened = attribute.Key("aws.bedrock.stream_reopenings")
)

// The gen_ai.operation.name values of the gateway's calls.
const (
	opChat        = "chat"
	opEmbeddings  = "embeddings"
	opCountTokens = "count_tokens"
)

// operationKey marks a context whose InvokeModel calls are not chat (the
// Embedder's).
type operationKey struct{}

func withOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// callSpan is the span of one Bedrock call, from the request to the end of
// its answer (a stream's last event), the SDK's retries as its children. A
// nil *callSpan (tracing off) does nothing.
type callSpan struct {
	span     trace.Span
	model    string
	attempts atomic.Int32
	ended    atomic.Bool
	content  int             // bytes of prompt and completion kept; 0: none
	text     strings.Builder // a stream's text so far, when content > 0
}

// callSpanKey is where the SDK middleware finds the call's span.
type callSpanKey struct{}

// startCall starts the span of a call of the SDK operation sdkOp on model.
func (s *Service) startCall(ctx context.Context, sdkOp, model string, params ...attribute.KeyValue) (context.Context, *callSpan) {
	if s.tracer == nil {
		return ctx, nil
	}
	op := opChat
	if sdkOp == "CountTokens" {
		op = opCountTokens
	} else if v, ok := ctx.Value(operationKey{}).(string); ok {
		op = v
	}
	ctx, sp := s.tracer.Start(ctx, op+" "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attrProvider.String("aws.bedrock"), attrOperation.String(op), attrRequestModel.String(model), attrBedrockOp.String(sdkOp)))
	sp.SetAttributes(params...)
	if r, ok := ctx.Value(regionKey{}).(*Region); ok {
		sp.SetAttributes(attribute.String("cloud.region", r.Name))
	} else if len(s.regions) > 0 && s.regions[0].Name != "" {
		sp.SetAttributes(attribute.String("cloud.region", s.regions[0].Name))
	}
	cs := &callSpan{span: sp, model: model, content: s.traceContent}
	return context.WithValue(ctx, callSpanKey{}, cs), cs
}

// inferenceParams are the request parameters of a Converse call; nothing
// (no allocation) when not tracing.
func (s *Service) inferenceParams(c *types.InferenceConfiguration) []attribute.KeyValue {
	if s.tracer == nil || c == nil {
		return nil
	}
	var kv []attribute.KeyValue
	if c.MaxTokens != nil {
		kv = append(kv, attrMaxTokens.Int(int(*c.MaxTokens)))
	}
	if c.Temperature != nil {
		kv = append(kv, attrTemperature.Float64(float64(*c.Temperature)))
	}
	if c.TopP != nil {
		kv = append(kv, attrTopP.Float64(float64(*c.TopP)))
	}
	return kv
}

// bodyParams are the request parameters of a native JSON body (Anthropic's
// max_tokens, temperature, top_p); read only when tracing.
func (s *Service) bodyParams(body []byte) []attribute.KeyValue {
	if s.tracer == nil || len(body) == 0 {
		return nil
	}
	var b struct {
		MaxTokens   *int     `json:"max_tokens"`
		Temperature *float64 `json:"temperature"`
		TopP        *float64 `json:"top_p"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	var kv []attribute.KeyValue
	if b.MaxTokens != nil {
		kv = append(kv, attrMaxTokens.Int(*b.MaxTokens))
	}
	if b.Temperature != nil {
		kv = append(kv, attrTemperature.Float64(*b.Temperature))
	}
	if b.TopP != nil {
		kv = append(kv, attrTopP.Float64(*b.TopP))
	}
	return kv
}

// usage records Bedrock's token counts.
func (c *callSpan) usage(u *types.TokenUsage) {
	if c == nil || u == nil {
		return
	}
	c.span.SetAttributes(attrInputTokens.Int(int(aws.ToInt32(u.InputTokens))), attrOutputTokens.Int(int(aws.ToInt32(u.OutputTokens))))
	if u.CacheReadInputTokens != nil {
		c.span.SetAttributes(attrCacheRead.Int(int(*u.CacheReadInputTokens)))
	}
	if u.CacheWriteInputTokens != nil {
		c.span.SetAttributes(attrCacheWrite.Int(int(*u.CacheWriteInputTokens)))
	}
}

// tokenHeaders records the token counts InvokeModel answers in headers.
func (c *callSpan) tokenHeaders(h http.Header) {
	for name, key := range map[string]attribute.Key{
		"X-Amzn-Bedrock-Input-Token-Count":             attrInputTokens,
		"X-Amzn-Bedrock-Output-Token-Count":            attrOutputTokens,
		"X-Amzn-Bedrock-Cache-Read-Input-Token-Count":  attrCacheRead,
		"X-Amzn-Bedrock-Cache-Write-Input-Token-Count": attrCacheWrite,
	} {
		if n, err := strconv.Atoi(h.Get(name)); err == nil {
			c.span.SetAttributes(key.Int(n))
		}
	}
}

// invocationMetrics records the token counts in the last chunk of an
// InvokeModelWithResponseStream (amazon-bedrock-invocationMetrics).
func (c *callSpan) invocationMetrics(chunk []byte) {
	if c == nil || !bytes.Contains(chunk, []byte(`"amazon-bedrock-invocationMetrics"`)) {
		return
	}
	var ev struct {
		Metrics struct {
			In  *int `json:"inputTokenCount"`
			Out *int `json:"outputTokenCount"`
		} `json:"amazon-bedrock-invocationMetrics"`
	}
	if json.Unmarshal(chunk, &ev) != nil {
		return
	}
	if ev.Metrics.In != nil {
		c.span.SetAttributes(attrInputTokens.Int(*ev.Metrics.In))
	}
	if ev.Metrics.Out != nil {
		c.span.SetAttributes(attrOutputTokens.Int(*ev.Metrics.Out))
	}
}

// anthropicStop records an Anthropic stream's stop_reason (its message_delta).
func (c *callSpan) anthropicStop(chunk []byte) {
	if c == nil || !bytes.Contains(chunk, []byte(`"stop_reason"`)) {
		return
	}
	var ev struct {
		Delta struct {
			StopReason string `json:"stop_reason"`
		} `json:"delta"`
		StopReason string `json:"stop_reason"`
	}
	if json.Unmarshal(chunk, &ev) == nil {
		c.finish(ev.Delta.StopReason + ev.StopReason)
	}
}

// finish records why the model stopped.
func (c *callSpan) finish(reason string) {
	if c == nil || reason == "" {
		return
	}
	c.span.SetAttributes(attrFinishReasons.StringSlice([]string{reason}))
}

// event records a stream event's usage and stop reason.
func (c *callSpan) event(ev types.ConverseStreamOutput) {
	if c == nil {
		return
	}
	c.streamText(ev)
	switch v := ev.(type) {
	case *types.ConverseStreamOutputMemberMessageStop:
		c.finish(string(v.Value.StopReason))
	case *types.ConverseStreamOutputMemberMetadata:
		c.usage(v.Value.Usage)
	}
}

// rawAnswer records what an answer of Bedrock's own API reports: its
// tokens, and Converse's stopReason or an Anthropic body's stop_reason.
func (c *callSpan) rawAnswer(header http.Header, body []byte) {
	if c == nil {
		return
	}
	c.rawUsage(header, body)
	var v struct {
		StopReason string `json:"stopReason"`
	}
	if bytes.Contains(body, []byte(`"stopReason"`)) && json.Unmarshal(body, &v) == nil {
		c.finish(v.StopReason)
	}
	c.anthropicStop(body)
}

// rawUsage records the tokens an answer of Bedrock's own API reports.
func (c *callSpan) rawUsage(header http.Header, body []byte) {
	if c == nil {
		return
	}
	if u, ok := RawUsage(header, body); ok {
		c.span.SetAttributes(attrInputTokens.Int64(u.Input), attrOutputTokens.Int64(u.Output))
	}
}

// reopened counts a stream opened again after a failed first frame.
func (c *callSpan) reopened(n int) {
	if c != nil {
		c.span.SetAttributes(attrStreamReopened.Int(n))
	}
}

// end ends the span once, with err's kind when the call failed.
func (c *callSpan) end(err error) {
	if c == nil || !c.ended.CompareAndSwap(false, true) {
		return
	}
	if err != nil {
		kind := "error"
		if be := Classify(err); be != nil && be.Code != "" {
			kind = be.Code
		}
		// Only the kind: an error's message may quote the request.
		c.span.SetAttributes(attrErrorType.String(kind))
		c.span.SetStatus(codes.Error, kind)
	} else {
		c.span.SetAttributes(attrResponseModel.String(c.model))
	}
	c.span.End()
}

// traceAttempt is an SDK Finalize middleware after Retry: one span per
// HTTP attempt, so retries show as siblings under the call's span.
func (s *Service) traceAttempt(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	cs, _ := ctx.Value(callSpanKey{}).(*callSpan)
	op := middleware.GetOperationName(ctx)
	attrs := []attribute.KeyValue{attribute.String("rpc.system", "aws-api"), attribute.String("rpc.service", "BedrockRuntime"),
		attribute.String("rpc.method", op)}
	if cs != nil {
		if n := cs.attempts.Add(1) - 1; n > 0 {
			attrs = append(attrs, attribute.Int("http.request.resend_count", int(n)))
		}
	}
	ctx, sp := s.tracer.Start(ctx, "BedrockRuntime."+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer sp.End()
	out, md, err := next.HandleFinalize(ctx, in)
	if raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && raw != nil && raw.Response != nil {
		sp.SetAttributes(attribute.Int("http.response.status_code", raw.StatusCode))
		if cs != nil && raw.StatusCode/100 == 2 {
			cs.tokenHeaders(raw.Header)
		}
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
		sp.SetAttributes(attribute.String("aws.request_id", id))
	}
	if err != nil {
		kind := "error"
		if be := Classify(err); be != nil && be.Code != "" {
			kind = be.Code
		}
		sp.SetAttributes(attrErrorType.String(kind))
		sp.SetStatus(codes.Error, kind)
	}
	return out, md, err
}

// chunk records what an InvokeModelWithResponseStream chunk (an Anthropic
// stream event) reports: the stop reason, then the invocation metrics.
func (c *callSpan) chunk(b []byte) {
	c.anthropicStop(b)
	c.invocationMetrics(b)
}

// countTokens records a CountTokens answer as its input tokens.
func (c *callSpan) countTokens(out *bedrockruntime.CountTokensOutput) {
	if c != nil && out != nil && out.InputTokens != nil {
		c.span.SetAttributes(attrInputTokens.Int(int(*out.InputTokens)))
	}
}

// frame records what a relayed stream frame reports.
func (c *callSpan) frame(f Frame) {
	if c == nil {
		return
	}
	switch f.EventType {
	case "messageStop":
		var v struct {
			StopReason string `json:"stopReason"`
		}
		if json.Unmarshal(f.Payload, &v) == nil {
			c.finish(v.StopReason)
		}
	case "metadata":
		c.rawUsage(nil, f.Payload)
	case "chunk":
		var v struct {
			Bytes []byte `json:"bytes"`
		}
		if json.Unmarshal(f.Payload, &v) == nil {
			c.chunk(v.Bytes)
		}
	}
}
