package bedrock

import "fmt"

// RequestError is a problem with the client's request: the server answers it
// with 400 (or Status when set) and names Param in the OpenAI error envelope.
type RequestError struct {
	Status  int
	Param   string
	Code    string
	Message string
}

func (e *RequestError) Error() string { return e.Message }

func badRequest(param, format string, args ...any) *RequestError {
	return &RequestError{Param: param, Message: fmt.Sprintf(format, args...)}
}
