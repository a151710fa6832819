package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/anthropic"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/openai"
)

// kind is a class of failure. Each kind has one HTTP status, and each wire
// API names it with its own error type (the columns of kinds).
type kind uint8

const (
	kindInvalidRequest kind = iota
	kindUnauthenticated
	kindForbidden
	kindNotFound
	kindMethodNotAllowed
	kindConflict
	kindRequestTimeout
	kindTooLarge
	kindRateLimited
	kindClientClosed
	kindInternal
	kindUpstream
	kindUnavailable
	kindTimeout
)

// statusClientClosed is logged for requests whose client disconnected.
const statusClientClosed = 499

// kinds is the one table from a kind to its status and, per wire API, its
// error type. A new wire API adds a column here and an envelope function
// (like openAIEnvelope), and sets it on its route group with useEnvelope.
// Anthropic's API has statuses of its own for some kinds (500 for an
// upstream failure, 529 overloaded_error for unavailable): its envelope
// takes them from anthropic.StatusOf.
var kinds = [...]struct {
	status        int
	openAIType    string
	anthropicType string
	// bedrockType is the exception Bedrock's API names the kind with (the
	// x-amzn-errortype its SDKs raise); its status is bedrockStatus's.
	bedrockType string
}{
	kindInvalidRequest:   {http.StatusBadRequest, openai.TypeInvalidRequest, anthropic.ErrInvalidRequest, "ValidationException"},
	kindUnauthenticated:  {http.StatusUnauthorized, openai.TypeInvalidRequest, anthropic.ErrAuthentication, "AccessDeniedException"},
	kindForbidden:        {http.StatusForbidden, openai.TypePermission, anthropic.ErrPermission, "AccessDeniedException"},
	kindNotFound:         {http.StatusNotFound, openai.TypeInvalidRequest, anthropic.ErrNotFound, "ResourceNotFoundException"},
	kindMethodNotAllowed: {http.StatusMethodNotAllowed, openai.TypeInvalidRequest, anthropic.ErrInvalidRequest, "UnknownOperationException"},
	kindConflict:         {http.StatusConflict, openai.TypeInvalidRequest, anthropic.ErrInvalidRequest, "ConflictException"},
	kindRequestTimeout:   {http.StatusRequestTimeout, openai.TypeInvalidRequest, anthropic.ErrTimeout, "ValidationException"},
	kindTooLarge:         {http.StatusRequestEntityTooLarge, openai.TypeInvalidRequest, anthropic.ErrRequestTooLarge, "ValidationException"},
	kindRateLimited:      {http.StatusTooManyRequests, openai.TypeRateLimit, anthropic.ErrRateLimit, "ThrottlingException"},
	kindClientClosed:     {statusClientClosed, openai.TypeInvalidRequest, anthropic.ErrInvalidRequest, ""},
	kindInternal:         {http.StatusInternalServerError, openai.TypeServer, anthropic.ErrAPI, "InternalServerException"},
	kindUpstream:         {http.StatusBadGateway, openai.TypeServer, anthropic.ErrAPI, "InternalServerException"},
	kindUnavailable:      {http.StatusServiceUnavailable, openai.TypeUnavailable, anthropic.ErrOverloaded, "ServiceUnavailableException"},
	kindTimeout:          {http.StatusGatewayTimeout, openai.TypeServer, anthropic.ErrTimeout, "ModelTimeoutException"},
}

