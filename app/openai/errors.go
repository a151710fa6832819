package openai

// ErrorResponse is the error envelope of every failed request:
// {"error":{"message","type","param","code"}}. Param and Code are nullable.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error is the body of an ErrorResponse.
type Error struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Error types used by OpenAI.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
	TypeUnavailable    = "service_unavailable_error"
)

// NewError returns the envelope of an error of type typ; code and param
// are null when empty.
func NewError(typ, code, param, message string) ErrorResponse {
	out := ErrorResponse{Error: Error{Message: message, Type: typ}}
	if param != "" {
		out.Error.Param = &param
	}
	if code != "" {
		out.Error.Code = &code
	}
	return out
}
