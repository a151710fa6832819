package anthropic

import "net/http"

// ErrorResponse is the error envelope of every failed request and the data
// of a stream's error event: {"type":"error","error":{"type","message"},"request_id"}.
type ErrorResponse struct {
	Type      string `json:"type"` // "error"
	Error     Error  `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// Error is the body of an ErrorResponse.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Error types, each with the status Anthropic sends it with (StatusOf).
const (
	ErrInvalidRequest  = "invalid_request_error"
	ErrAuthentication  = "authentication_error"
	ErrPermission      = "permission_error"
	ErrNotFound        = "not_found_error"
	ErrRequestTooLarge = "request_too_large"
	ErrRateLimit       = "rate_limit_error"
	ErrAPI             = "api_error"
	ErrOverloaded      = "overloaded_error"
	ErrTimeout         = "timeout_error"
)

// StatusOverloaded is Anthropic's status for overloaded_error.
const StatusOverloaded = 529

// StatusOf is the HTTP status Anthropic answers an error type with.
func StatusOf(errType string) int {
	switch errType {
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrAuthentication:
		return http.StatusUnauthorized
	case ErrPermission:
		return http.StatusForbidden
	case ErrNotFound:
		return http.StatusNotFound
	case ErrRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrRateLimit:
		return http.StatusTooManyRequests
	case ErrOverloaded:
		return StatusOverloaded
	case ErrTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// NewError builds an error envelope.
func NewError(errType, message, requestID string) ErrorResponse {
	return ErrorResponse{Type: "error", Error: Error{Type: errType, Message: message}, RequestID: requestID}
}
