package bedrock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
)

// RequestError is a problem with the client's request, found before any
// Bedrock call: the server answers it with 400 and names Param in the
// error envelope.
type RequestError struct {
	Param   string
	Code    string
	Message string
}

func (e *RequestError) Error() string { return e.Message }

// badRequest is a RequestError with the code OpenAI gives a bad parameter,
// so no validation error reaches a client with a null code.
func badRequest(param, format string, args ...any) *RequestError {
	return &RequestError{Param: param, Code: "invalid_value", Message: fmt.Sprintf(format, args...)}
}

// Kind is what went wrong in a Bedrock call, in the terms a client is told.
// Each wire API maps kinds to its own status, type and code (in app/server's
// error table); Classify is the one place a Bedrock error becomes a kind.
type Kind uint8

// The kinds of Bedrock failure.
const (
	// KindOther is an error that is neither Bedrock's answer nor a broken
	// connection (a bug): the gateway's own failure.
	KindOther         Kind = iota
	KindInvalid            // ValidationException
	KindModelNotFound      // ResourceNotFoundException, or an invalid model identifier
	KindModelRetired       // ResourceNotFoundException: the model reached the end of its life
	KindAccessDenied       // AccessDeniedException
	KindThrottled          // ThrottlingException
	KindQuotaExceeded      // ServiceQuotaExceededException
	KindModelNotReady      // ModelNotReadyException
	KindUnavailable        // ServiceUnavailableException
	KindModelTimeout       // ModelTimeoutException
	KindConflict           // ConflictException
	KindModelError         // ModelErrorException, ModelStreamErrorException
	KindUpstream           // InternalServerException and exceptions not listed here
	KindTimeout            // the request's deadline passed while waiting on Bedrock
	KindCanceled           // the client went away
	KindEmptyStream        // a stream that ended before its first event
	KindConnection         // the connection to Bedrock failed: refused, reset, or closed mid-answer
)

// Retryable reports whether a call that failed so is worth making again
// before anything was sent to the client.
func (k Kind) Retryable() bool {
	return k == KindThrottled || k == KindUnavailable || k == KindUpstream || k == KindConnection
}

// Error is a classified Bedrock failure. Its Error text is Bedrock's own
// message, which may name the AWS account and role: log it, never send it
// to a client (each kind has a clean message of its own).
type Error struct {
	Kind Kind
	// Code names the failure without any detail, for logs, metrics and
	// status pages: Bedrock's exception type (ThrottlingException), or
	// Timeout, Canceled, ConnectionError, EmptyStream, Error.
	Code string
	// Err is the error as the SDK returned it.
	Err error
}

func (e *Error) Error() string { return "bedrock: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Message is Bedrock's own message (ValidationException's says what to
// fix), with ARNs and account ids taken out.
func (e *Error) Message() string {
	msg := e.Err.Error()
	var api smithy.APIError
	if errors.As(e.Err, &api) {
		msg = api.ErrorMessage()
	}
	msg = arnRE.ReplaceAllString(msg, "<arn>")
	return accountRE.ReplaceAllString(msg, "<account>")
}

// arnRE and accountRE find what Bedrock's messages say about the caller:
// an AccessDenied names the role ARN and the account id.
var (
	arnRE     = regexp.MustCompile(`arn:aws[a-z-]*:[^\s"',;]*`)
	accountRE = regexp.MustCompile(`\b\d{12}\b`)
)

// exceptionLabels are the codes used as metric label values; others are "other".
var exceptionLabels = map[string]bool{
	"AccessDeniedException": true, "ValidationException": true, "ConflictException": true,
	"ServiceQuotaExceededException": true, "ResourceNotFoundException": true, "ModelTimeoutException": true,
	"ModelErrorException": true, "ModelStreamErrorException": true, "ThrottlingException": true,
	"ModelNotReadyException": true, "InternalServerException": true, "ServiceUnavailableException": true,
	"Timeout": true, "ConnectionError": true,
}

// Label is Code bounded for a metric label: a listed exception type,
// Timeout or ConnectionError, else "other"; "" for a cancelled call (the
// client went away: not Bedrock's failure).
func (e *Error) Label() string {
	switch {
	case e.Kind == KindCanceled:
		return ""
	case exceptionLabels[e.Code]:
		return e.Code
	}
	var te interface{ Timeout() bool }
	if errors.As(e.Err, &te) && te.Timeout() {
		return "Timeout"
	}
	return "other"
}

// exceptionKinds maps Bedrock's exception types to kinds.
var exceptionKinds = map[string]Kind{
	"ValidationException":           KindInvalid,
	"ResourceNotFoundException":     KindModelNotFound,
	"AccessDeniedException":         KindAccessDenied,
	"ThrottlingException":           KindThrottled,
	"ServiceQuotaExceededException": KindQuotaExceeded,
	"ModelNotReadyException":        KindModelNotReady,
	"ServiceUnavailableException":   KindUnavailable,
	"ModelTimeoutException":         KindModelTimeout,
	"ConflictException":             KindConflict,
	"ModelErrorException":           KindModelError,
	"ModelStreamErrorException":     KindModelError,
	"InternalServerException":       KindUpstream,
}

// Classify is the one classification of errors from Bedrock calls; nil
// for nil. An *Error already in err's chain is returned as it is.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var be *Error
	if errors.As(err, &be) {
		return be
	}
	var api smithy.APIError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindCanceled, Code: "Canceled", Err: err}
	case errors.As(err, &api):
		kind, ok := exceptionKinds[api.ErrorCode()]
		switch {
		case !ok:
			kind = KindUpstream
		case kind == KindInvalid && isInvalidModelID(api):
			kind = KindModelNotFound
		case kind == KindModelNotFound && strings.Contains(api.ErrorMessage(), "end of its life"):
			kind = KindModelRetired
		}
		return &Error{Kind: kind, Code: api.ErrorCode(), Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, Code: "Timeout", Err: err}
	case errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Kind: KindConnection, Code: "ConnectionError", Err: err}
	}
	return &Error{Kind: KindOther, Code: "Error", Err: err}
}

func isInvalidModelID(api smithy.APIError) bool {
	_, ok := api.(*types.ValidationException)
	return ok && strings.Contains(api.ErrorMessage(), "model identifier is invalid")
}
