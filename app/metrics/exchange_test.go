package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/metrics"
)

func TestExceptionType(t *testing.T) {
	msg := "x"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"throttling", &types.ThrottlingException{Message: &msg}, "ThrottlingException"},
		{"wrapped validation", fmt.Errorf("call: %w", &types.ValidationException{Message: &msg}), "ValidationException"},
		{"cancelled", fmt.Errorf("call: %w", context.Canceled), ""},
		{"unknown", errors.New("boom"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metrics.ExceptionType(tt.err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