// bedrockErrors tells a client what each kind of Bedrock failure means, in
// a message of the gateway's: Bedrock's own text may name the AWS account
// and role, so it goes to the log only. A ValidationException's message
// says what to fix in the request, so it is passed on, ARNs and account
// ids taken out (message "").
var bedrockErrors = map[bedrock.Kind]struct {
	kind       kind
	code       string
	param      string
	retryAfter int
	message    string
	// exception is Bedrock's own exception type for the kind, which Bedrock's
	// API answers with ("" when it is the kind's own bedrockType).
	exception string
}{
	bedrock.KindInvalid:       {kindInvalidRequest, "validation_error", "", 0, "", ""},
	bedrock.KindModelNotFound: {kindNotFound, "model_not_found", "model", 0, "Bedrock does not know this model in the gateway's region, or the gateway may not use it.", ""},
	bedrock.KindModelRetired:  {kindNotFound, "model_retired", "model", 0, "Amazon Bedrock has retired this model; pick a current one from GET /models.", ""},
	bedrock.KindAccessDenied:  {kindForbidden, "access_denied", "", 0, "Bedrock denied the gateway access to this model; the gateway's operator must grant its role access to the model.", ""},
	bedrock.KindThrottled:     {kindRateLimited, "rate_limit_exceeded", "", 2, "Bedrock is throttling requests to this model; retry after a short wait.", ""},
	bedrock.KindQuotaExceeded: {kindRateLimited, "quota_exceeded", "", 10, "A Bedrock service quota of the gateway's account is exhausted; retry later.", "ServiceQuotaExceededException"},
	bedrock.KindModelNotReady: {kindUnavailable, "model_not_ready", "", 5, "The model is not ready to serve yet; retry shortly.", "ModelNotReadyException"},
	bedrock.KindUnavailable:   {kindUnavailable, "service_unavailable", "", 2, "Bedrock is unavailable at the moment; retry shortly.", ""},
	bedrock.KindModelTimeout:  {kindTimeout, "model_timeout", "", 0, "The model took too long to answer.", ""},
	bedrock.KindConflict:      {kindConflict, "conflict", "", 0, "Bedrock refused the request as conflicting with another.", ""},
	bedrock.KindModelError:    {kindUpstream, "model_error", "", 0, "The model failed while answering; retry the request.", "ModelErrorException"},
	bedrock.KindUpstream:      {kindUpstream, "upstream_error", "", 0, "Bedrock failed to process the request; retry it.", ""},
	bedrock.KindTimeout:       {kindTimeout, "timeout", "", 0, "Bedrock did not answer in time.", ""},
	bedrock.KindEmptyStream:   {kindUpstream, "empty_stream", "", 0, "Bedrock closed the stream without an event.", ""},
	bedrock.KindConnection:    {kindUpstream, "bedrock_connection_error", "", 0, "The connection to Bedrock failed before the answer was complete; retry the request.", ""},
	bedrock.KindCanceled:      {kindClientClosed, "", "", 0, "Client closed the request.", ""},
}

// apiError is an error ready to be sent: its kind, the code and parameter
// clients match on, a message, and the Retry-After seconds for retryable
// failures. Make one with newError or invalidRequest.
type apiError struct {
	kind       kind
	Code       string
	Param      string
	Message    string
	RetryAfter int
	// exception is the Bedrock exception the error came from when the kind's
	// own bedrockType would name it less precisely.
	exception string
}

func (e *apiError) Error() string { return e.Message }

// status is the HTTP status of the error.
func (e *apiError) status() int { return kinds[e.kind].status }

// anthropicStatus is the HTTP status of the error on the Anthropic API:
// the one Anthropic uses for its type, except where the status says more
// (405, 409, 408, 499 keep their own).
func (e *apiError) anthropicStatus() int {
	switch e.kind {
	case kindMethodNotAllowed, kindConflict, kindRequestTimeout, kindClientClosed:
		return kinds[e.kind].status
	}
	return anthropic.StatusOf(kinds[e.kind].anthropicType)
}

// newError returns an error of kind k.
func newError(k kind, code, message string) *apiError {
	return &apiError{kind: k, Code: code, Message: message}
}

// invalidRequest returns a 400 about param ("" for the request as a whole).
func invalidRequest(param, code, message string) *apiError {
	return &apiError{kind: kindInvalidRequest, Code: code, Param: param, Message: message}
}

// Errors the handlers return.
var (
	errMissingKey = newError(kindUnauthenticated, "missing_api_key", "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.")
	errInvalidKey = newError(kindUnauthenticated, "invalid_api_key", "Incorrect API key provided.")
	// errMissingKeyAnthropic is errMissingKey in the words of Anthropic's clients.
	errMissingKeyAnthropic = newError(kindUnauthenticated, "missing_api_key", "x-api-key header is required (or 'Authorization: Bearer <key>').")
	errShuttingDown        = newError(kindUnavailable, "server_shutting_down", "The gateway instance is shutting down and ended this stream; retry the request.")
	errInternal            = newError(kindInternal, "internal_error", "The gateway had an internal error; see its logs.")
	errClientGone          = newError(kindClientClosed, "", "Client closed the request.")
)

