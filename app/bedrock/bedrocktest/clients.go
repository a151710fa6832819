package bedrocktest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	bedrockcp "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/bedrock"
)

// RuntimeClient returns the real Bedrock Runtime client pointed at s, as
// httptest.Server.Client does for HTTP: static credentials, region
// us-east-1, no SDK retries (a test scripts each attempt), and the
// gateway's body shield (bedrock.ShieldBodies) as in production. opts
// adjust the options further.
func (s *Server) RuntimeClient(tb testing.TB, opts ...func(*bedrockruntime.Options)) *bedrockruntime.Client {
	tb.Helper()
	return bedrockruntime.New(bedrockruntime.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRET", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       bedrock.ShieldBodies(awshttp.NewBuildableClient()),
	}, opts...)
}

// ControlClient returns the real Bedrock control-plane client (model and
// inference-profile listings) pointed at s, set up like RuntimeClient.
func (s *Server) ControlClient(tb testing.TB, opts ...func(*bedrockcp.Options)) *bedrockcp.Client {
	tb.Helper()
	return bedrockcp.New(bedrockcp.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRET", ""),
		RetryMaxAttempts: 1,
	}, opts...)
}
