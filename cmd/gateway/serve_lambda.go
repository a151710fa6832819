//go:build lambda

package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/openbedrock/gateway/app/openai"
)

// runtimeName is reported in /health.
const runtimeName = "lambda"

// albResponseLimit is what an ALB accepts from a Lambda target: 1 MB for the
// whole response JSON (see albTooLarge). AWS does not say whether that MB is
// decimal, so take the smaller reading, less a margin.
const albResponseLimit = 1_000_000 - 16<<10

// serve hands the application to the Lambda runtime. Behind an ALB
// (LAMBDA_MODE=alb) the response, SSE streams included, is buffered and sent
// whole; with a Function URL in RESPONSE_STREAM mode (LAMBDA_MODE=function-url)
// it streams.
func serve(ctx context.Context, h http.Handler, cfg config, log *slog.Logger, lc *lifecycle) error {
	// Load the model catalogue during init (which has a full CPU), not during
	// the first event; give up after a few seconds and serve the defaults.
	select {
	case <-lc.catalogueLoaded:
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	if cfg.LambdaMode == "function-url" {
		lambdaurl.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer flushSpans(r.Context(), lc, log)
			h.ServeHTTP(w, r)
		}), lambda.WithContext(ctx))
		return nil
	}
	lambda.StartWithOptions(func(ctx context.Context, req events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
		defer flushSpans(ctx, lc, log)
		resp, err := serveALB(ctx, h, req)
		if errors.Is(err, errBadEvent) {
			log.InfoContext(ctx, "bad ALB request", "err", err)
			return albError(http.StatusBadRequest, "invalid_request", "The request could not be read: "+strings.TrimPrefix(err.Error(), errBadEvent.Error()+": ")+"."), nil
		}
		if err != nil {
			log.ErrorContext(ctx, "serve ALB event", "err", err)
			return albError(http.StatusBadGateway, "bad_gateway", "The gateway could not answer the load balancer's request."), nil
		}
		if req.MultiValueHeaders == nil {
			// Target groups without multi-value headers read only `headers`.
			resp.Headers = make(map[string]string, len(resp.MultiValueHeaders))
			for k, v := range resp.MultiValueHeaders {
				resp.Headers[k] = strings.Join(v, ", ")
			}
			resp.MultiValueHeaders = nil
		}
		if albTooLarge(resp) {
			return albError(http.StatusBadGateway, "response_too_large",
				"The response is larger than the 1 MB an ALB accepts from Lambda; lower max_tokens, or use the streaming Function URL or the container build."), nil
		}
		return resp, nil
	}, lambda.WithContext(ctx))
	return nil
}

// flushSpans exports the invocation's spans before it returns: Lambda
// freezes the process then, and a span left in the batch would wait for the
// next invocation, or be lost with the instance. With tracing off it
// returns at once.
func flushSpans(ctx context.Context, lc *lifecycle, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := lc.flush(ctx); err != nil {
		log.WarnContext(ctx, "spans not exported before the invocation ended", "err", err)
	}
}

// albTooLarge reports whether resp, encoded as the runtime encodes it
// (aws-lambda-go: no HTML escaping), is more than an ALB accepts. The body
// is escaped once more inside that JSON (a chat body's \" becomes \\\"), so
// a body well under the limit can still make the response too large.
func albTooLarge(resp events.ALBTargetGroupResponse) bool {
	if len(resp.Body) < albResponseLimit/8 {
		return false // escaping at most sextuples a byte (\u00XX); headers are small
	}
	var n byteCounter
	enc := json.NewEncoder(&n)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		return true // the runtime could not send it either
	}
	return int(n) > albResponseLimit
}

// byteCounter is an io.Writer that only counts.
type byteCounter int

func (c *byteCounter) Write(p []byte) (int, error) {
	*c += byteCounter(len(p))
	return len(p), nil
}

// albError is an answer of the adapter's own, in the OpenAI error envelope
// the application uses.
func albError(status int, code, message string) events.ALBTargetGroupResponse {
	typ := openai.TypeServer
	if status < 500 {
		typ = openai.TypeInvalidRequest
	}
	body, _ := json.Marshal(openai.NewError(typ, code, "", message))
	return events.ALBTargetGroupResponse{
		StatusCode:        status,
		StatusDescription: http.StatusText(status),
		Headers:           map[string]string{"Content-Type": "application/json"},
		MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}},
		Body:              string(body),
	}
}
