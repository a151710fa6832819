package bedrock_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/openbedrock/gateway/app/bedrock"
)

func TestClassify(t *testing.T) {
	msg := func(s string) *string { return &s }
	tests := []struct {
		name  string
		err   error
		kind  bedrock.Kind
		code  string
		label string
	}{
		{"throttling", fmt.Errorf("call: %w", &types.ThrottlingException{Message: msg("slow down")}), bedrock.KindThrottled, "ThrottlingException", "ThrottlingException"},
		{"validation", &types.ValidationException{Message: msg("bad")}, bedrock.KindInvalid, "ValidationException", "ValidationException"},
		{"invalid model id", &types.ValidationException{Message: msg("The provided model identifier is invalid.")}, bedrock.KindModelNotFound, "ValidationException", "ValidationException"},
		{"retired", &types.ResourceNotFoundException{Message: msg("This model version has reached the end of its life.")}, bedrock.KindModelRetired, "ResourceNotFoundException", "ResourceNotFoundException"},
		{"stream error", &types.ModelStreamErrorException{Message: msg("broke")}, bedrock.KindModelError, "ModelStreamErrorException", "ModelStreamErrorException"},
		{"internal", &types.InternalServerException{Message: msg("oops")}, bedrock.KindUpstream, "InternalServerException", "InternalServerException"},
		{"unmodelled", &smithy.GenericAPIError{Code: "WeirdException", Message: "?"}, bedrock.KindUpstream, "WeirdException", "other"},
		{"cancelled", fmt.Errorf("call: %w", context.Canceled), bedrock.KindCanceled, "Canceled", ""},
		{"deadline", context.DeadlineExceeded, bedrock.KindTimeout, "Timeout", "Timeout"},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, bedrock.KindConnection, "ConnectionError", "ConnectionError"},
		{"body cut short", fmt.Errorf("read event-stream frame: %w", io.ErrUnexpectedEOF), bedrock.KindConnection, "ConnectionError", "ConnectionError"},
		{"other", errors.New("boom"), bedrock.KindOther, "Error", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := bedrock.Classify(tt.err)
			if e.Kind != tt.kind || e.Code != tt.code || e.Label() != tt.label || !errors.Is(e, tt.err) {
				t.Errorf("got kind %d code %q label %q, want %d %q %q", e.Kind, e.Code, e.Label(), tt.kind, tt.code, tt.label)
			}
			if again := bedrock.Classify(fmt.Errorf("wrapped: %w", e)); again != e {
				t.Errorf("a classified error was classified again: %+v", again)
			}
		})
	}
	if bedrock.Classify(nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
	if !bedrock.KindThrottled.Retryable() || !bedrock.KindConnection.Retryable() || bedrock.KindInvalid.Retryable() {
		t.Error("Retryable: throttling and broken connections are, validation is not")
	}
}

// TestErrorMessageHidesTheCaller: the text a client may see keeps what to
// fix and drops the account id and ARNs.
func TestErrorMessageHidesTheCaller(t *testing.T) {
	raw := "User: arn:aws:sts::123456789012:assumed-role/gw/i-1 may not use arn:aws:bedrock:us-east-1:123456789012:inference-profile/x, account 123456789012; max_tokens too large"
	got := bedrock.Classify(&types.ValidationException{Message: &raw}).Message()
	if strings.Contains(got, "123456789012") || strings.Contains(got, "arn:") || !strings.Contains(got, "max_tokens too large") {
		t.Errorf("Message() = %q", got)
	}
}