// toAPIError is the one mapping from any error to an apiError.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var re *bedrock.RequestError
	if errors.As(err, &re) {
		return invalidRequest(re.Param, re.Code, re.Message)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return newError(kindTooLarge, "request_too_large", "Request body is larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes.")
	}
	if errors.Is(err, bedrock.ErrStreamsEnded) {
		return errShuttingDown
	}
	be := bedrock.Classify(err)
	b, ok := bedrockErrors[be.Kind]
	if !ok {
		return errInternal
	}
	out := &apiError{kind: b.kind, Code: b.code, Param: b.param, Message: b.message, RetryAfter: b.retryAfter, exception: b.exception}
	if out.Message == "" {
		out.Message = "Bedrock: " + be.Message()
	}
	return out
}

// openAIError builds the OpenAI error body.
func (e *apiError) openAIError() openai.ErrorResponse {
	return openai.NewError(kinds[e.kind].openAIType, e.Code, e.Param, e.Message)
}

// envelope renders an error as one wire API's status and error body.
type envelope func(c *gin.Context, e *apiError) (status int, body any)

// openAIEnvelope is the envelope of the OpenAI routes, and of any request
// no route claims.
func openAIEnvelope(_ *gin.Context, e *apiError) (int, any) { return e.status(), e.openAIError() }

// anthropicEnvelope is the envelope of the Anthropic routes, and of any
// request with the anthropic-version header Anthropic's clients always send.
func anthropicEnvelope(c *gin.Context, e *apiError) (int, any) {
	return e.anthropicStatus(), e.anthropicError(c.GetString(ctxRequestID))
}

// anthropicError builds the Anthropic error body.
func (e *apiError) anthropicError(requestID string) anthropic.ErrorResponse {
	return anthropic.NewError(kinds[e.kind].anthropicType, e.Message, requestID)
}

// ctxEnvelope is the gin context key of the request's envelope.
const ctxEnvelope = "envelope"

// useEnvelope makes the errors of a route group, its middleware's included
// (401, 413...), use env. Put it first in the group.
func useEnvelope(env envelope) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(ctxEnvelope, env)
		c.Next()
	}
}

// envelopeOf is the envelope errors of this request are rendered in: an
// Anthropic client's (anthropic-version) is Anthropic's on any route.
func envelopeOf(c *gin.Context) envelope {
	if c.GetHeader("anthropic-version") != "" {
		return anthropicEnvelope
	}
	if v, ok := c.Get(ctxEnvelope); ok {
		return v.(envelope)
	}
	return openAIEnvelope
}

// bedrockException is the exception Bedrock's API names the error with.
func (e *apiError) bedrockException() string {
	if e.exception != "" {
		return e.exception
	}
	return kinds[e.kind].bedrockType
}

// bedrockStatus is the HTTP status of the error on Bedrock's API: the
// kind's, except that Bedrock refuses credentials with 403.
func (e *apiError) bedrockStatus() int {
	if e.kind == kindUnauthenticated {
		return http.StatusForbidden
	}
	return kinds[e.kind].status
}

// failure converts err for the client and logs what the client is not
// told: an internal error, or Bedrock's own text.
func (s *Server) failure(c *gin.Context, err error) *apiError {
	ae := toAPIError(err)
	ctx := c.Request.Context()
	if ae == errInternal {
		s.log.ErrorContext(ctx, "internal error", "err", err, "request_id", c.GetString(ctxRequestID))
	} else if be := bedrock.Classify(err); be.Kind != bedrock.KindOther && be.Kind != bedrock.KindCanceled {
		s.log.WarnContext(ctx, "bedrock error", "err", err, "code", be.Code, "request_id", c.GetString(ctxRequestID))
	}
	c.Set(ctxError, ae.Code)
	return ae
}

// writeError sends err in the request's envelope (useEnvelope), unless the
// client is gone.
func (s *Server) writeError(c *gin.Context, err error) {
	ae := s.failure(c, err)
	if v, ok := c.Get(ctxExchange); ok {
		setOverhead(c, v.(*metrics.Exchange))
	}
	if ae.kind == kindClientClosed {
		c.Status(statusClientClosed)
		c.Abort()
		return
	}
	if ae.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	if s.bedrockAPI(c) {
		writeBedrockError(c, ae)
		return
	}
	c.Header("Content-Type", "application/json")
	status, body := envelopeOf(c)(c, ae)
	c.Status(status)
	b, _ := json.Marshal(body)
	_, _ = c.Writer.Write(b)
	c.Abort()
}
