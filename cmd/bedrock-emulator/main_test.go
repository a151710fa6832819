package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-latency", "1ms", "-chunk-delay", "1ms"}, pw)
		pw.Close()
		done <- err
	}()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read the URL line: %v", err)
	}
	go io.Copy(io.Discard, pr) // keep run's writes from blocking
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "bedrock emulator listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line = %q, want the listening URL", line)
	}

	c := bedrock.New(bedrock.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRET", ""),
	})
	out, err := c.ListFoundationModels(context.Background(), nil)
	if err != nil {
		t.Fatalf("ListFoundationModels: %v", err)
	}
	if len(out.ModelSummaries) == 0 {
		t.Errorf("the emulator lists no models")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("run did not return after cancel")
	}
	if _, err := c.ListFoundationModels(context.Background(), nil); err == nil {
		t.Errorf("the emulator still answers after run returned")
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "parse flags"},
		{"bad duration", []string{"-latency", "soon"}, "parse flags"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"bad address", []string{"-addr", "127.0.0.1:99999"}, "start emulator"},
		{"bad faults", []string{"-faults", "reset=lots"}, "parse -faults"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestRunInjectsFaults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-faults", "throttle=1,seed=3"}, pw)
		pw.Close()
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("run's output ended: %v", lines.Err())
		}
		return lines.Text()
	}
	url, _ := strings.CutPrefix(next(), "bedrock emulator listening on ")
	if got, want := next(), "injecting faults: throttle=1,seed=3"; got != want {
		t.Errorf("second line = %q, want %q", got, want)
	}

	rt := bedrockruntime.New(bedrockruntime.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRET", ""),
		RetryMaxAttempts: 1,
	})
	_, err := rt.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:  aws.String("anthropic.claude-haiku-4-5-20251001-v1:0"),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}},
	})
	var te *types.ThrottlingException
	if !errors.As(err, &te) {
		t.Errorf("Converse error = %v, want ThrottlingException", err)
	}

	cancel()
	if got, want := next(), "faults injected: throttle=1"; got != want {
		t.Errorf("last line = %q, want %q", got, want)
	}
	if err := <-done; err != nil {
		t.Errorf("run returned %v", err)
	}
}
