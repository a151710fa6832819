package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	bedrockcp "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/auth/bearer"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/server"
)

// bedrockHarness is a harness whose gateway is served over HTTPS: the AWS
// SDKs send a bearer token over HTTPS only.
type bedrockHarness struct {
	*harness
	https *http.Client // trusts the gateway's certificate
}

func newBedrockHarness(tb testing.TB, configure ...func(*server.Options)) *bedrockHarness {
	tb.Helper()
	h := newHarness(tb, configure...)
	srv := httptest.NewTLSServer(h.handler)
	tb.Cleanup(srv.Close)
	h.url = srv.URL
	return &bedrockHarness{harness: h, https: srv.Client()}
}

// bedrockClient is the unmodified Bedrock Runtime client pointed at the
// gateway's Bedrock API with key as its bearer token (as
// AWS_BEARER_TOKEN_BEDROCK sets it up).
func (h *bedrockHarness) bedrockClient(key string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:                  "us-east-1",
		BaseEndpoint:            aws.String(h.url + "/bedrock"),
		BearerAuthTokenProvider: bearer.StaticTokenProvider{Token: bearer.Token{Value: key}},
		AuthSchemePreference:    []string{"httpBearerAuth"},
		RetryMaxAttempts:        1,
		HTTPClient:              bedrock.ShieldBodies(h.https),
	})
}

// anthropicBody is the InvokeModel body of a Claude model, as the
// Anthropic Bedrock SDK and Claude Code send it.
const anthropicBody = `{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":"Say hi"}]}`

