package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/openai"
)

// apiError is an error ready to be sent: status, OpenAI envelope, and the
// Retry-After seconds for retryable statuses.
type apiError struct {
	Status     int
	Type       string
	Code       string
	Param      string
	Message    string
	RetryAfter int
}

func (e *apiError) Error() string { return e.Message }

// Errors the handlers return; toAPIError maps them.
var (
	errMissingKey = &apiError{Status: http.StatusUnauthorized, Type: openai.TypeInvalidRequest, Code: "missing_api_key",
		Message: "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."}
	errInvalidKey = &apiError{Status: http.StatusUnauthorized, Type: openai.TypeInvalidRequest, Code: "invalid_api_key",
		Message: "Incorrect API key provided."}
	errClientGone   = errors.New("client went away")
	errShuttingDown = &apiError{Status: http.StatusServiceUnavailable, Type: openai.TypeUnavailable, Code: "server_shutting_down",
		Message: "The gateway instance is shutting down and ended this stream; retry the request."}
)

// statusClientClosed is logged for requests whose client disconnected.
const statusClientClosed = 499

// toAPIError is the one mapping from any error to an HTTP status and an
// OpenAI error. Bedrock's own messages are passed on; they never hold secrets.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var re *bedrock.RequestError
	if errors.As(err, &re) {
		status := re.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		typ := openai.TypeInvalidRequest
		return &apiError{Status: status, Type: typ, Code: re.Code, Param: re.Param, Message: re.Message}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Type: openai.TypeInvalidRequest, Code: "request_too_large",
			Message: "Request body is larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes."}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, errClientGone) {
		return &apiError{Status: statusClientClosed, Type: openai.TypeInvalidRequest, Message: "Client closed the request."}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return bedrockError(api)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &apiError{Status: http.StatusGatewayTimeout, Type: openai.TypeServer, Code: "timeout", Message: "Bedrock did not answer in time."}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: openai.TypeServer, Code: "internal_error",
		Message: "The gateway had an internal error; see its logs."}
}

// bedrockError maps a Bedrock exception by its type.
func bedrockError(api smithy.APIError) *apiError {
	msg := "Bedrock: " + api.ErrorMessage()
	switch api.(type) {
	case *types.ValidationException:
		if strings.Contains(api.ErrorMessage(), "model identifier is invalid") {
			return &apiError{Status: http.StatusNotFound, Type: openai.TypeInvalidRequest, Code: "model_not_found", Param: "model", Message: msg}
		}
		return &apiError{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Code: "validation_error", Message: msg}
	case *types.AccessDeniedException:
		return &apiError{Status: http.StatusForbidden, Type: openai.TypePermission, Code: "access_denied", Message: msg}
	case *types.ResourceNotFoundException:
		if strings.Contains(api.ErrorMessage(), "end of its life") {
			return &apiError{Status: http.StatusNotFound, Type: openai.TypeInvalidRequest, Code: "model_retired", Param: "model",
				Message: msg + " Amazon Bedrock has retired this model; pick a current one from GET /models."}
		}
		return &apiError{Status: http.StatusNotFound, Type: openai.TypeInvalidRequest, Code: "model_not_found", Param: "model", Message: msg}
	case *types.ThrottlingException:
		return &apiError{Status: http.StatusTooManyRequests, Type: openai.TypeRateLimit, Code: "rate_limit_exceeded", Message: msg, RetryAfter: 2}
	case *types.ServiceQuotaExceededException:
		return &apiError{Status: http.StatusTooManyRequests, Type: openai.TypeRateLimit, Code: "quota_exceeded", Message: msg, RetryAfter: 10}
	case *types.ModelNotReadyException:
		return &apiError{Status: http.StatusServiceUnavailable, Type: openai.TypeUnavailable, Code: "model_not_ready", Message: msg, RetryAfter: 5}
	case *types.ServiceUnavailableException:
		return &apiError{Status: http.StatusServiceUnavailable, Type: openai.TypeUnavailable, Code: "service_unavailable", Message: msg, RetryAfter: 2}
	case *types.ModelTimeoutException:
		return &apiError{Status: http.StatusGatewayTimeout, Type: openai.TypeServer, Code: "model_timeout", Message: msg}
	case *types.ConflictException:
		return &apiError{Status: http.StatusConflict, Type: openai.TypeInvalidRequest, Code: "conflict", Message: msg}
	case *types.ModelErrorException, *types.ModelStreamErrorException:
		return &apiError{Status: http.StatusBadGateway, Type: openai.TypeServer, Code: "model_error", Message: msg}
	}
	return &apiError{Status: http.StatusBadGateway, Type: openai.TypeServer, Code: "upstream_error", Message: msg}
}

// envelope builds the OpenAI error body.
func (e *apiError) envelope() openai.ErrorResponse {
	out := openai.ErrorResponse{Error: openai.Error{Message: e.Message, Type: e.Type}}
	if e.Param != "" {
		out.Error.Param = &e.Param
	}
	if e.Code != "" {
		out.Error.Code = &e.Code
	}
	return out
}

// writeError sends err as an OpenAI error response, unless the client is gone.
func (s *Server) writeError(c *gin.Context, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 && ae.Code == "internal_error" {
		s.log.ErrorContext(c.Request.Context(), "internal error", "err", err, "request_id", c.GetString(ctxRequestID))
	}
	c.Set(ctxError, ae.Code)
	if v, ok := c.Get(ctxExchange); ok {
		setOverhead(c, v.(*metrics.Exchange))
	}
	if ae.Status == statusClientClosed {
		c.Status(statusClientClosed)
		c.Abort()
		return
	}
	if ae.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	c.Header("Content-Type", "application/json")
	c.Status(ae.Status)
	b, _ := json.Marshal(ae.envelope())
	_, _ = c.Writer.Write(b)
	c.Abort()
}
