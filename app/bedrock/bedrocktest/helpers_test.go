package bedrocktest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
)

// haiku is the default model of the tests: on-demand, text only.
const haiku = "anthropic.claude-haiku-4-5-20251001-v1:0"

// runtimeClient returns the real Bedrock Runtime client pointed at srv, with
// retries off so injected errors are seen once.
func runtimeClient(tb testing.TB, srv *Server) *bedrockruntime.Client {
	tb.Helper()
	return srv.RuntimeClient(tb)
}

// controlClient returns the real Bedrock control-plane client pointed at srv.
func controlClient(tb testing.TB, srv *Server) *bedrock.Client {
	tb.Helper()
	return srv.ControlClient(tb)
}

func userText(s string) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: s}}}
}

func assistantText(s string) types.Message {
	return types.Message{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: s}}}
}

// converse calls Converse with one user message.
func converse(tb testing.TB, c *bedrockruntime.Client, model, prompt string) (*bedrockruntime.ConverseOutput, error) {
	tb.Helper()
	return c.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:  aws.String(model),
		Messages: []types.Message{userText(prompt)},
	})
}

// outputText concatenates the text blocks of a Converse answer.
func outputText(tb testing.TB, out *bedrockruntime.ConverseOutput) string {
	tb.Helper()
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		tb.Fatalf("output is %T, want *types.ConverseOutputMemberMessage", out.Output)
	}
	var b strings.Builder
	for _, c := range msg.Value.Content {
		if t, ok := c.(*types.ContentBlockMemberText); ok {
			b.WriteString(t.Value)
		}
	}
	return b.String()
}

// apiErrorOf asserts err is a Bedrock API error and returns its code and message.
func apiErrorOf(tb testing.TB, err error) (code, message string) {
	tb.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		tb.Fatalf("got error %v (%T), want a smithy.APIError", err, err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// postRaw sends a raw body to the emulator, for requests the SDK refuses to build.
func postRaw(tb testing.TB, srv *Server, path, body string) (*http.Response, string) {
	tb.Helper()
	resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read response of %s: %v", path, err)
	}
	return resp, string(b)
}

// eventually polls cond until it holds or a deadline passes.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