// TestBedrockAPIMatchesBedrock calls each operation once on the emulator
// directly and once through the gateway with the same SDK client, and
// compares the answers.
func TestBedrockAPIMatchesBedrock(t *testing.T) {
	h := newBedrockHarness(t)
	ctx := context.Background()
	direct := h.emu.RuntimeClient(t)
	gw := h.bedrockClient(testKey)
	app := bedrocktest.DefaultApplicationProfiles()[0].ARN() // an ARN: '/' and ':' escaped in the path

	for _, model := range []string{modelClaude, app} {
		t.Run("Converse "+model, func(t *testing.T) {
			in := func() *bedrockruntime.ConverseInput {
				return &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: []types.Message{{Role: types.ConversationRoleUser,
					Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello there"}}}},
					AdditionalModelRequestFields: document.NewLazyDocument(map[string]any{"top_k": 5})}
			}
			want, err := direct.Converse(ctx, in())
			if err != nil {
				t.Fatal(err)
			}
			got, err := gw.Converse(ctx, in())
			if err != nil {
				t.Fatal(err)
			}
			if g, w := converseText(got), converseText(want); g != w || g == "" {
				t.Errorf("got %q, want %q", g, w)
			}
			if *got.Usage.InputTokens != *want.Usage.InputTokens || *got.Usage.OutputTokens != *want.Usage.OutputTokens || got.StopReason != want.StopReason {
				t.Errorf("got usage %+v stop %s, want %+v %s", *got.Usage, got.StopReason, *want.Usage, want.StopReason)
			}
		})
	}

	t.Run("ConverseStream", func(t *testing.T) {
		in := func() *bedrockruntime.ConverseStreamInput {
			return &bedrockruntime.ConverseStreamInput{ModelId: aws.String(modelClaude), Messages: []types.Message{{Role: types.ConversationRoleUser,
				Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Stream me a reply"}}}}}
		}
		want := converseStreamEvents(t, direct, in())
		got := converseStreamEvents(t, gw, in())
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) < 4 {
			t.Errorf("got events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("InvokeModel", func(t *testing.T) {
		in := func() *bedrockruntime.InvokeModelInput {
			return &bedrockruntime.InvokeModelInput{ModelId: aws.String(modelClaude), Body: []byte(anthropicBody), ContentType: aws.String("application/json")}
		}
		want, err := direct.InvokeModel(ctx, in())
		if err != nil {
			t.Fatal(err)
		}
		got, err := gw.InvokeModel(ctx, in())
		if err != nil {
			t.Fatal(err)
		}
		if g, w := withoutID(t, got.Body), withoutID(t, want.Body); g != w {
			t.Errorf("got %s, want %s", g, w)
		}
		if aws.ToString(got.ContentType) != "application/json" {
			t.Errorf("got content type %q", aws.ToString(got.ContentType))
		}
	})

	t.Run("InvokeModelWithResponseStream", func(t *testing.T) {
		in := func() *bedrockruntime.InvokeModelWithResponseStreamInput {
			return &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(modelClaude), Body: []byte(anthropicBody), ContentType: aws.String("application/json")}
		}
		want := invokeStreamChunks(t, direct, in())
		got := invokeStreamChunks(t, gw, in())
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) < 4 {
			t.Errorf("got chunks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("CountTokens", func(t *testing.T) {
		in := func() *bedrockruntime.CountTokensInput {
			return &bedrockruntime.CountTokensInput{ModelId: aws.String(modelClaude),
				Input: &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(anthropicBody)}}}
		}
		want, err := direct.CountTokens(ctx, in())
		if err != nil {
			t.Fatal(err)
		}
		got, err := gw.CountTokens(ctx, in())
		if err != nil {
			t.Fatal(err)
		}
		if *got.InputTokens != *want.InputTokens || *got.InputTokens == 0 {
			t.Errorf("got %d tokens, want %d", *got.InputTokens, *want.InputTokens)
		}
	})

	// The body reached Bedrock byte for byte.
	var seen bool
	for _, r := range h.emu.Requests() {
		if r.Operation == "InvokeModel" && string(r.Body) == anthropicBody {
			seen = true
		}
	}
	if !seen {
		t.Error("the InvokeModel body did not reach Bedrock unchanged")
	}

	// Every call is in the access log, with its key and tokens (for its
	// cost); counting tokens is free.
	waitFor(t, "the access log", func() bool { return strings.Count(h.logs.String(), `"route":"/bedrock/model/*rest"`) == 6 })
	var logged int
	for line := range strings.SplitSeq(h.logs.String(), "\n") {
		var l struct {
			Msg, Route, Key, Model string
			Status                 int
			InputTokens            int64 `json:"input_tokens"`
			OutputTokens           int64 `json:"output_tokens"`
			Stream                 bool
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "request" || l.Route != "/bedrock/model/*rest" {
			continue
		}
		logged++
		counting := l.InputTokens == 0 && l.OutputTokens == 0
		if l.Status != http.StatusOK || l.Key != "default" || l.Model == "" || counting != (logged == 6) {
			t.Errorf("access log line %d: %s", logged, line)
		}
	}
	if logged != 6 {
		t.Errorf("got %d access log lines of the Bedrock API, want 6", logged)
	}
}

func converseText(out *bedrockruntime.ConverseOutput) string {
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, c := range msg.Value.Content {
		if t, ok := c.(*types.ContentBlockMemberText); ok {
			b.WriteString(t.Value)
		}
	}
	return b.String()
}

// converseStreamEvents describes each event of a ConverseStream.
func converseStreamEvents(t *testing.T, c *bedrockruntime.Client, in *bedrockruntime.ConverseStreamInput) []string {
	t.Helper()
	out, err := c.ConverseStream(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var events []string
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			if d, ok := v.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				events = append(events, "delta "+d.Value)
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			events = append(events, "stop "+string(v.Value.StopReason))
		case *types.ConverseStreamOutputMemberMetadata:
			b, _ := json.Marshal(v.Value.Usage)
			events = append(events, "usage "+string(b))
		default:
			events = append(events, strings.TrimPrefix(fmt.Sprintf("%T", ev), "*types.ConverseStreamOutputMember"))
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// invokeStreamChunks returns the chunks of an InvokeModelWithResponseStream
// with the message id and the latencies taken out.
func invokeStreamChunks(t *testing.T, c *bedrockruntime.Client, in *bedrockruntime.InvokeModelWithResponseStreamInput) []string {
	t.Helper()
	out, err := c.InvokeModelWithResponseStream(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var chunks []string
	for ev := range stream.Events() {
		if ch, ok := ev.(*types.ResponseStreamMemberChunk); ok {
			var v map[string]any
			if err := json.Unmarshal(ch.Value.Bytes, &v); err != nil {
				t.Fatal(err)
			}
			if m, ok := v["message"].(map[string]any); ok {
				delete(m, "id")
			}
			if m, ok := v["amazon-bedrock-invocationMetrics"].(map[string]any); ok { // timings differ
				delete(m, "firstByteLatency")
				delete(m, "invocationLatency")
			}
			b, _ := json.Marshal(v)
			chunks = append(chunks, string(b))
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return chunks
}

// withoutID is an Anthropic message without its (random) id.
func withoutID(t *testing.T, body []byte) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	delete(v, "id")
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBedrockAPIErrors checks that the SDK raises its usual exceptions.
func TestBedrockAPIErrors(t *testing.T) {
	h := newBedrockHarness(t)
	ctx := context.Background()
	converse := func(c *bedrockruntime.Client, text string) error {
		_, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(modelClaude), Messages: []types.Message{{Role: types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}}}}})
		return err
	}

	t.Run("wrong key", func(t *testing.T) {
		var ade *types.AccessDeniedException
		if err := converse(h.bedrockClient("sk-wrong"), "hi"); !errors.As(err, &ade) {
			t.Errorf("got %v, want AccessDeniedException", err)
		}
	})
	t.Run("SigV4", func(t *testing.T) {
		signed := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(h.url + "/bedrock"),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRET", ""), RetryMaxAttempts: 1, HTTPClient: h.https})
		var ade *types.AccessDeniedException
		err := converse(signed, "hi")
		if !errors.As(err, &ade) || !strings.Contains(ade.ErrorMessage(), "bearer token") {
			t.Errorf("got %v, want AccessDeniedException saying to send a bearer token", err)
		}
	})
	t.Run("throttling", func(t *testing.T) {
		var te *types.ThrottlingException
		if err := converse(h.bedrockClient(testKey), "@emulate-error ThrottlingException"); !errors.As(err, &te) {
			t.Errorf("got %v, want ThrottlingException", err)
		}
	})
	t.Run("throttling in a stream's first frame", func(t *testing.T) {
		out, err := h.bedrockClient(testKey).InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(modelClaude),
			Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":"@emulate-error ThrottlingException"}]}`)})
		if err == nil {
			for range out.GetStream().Events() {
			}
			err = out.GetStream().Err()
		}
		var te *types.ThrottlingException
		if !errors.As(err, &te) {
			t.Errorf("got %v, want ThrottlingException", err)
		}
	})
	t.Run("exception inside a stream", func(t *testing.T) {
		out, err := h.bedrockClient(testKey).ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(modelClaude), Messages: []types.Message{{Role: types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: `@emulate {"text":["a","b","c","d"],"stream_error":{"type":"modelStreamErrorException"},"stream_error_after":3}`}}}}})
		if err != nil {
			t.Fatal(err)
		}
		events := 0
		for range out.GetStream().Events() {
			events++
		}
		var mse *types.ModelStreamErrorException
		if err := out.GetStream().Err(); !errors.As(err, &mse) || events == 0 {
			t.Errorf("got %v after %d events, want ModelStreamErrorException after some", err, events)
		}
	})
	t.Run("invalid body", func(t *testing.T) {
		var ve *types.ValidationException
		_, err := h.bedrockClient(testKey).InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(modelClaude), Body: []byte(`{"messages":[]}`)})
		if !errors.As(err, &ve) {
			t.Errorf("got %v, want ValidationException", err)
		}
	})
	t.Run("retired model", func(t *testing.T) {
		var nf *types.ResourceNotFoundException
		_, err := h.bedrockClient(testKey).InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("us.anthropic.claude-3-5-haiku-20241022-v1:0"), Body: []byte(anthropicBody)})
		if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "retired") {
			t.Errorf("got %v, want ResourceNotFoundException", err)
		}
	})
	t.Run("unknown operation", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.url+"/bedrock/model/"+modelClaude+"/frobnicate", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := h.https.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" {
			t.Errorf("got %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})
}

// TestBedrockAPIListings reads the catalogue with the unmodified Bedrock
// control-plane client.
func TestBedrockAPIListings(t *testing.T) {
	emuModels := []string{"anthropic.claude-haiku-4-5-20251001-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0"}
	h := newBedrockHarness(t, func(o *server.Options) { o.Catalogue = bedrock.NewStaticCatalogue(emuModels...) })
	cp := bedrockcp.New(bedrockcp.Options{Region: "us-east-1", BaseEndpoint: aws.String(h.url + "/bedrock"),
		BearerAuthTokenProvider: bearer.StaticTokenProvider{Token: bearer.Token{Value: testKey}},
		AuthSchemePreference:    []string{"httpBearerAuth"}, RetryMaxAttempts: 1, HTTPClient: h.https})
	ctx := context.Background()
	fms, err := cp.ListFoundationModels(ctx, &bedrockcp.ListFoundationModelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fms.ModelSummaries) != 1 || aws.ToString(fms.ModelSummaries[0].ModelId) != emuModels[0] ||
		aws.ToString(fms.ModelSummaries[0].ModelArn) != "arn:aws:bedrock:us-east-1::foundation-model/"+emuModels[0] {
		t.Errorf("got %+v", fms.ModelSummaries)
	}
	ips, err := cp.ListInferenceProfiles(ctx, &bedrockcp.ListInferenceProfilesInput{TypeEquals: "SYSTEM_DEFINED"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ips.InferenceProfileSummaries) != 1 || aws.ToString(ips.InferenceProfileSummaries[0].InferenceProfileId) != emuModels[1] {
		t.Errorf("got %+v", ips.InferenceProfileSummaries)
	}
	ips, err = cp.ListInferenceProfiles(ctx, &bedrockcp.ListInferenceProfilesInput{TypeEquals: "APPLICATION"})
	if err != nil || len(ips.InferenceProfileSummaries) != 0 {
		t.Errorf("got %v, %+v; want no application profiles", err, ips)
	}
}

// TestBedrockAPIKeyLimits: the key limits hold on Bedrock's API too: the
// tokens of a stream count, and a key over its limit gets Bedrock's 429
// ThrottlingException, which the SDK raises, with Retry-After.
func TestBedrockAPIKeyLimits(t *testing.T) {
	h := newBedrockHarness(t, func(o *server.Options) {
		o.KeyLimits = map[string]server.KeyLimit{server.AnyKey: {TokensPerMinute: 5}}
	})
	ctx := context.Background()
	in := &bedrockruntime.ConverseStreamInput{ModelId: aws.String(modelClaude), Messages: []types.Message{{Role: types.ConversationRoleUser,
		Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "a prompt of a few tokens"}}}}}
	if got := converseStreamEvents(t, h.bedrockClient(testKey), in); len(got) < 4 {
		t.Fatalf("first stream: %d events", len(got))
	}
	_, err := h.bedrockClient(testKey).Converse(ctx, &bedrockruntime.ConverseInput{ModelId: in.ModelId, Messages: in.Messages})
	var te *types.ThrottlingException
	if !errors.As(err, &te) || !strings.Contains(te.ErrorMessage(), "tokens per minute") {
		t.Errorf("after the stream used the minute's tokens: %v, want ThrottlingException about tokens per minute", err)
	}

	req, _ := http.NewRequest(http.MethodPost, h.url+"/bedrock/model/"+modelClaude+"/converse", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := h.https.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "ThrottlingException") ||
		resp.Header.Get("Retry-After") == "" || resp.Header.Get("x-ratelimit-remaining-tokens") != "0" {
		t.Errorf("got %d %q, Retry-After %q, remaining tokens %q; want 429 ThrottlingException with Retry-After and 0",
			resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), resp.Header.Get("Retry-After"), resp.Header.Get("x-ratelimit-remaining-tokens"))
	}
}
