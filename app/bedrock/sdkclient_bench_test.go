package bedrock_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

// benchRuntime is a Bedrock Runtime client built as the gateway builds it
// (its HTTP client, static credentials, SigV4), against url, with opts.
func benchRuntime(url string, opts ...func(*bedrockruntime.Options)) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:  bedrock.ShieldBodies(awshttp.NewBuildableClient())}, opts...)
}

// without removes middlewares from every call's stack by step and id.
func without(step string, ids ...string) func(*bedrockruntime.Options) {
	return func(o *bedrockruntime.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			for _, id := range ids {
				var err error
				switch step {
				case "initialize":
					_, err = st.Initialize.Remove(id)
				case "build":
					_, err = st.Build.Remove(id)
				case "finalize":
					_, err = st.Finalize.Remove(id)
				case "deserialize":
					_, err = st.Deserialize.Remove(id)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func benchConverseInput() *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{ModelId: aws.String("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(64)},
		Messages: []types.Message{{Role: types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello"}}}}}
}

// replay is an HTTP client that answers every request with the answer the
// emulator gave to the first one of its path, so that a benchmark sees the
// SDK's own cost without the emulator's and the network's.
type replay struct {
	next    aws.HTTPClient
	answers sync.Map // path -> recorded
}

type recorded struct {
	status int
	header http.Header
	body   []byte
}

func (r *replay) Do(req *http.Request) (*http.Response, error) {
	a, ok := r.answers.Load(req.URL.Path)
	if ok && req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body) // as a transport would
		_ = req.Body.Close()
	}
	if !ok {
		resp, err := r.next.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		a, _ = r.answers.LoadOrStore(req.URL.Path, &recorded{resp.StatusCode, resp.Header, body})
	}
	rec := a.(*recorded)
	return &http.Response{StatusCode: rec.status, Header: rec.header.Clone(), Body: io.NopCloser(bytes.NewReader(rec.body)),
		ContentLength: int64(len(rec.body)), Request: req}, nil
}

// BenchmarkConverseSDK measures one Converse and one ConverseStream call
// through the SDK with the SDK's default stack (the baseline), with one
// middleware taken out at a time, and with bedrock.Lean, the gateway's
// client: "emulator" calls the emulator on 127.0.0.1 (its work and
// allocations included, on the same cores); "replay" replays the
// emulator's answer, leaving the SDK's own cost.
func BenchmarkConverseSDK(b *testing.B) {
	emu := bedrocktest.NewServer(b)
	for _, mode := range []string{"replay", "emulator"} {
		benchConverseSDK(b, mode, emu.URL)
	}
}

func benchConverseSDK(b *testing.B, mode, url string) {
	variants := []struct {
		name string
		opts []func(*bedrockruntime.Options)
	}{
		{"baseline-sdk-default", nil},
		{"without-ClientRequestID", []func(*bedrockruntime.Options){without("build", "ClientRequestID")}},
		{"without-UserAgent", []func(*bedrockruntime.Options){without("build", "UserAgent")}},
		{"without-RecordResponseTiming", []func(*bedrockruntime.Options){without("deserialize", "RecordResponseTiming")}},
		{"without-RequestResponseLogger", []func(*bedrockruntime.Options){without("deserialize", "RequestResponseLogger")}},
		{"without-RecursionDetection", []func(*bedrockruntime.Options){without("build", "RecursionDetection")}},
		{"without-Interceptors", []func(*bedrockruntime.Options){without("finalize", "InterceptBeforeRetryLoop", "InterceptAttempt")}},
		{"without-OperationInputValidation", []func(*bedrockruntime.Options){without("initialize", "OperationInputValidation")}},
		{"lean", []func(*bedrockruntime.Options){bedrock.Lean("bench")}},
	}
	client := func(opts []func(*bedrockruntime.Options)) *bedrockruntime.Client {
		if mode == "replay" {
			opts = append([]func(*bedrockruntime.Options){func(o *bedrockruntime.Options) { o.HTTPClient = &replay{next: o.HTTPClient} }}, opts...)
		}
		return benchRuntime(url, opts...)
	}
	for _, v := range variants {
		rt := client(v.opts)
		b.Run(mode+"-converse/"+v.name, func(b *testing.B) {
			in := benchConverseInput()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rt.Converse(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, v := range []int{0, len(variants) - 1} {
		rt := client(variants[v].opts)
		b.Run(mode+"-stream/"+variants[v].name, func(b *testing.B) {
			c := benchConverseInput()
			in := &bedrockruntime.ConverseStreamInput{ModelId: c.ModelId, InferenceConfig: c.InferenceConfig, Messages: c.Messages}
			b.ReportAllocs()
			for b.Loop() {
				out, err := rt.ConverseStream(context.Background(), in)
				if err != nil {
					b.Fatal(err)
				}
				st := out.GetStream()
				for range st.Events() {
				}
				if err := st.Close(); err != nil && err != io.EOF {
					b.Fatal(err)
				}
				if err := st.Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEndpointResolve measures the SDK's endpoint rules, which run on
// every call, for a region and for a fixed endpoint, against the resolved
// endpoint that bedrock.Lean reuses.
func BenchmarkEndpointResolve(b *testing.B) {
	def := bedrockruntime.NewDefaultEndpointResolverV2()
	region := bedrockruntime.EndpointParameters{Region: aws.String("us-east-1"), UseFIPS: aws.Bool(false), UseDualStack: aws.Bool(false)}
	fixed := region
	fixed.Endpoint = aws.String("http://127.0.0.1:4000")
	var o bedrockruntime.Options
	bedrock.Lean("bench")(&o)
	for _, c := range []struct {
		name string
		r    bedrockruntime.EndpointResolverV2
		p    bedrockruntime.EndpointParameters
	}{
		{"region/baseline-sdk-rules", def, region}, {"region/lean", o.EndpointResolverV2, region},
		{"endpoint/baseline-sdk-rules", def, fixed}, {"endpoint/lean", o.EndpointResolverV2, fixed},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.r.ResolveEndpoint(context.Background(), c.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
