package bedrock

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	"github.com/aws/smithy-go/middleware"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"
	"go.opentelemetry.io/otel/trace"
)

// Runtime is the part of the Bedrock Runtime client the gateway calls; the
// real *bedrockruntime.Client satisfies it.
type Runtime interface {
	Converse(ctx context.Context, in *bedrockruntime.ConverseInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error)
	ConverseStream(ctx context.Context, in *bedrockruntime.ConverseStreamInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseStreamOutput, error)
	InvokeModel(ctx context.Context, in *bedrockruntime.InvokeModelInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelOutput, error)
	InvokeModelWithResponseStream(ctx context.Context, in *bedrockruntime.InvokeModelWithResponseStreamInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelWithResponseStreamOutput, error)
	CountTokens(ctx context.Context, in *bedrockruntime.CountTokensInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.CountTokensOutput, error)
}

// CallReport is one Bedrock API call as the SDK saw it, retries included,
// or an exception Bedrock sent inside an open stream (Duration 0).
type CallReport struct {
	Operation string // Converse, ConverseStream, InvokeModel
	Duration  time.Duration
	Attempts  int    // 1 when the SDK did not retry
	RequestID string // Bedrock's x-amzn-RequestId of the last attempt
	Err       error
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	// Runtime is the Bedrock Runtime client.
	Runtime Runtime
	// StreamRetries is how many times a stream whose first event is a
	// retryable exception is reopened; 0 means 2, negative means none.
	StreamRetries int
	// StreamsEnd is closed when open streams must end (the shutdown
	// deadline): their Events stop and Err is ErrStreamsEnded.
	StreamsEnd <-chan struct{}
	// Observe, when set, is told of every call the service makes, with the
	// context of the call (metrics find their request in it).
	Observe func(context.Context, CallReport)
	// Region names Runtime's region; Fallbacks are the regions Failover
	// tries after it, in order (FALLBACK_REGIONS).
	Region    string
	Fallbacks []Region
	// OnFailover, when set, is told each time Failover leaves a target
	// for the next, with the error that made it.
	OnFailover func(ctx context.Context, from, to Target, err error)
	// Tracer, when set, traces every call: a GenAI client span from the
	// request to the end of the answer, with a child span per HTTP attempt.
	Tracer trace.TracerProvider
	// TraceContent, when positive, lets the Converse spans carry the
	// prompt and completion (gen_ai.input.messages, gen_ai.output.messages,
	// gen_ai.system_instructions), each cut at that many bytes: LOG_BODIES.
	TraceContent int
}

// ErrStreamsEnded ends streams open when the gateway shuts down.
var ErrStreamsEnded = errors.New("the gateway is shutting down")

// Service is the gateway's one way to Bedrock Runtime: every wire API calls
// Converse, ConverseN, ConverseStream or InvokeModel here and gets errors
// classified (*Error), calls observed and streams opened safely. The
// adapters only translate requests in and answers out.
type Service struct {
	rt            Runtime
	streamRetries int
	streamsEnd    <-chan struct{}
	observe       func(context.Context, CallReport)
	observed      func(*bedrockruntime.Options) // adds the observing and tracing middleware
	regions       []Region                      // Runtime's first, then the fallbacks
	failover      func(ctx context.Context, from, to Target, err error)
	tracer        trace.Tracer // nil: tracing off
	traceContent  int          // ServiceOptions.TraceContent
}

// NewService returns a service over o.Runtime.
func NewService(o ServiceOptions) *Service {
	s := &Service{rt: o.Runtime, streamRetries: o.StreamRetries, streamsEnd: o.StreamsEnd, observe: o.Observe, failover: o.OnFailover}
	s.regions = append([]Region{{Name: o.Region, Runtime: o.Runtime}}, o.Fallbacks...)
	if s.streamRetries == 0 {
		s.streamRetries = 2
	}
	var add []func(*middleware.Stack) error
	if s.observe != nil {
		mw := middleware.InitializeMiddlewareFunc("GatewayObserver", s.observeCall)
		add = append(add, func(st *middleware.Stack) error { return st.Initialize.Add(mw, middleware.Before) })
	}
	if o.Tracer != nil {
		s.tracer, s.traceContent = o.Tracer.Tracer(TracerName), o.TraceContent
		mw := middleware.FinalizeMiddlewareFunc("GatewayTracer", s.traceAttempt)
		add = append(add, func(st *middleware.Stack) error { return st.Finalize.Insert(mw, "Retry", middleware.After) })
	}
	s.observed = func(o *bedrockruntime.Options) { o.APIOptions = append(o.APIOptions, add...) }
	return s
}

// observeCall wraps the whole SDK call, its retry loop included.
func (s *Service) observeCall(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	start := time.Now()
	out, md, err := next.HandleInitialize(ctx, in)
	r := CallReport{Operation: middleware.GetOperationName(ctx), Duration: time.Since(start), Attempts: 1, Err: err}
	if res, ok := retry.GetAttemptResults(md); ok && len(res.Results) > 0 {
		r.Attempts = len(res.Results)
	}
	r.RequestID, _ = awsmiddleware.GetRequestIDMetadata(md)
	s.observe(ctx, r)
	return out, md, err
}

// streamException reports an exception Bedrock sent inside an open stream
// of operation op.
func (s *Service) streamException(ctx context.Context, op string, err error) {
	if err != nil && s.observe != nil {
		s.observe(ctx, CallReport{Operation: op, Err: err})
	}
}

