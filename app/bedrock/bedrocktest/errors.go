package bedrocktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Error scripts a Bedrock error. Type is the error shape name, e.g.
// "ThrottlingException"; an empty Message gets Bedrock's usual text for the type.
type Error struct {
	Type    string
	Message string
}

// errorKind is one row of the Bedrock error table (protocols.md §1.4).
type errorKind struct {
	status  int
	message string // default message, as Bedrock words it
}

// kindOf is the Bedrock error table (protocols.md §1.4): the HTTP status and
// default message of every modelled Runtime and control-plane error.
func kindOf(errType string) (errorKind, bool) {
	switch errType {
	case "AccessDeniedException":
		return errorKind{http.StatusForbidden, "You don't have access to the model with the specified model ID."}, true
	case "ValidationException":
		return errorKind{http.StatusBadRequest, "Validation failed."}, true
	case "ConflictException":
		return errorKind{http.StatusBadRequest, "The request conflicts with the current state of the resource."}, true
	case "ServiceQuotaExceededException":
		return errorKind{http.StatusBadRequest, "Your request exceeds the service quota for your account."}, true
	case "ResourceNotFoundException":
		return errorKind{http.StatusNotFound, "The requested resource could not be found."}, true
	case "ModelTimeoutException":
		return errorKind{http.StatusRequestTimeout, "Model has timed out in processing the request. Try your request again."}, true
	case "ModelErrorException":
		return errorKind{http.StatusFailedDependency, "The model returned an error while processing the request."}, true
	case "ModelStreamErrorException":
		return errorKind{http.StatusFailedDependency, "The model returned an error while streaming the response."}, true
	case "ThrottlingException":
		return errorKind{http.StatusTooManyRequests, "Too many requests, please wait before trying again."}, true
	case "ModelNotReadyException":
		return errorKind{http.StatusTooManyRequests, "Model is not ready to serve inference requests. Try your request again later."}, true
	case "InternalServerException":
		return errorKind{http.StatusInternalServerError, "The server encountered an internal error while processing the request."}, true
	case "ServiceUnavailableException":
		return errorKind{http.StatusServiceUnavailable, "Bedrock is unable to process your request."}, true
	case "SerializationException":
		return errorKind{http.StatusBadRequest, "Malformed request body."}, true
	case "UnknownOperationException":
		return errorKind{http.StatusNotFound, "The requested operation is not supported."}, true
	}
	return errorKind{}, false
}

// isStreamException reports whether errType is a ConverseStreamOutput union
// member, whose lower-camel name goes into :exception-type.
func isStreamException(errType string) bool {
	switch errType {
	case "InternalServerException", "ModelStreamErrorException", "ValidationException",
		"ThrottlingException", "ServiceUnavailableException":
		return true
	}
	return false
}

// apiError is an error ready to be written in Bedrock's wire shape.
type apiError struct {
	Type    string
	Message string
	// model is the resolved model ARN, for ModelErrorException's resourceName.
	model string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// validation builds a ValidationException with a formatted message.
func validation(format string, args ...any) *apiError {
	return &apiError{Type: "ValidationException", Message: fmt.Sprintf(format, args...)}
}

// scripted turns a scripted Error into an apiError, filling the default message.
func scripted(e *Error, modelARN string) *apiError {
	msg := e.Message
	if msg == "" {
		k, _ := kindOf(e.Type)
		msg = k.message
	}
	if msg == "" {
		msg = "Emulated " + e.Type + "."
	}
	return &apiError{Type: e.Type, Message: msg, model: modelARN}
}

// status is the HTTP status Bedrock uses for the error; unknown types get 400
// and decode to smithy.GenericAPIError on the client.
func (e *apiError) status() int {
	if k, ok := kindOf(e.Type); ok {
		return k.status
	}
	return http.StatusBadRequest
}

// body is the JSON error document, including the extra members some types model.
func (e *apiError) body() map[string]any {
	b := map[string]any{"message": e.Message}
	switch e.Type {
	case "ModelErrorException":
		b["originalStatusCode"] = 500
		b["resourceName"] = e.model
	case "ModelStreamErrorException":
		b["originalStatusCode"] = 500
		b["originalMessage"] = e.Message
	}
	return b
}

// exceptionType is the :exception-type header value for a mid-stream error:
// the union member name when there is one, else the shape name (which the
// SDK resolves through its type registry).
func (e *apiError) exceptionType() string {
	if isStreamException(e.Type) {
		return strings.ToLower(e.Type[:1]) + e.Type[1:]
	}
	return e.Type
}

// writeError writes err as a Bedrock restJson1 error response.
func writeError(w http.ResponseWriter, err *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", err.Type+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.WriteHeader(err.status())
	_ = json.NewEncoder(w).Encode(err.body()) // the client may be gone; nothing to do
}

// writeJSON writes a 200 JSON response.
func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write response: %w", err)
	}
	return nil
}
