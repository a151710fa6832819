package canary

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestLambdaHandler(t *testing.T) {
	healthy := serve(t, &fakeGateway{instance: "l1"})
	failing := serve(t, answer(500, `{}`))
	tests := []struct {
		name      string
		targets   []string
		wantErr   bool
		wantLines int
	}{
		{"all healthy", []string{healthy}, false, 1},
		{"one failing", []string{healthy, failing}, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs, metrics bytes.Buffer
			p := newProber(t, Config{})
			h := LambdaHandler(p, tt.targets, slog.New(slog.NewJSONHandler(&logs, nil)), NewEMF(&metrics, ""))
			err := h(t.Context(), []byte(`{"source":"aws.events","detail-type":"Scheduled Event"}`))
			if got := errors.Is(err, ErrProbeFailed); got != tt.wantErr {
				t.Errorf("got error %v, want ErrProbeFailed %v", err, tt.wantErr)
			}
			if n := strings.Count(metrics.String(), `"_aws"`); n != tt.wantLines {
				t.Errorf("got %d EMF lines, want %d", n, tt.wantLines)
			}
			if n := strings.Count(logs.String(), `"msg":"probe"`); n != tt.wantLines {
				t.Errorf("got %d log lines, want %d:\n%s", n, tt.wantLines, logs.String())
			}
		})
	}
}