// Converse makes one Converse call.
func (s *Service) Converse(ctx context.Context, in *bedrockruntime.ConverseInput) (*bedrockruntime.ConverseOutput, error) {
	ctx, span := s.startCall(ctx, "Converse", aws.ToString(in.ModelId), s.inferenceParams(in.InferenceConfig)...)
	span.input(in.System, in.Messages)
	out, err := s.runtime(ctx).Converse(ctx, in, s.observed)
	if err != nil {
		span.end(err)
		return nil, Classify(err)
	}
	span.usage(out.Usage)
	span.finish(string(out.StopReason))
	span.output(out.Output, out.StopReason)
	span.end(nil)
	return out, nil
}

// ConverseN makes n Converse calls of the same input at once (OpenAI's `n`
// choices). The outputs of the calls that succeeded are returned even with
// an error (Bedrock bills them); the error is the first call's that failed.
func (s *Service) ConverseN(ctx context.Context, in *bedrockruntime.ConverseInput, n int) ([]*bedrockruntime.ConverseOutput, error) {
	outs := make([]*bedrockruntime.ConverseOutput, max(n, 1))
	errs := make([]error, len(outs))
	if len(outs) == 1 {
		// On this goroutine: its stack has already grown through the HTTP
		// server and earlier requests on the connection, while a new
		// goroutine would grow (copy) its stack through the SDK's deep
		// middleware chain on every call (about 10% of the gateway's CPU in
		// the benchmark).
		outs[0], errs[0] = s.Converse(ctx, in)
	} else {
		var wg sync.WaitGroup
		for i := range outs {
			wg.Go(func() { outs[i], errs[i] = s.Converse(ctx, in) })
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return outs, err
		}
	}
	return outs, nil
}

// InvokeModel makes one InvokeModel call. It takes the SDK's options so
// that the Service is an Invoker for the Embedder.
func (s *Service) InvokeModel(ctx context.Context, in *bedrockruntime.InvokeModelInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelOutput, error) {
	ctx, span := s.startCall(ctx, "InvokeModel", aws.ToString(in.ModelId), s.bodyParams(in.Body)...)
	out, err := s.runtime(ctx).InvokeModel(ctx, in, append(opts, s.observed)...)
	if err != nil {
		span.end(err)
		return nil, Classify(err)
	}
	span.anthropicStop(out.Body)
	span.end(nil)
	return out, nil
}

// ConverseStream starts a stream and reads its first event before the
// caller commits to anything (a status line, a header), so an exception in
// the first frame is an ordinary error: after up to StreamRetries reopenings
// when it is retryable.
func (s *Service) ConverseStream(ctx context.Context, in *bedrockruntime.ConverseStreamInput) (*EventStream, error) {
	ctx, span := s.startCall(ctx, "ConverseStream", aws.ToString(in.ModelId), s.inferenceParams(in.InferenceConfig)...)
	span.input(in.System, in.Messages)
	for attempt := 0; ; attempt++ {
		out, err := s.runtime(ctx).ConverseStream(ctx, in, s.observed, ownStreamDecoder)
		if err != nil {
			span.end(err)
			return nil, Classify(err)
		}
		stream := out.GetStream()
		ev, ok := <-stream.Events()
		if ok {
			span.event(ev)
			return &EventStream{svc: s, ctx: ctx, stream: stream, first: ev, span: span}, nil
		}
		err = stream.Err()
		stream.Close()
		s.streamException(ctx, "ConverseStream", err)
		if be := s.reopen(ctx, attempt, err); be != nil {
			span.end(be)
			return nil, be
		}
		span.reopened(attempt + 1)
	}
}

// reopen decides, after the first frame of a stream failed with err (nil:
// the stream ended without an event) on the given attempt, whether to open
// the stream again. It returns the classified error to give up with, or nil
// once the back-off (100 ms, doubling) has passed and another attempt may
// start.
func (s *Service) reopen(ctx context.Context, attempt int, err error) *Error {
	be := Classify(err)
	if be == nil {
		be = &Error{Kind: KindEmptyStream, Code: "EmptyStream", Err: errors.New("Bedrock closed the stream without an event")}
	}
	if attempt >= s.streamRetries || !be.Kind.Retryable() || ctx.Err() != nil {
		return be
	}
	select {
	case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		return nil
	case <-ctx.Done():
		return Classify(ctx.Err())
	}
}

// ownStreamDecoder gives a ConverseStream call its own event-stream codec.
// aws-sdk-go-v2's restJson1 protocol object holds one decoder buffer per
// client (smithy-go v1.28.9 internal/eventstream Codec.payloadBuf), which
// concurrent streams on a shared client would race on and corrupt.
func ownStreamDecoder(o *bedrockruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonBedrockFrontendService)
}

// requestMetadataKey tags Converse calls with the gateway's request id, so
// Bedrock's invocation logs can be matched with the gateway's. Keys and
// values must match [a-zA-Z0-9\s._:/=+$@-]{0,256}; request ids are a subset.
const requestMetadataKey = "gateway_request_id"

// TagRequest adds the gateway's request id to a Converse call's requestMetadata.
func TagRequest(in *bedrockruntime.ConverseInput, id string) {
	if id == "" {
		return
	}
	if in.RequestMetadata == nil {
		in.RequestMetadata = map[string]string{requestMetadataKey: id}
		return
	}
	if len(in.RequestMetadata) < 16 { // Bedrock's limit
		in.RequestMetadata[requestMetadataKey] = id
	}
}
