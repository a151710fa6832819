package bedrock_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

// TestLeanClient drives a client built with bedrock.Lean against the
// emulator: requests are still signed with SigV4 (payload hash included),
// carry the fixed User-Agent and the retry header, drop the invocation
// id, and a throttled first attempt is retried.
func TestLeanClient(t *testing.T) {
	emu := bedrocktest.New()
	var mu sync.Mutex
	var seen []http.Header
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		if calls.Add(1) == 1 {
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"message":"Too many requests"}`))
			return
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rt := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RetryMaxAttempts: 3},
		bedrock.Lean("test-gateway/1"))
	if _, err := rt.Converse(context.Background(), benchConverseInput()); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("got %d attempts, want 2 (one retry after the throttle)", len(seen))
	}
	for i, h := range seen {
		if a := h.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(a, "Signature=") {
			t.Errorf("attempt %d: Authorization %q, want SigV4", i+1, a)
		}
		if h.Get("X-Amz-Date") == "" {
			t.Errorf("attempt %d: no X-Amz-Date", i+1)
		}
		if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "test-gateway/1 aws-sdk-go-v2/") {
			t.Errorf("attempt %d: User-Agent %q, want the fixed one", i+1, ua)
		}
		if want := "attempt=" + strconv.Itoa(i+1); !strings.HasPrefix(h.Get("Amz-Sdk-Request"), want) {
			t.Errorf("attempt %d: Amz-Sdk-Request %q, want %s...", i+1, h.Get("Amz-Sdk-Request"), want)
		}
		if v := h.Get("Amz-Sdk-Invocation-Id"); v != "" {
			t.Errorf("attempt %d: Amz-Sdk-Invocation-Id %q, want none", i+1, v)
		}
	}
}

// countingResolver counts the endpoint resolutions that reach it.
type countingResolver struct {
	n    atomic.Int32
	next bedrockruntime.EndpointResolverV2
}

func (c *countingResolver) ResolveEndpoint(ctx context.Context, p bedrockruntime.EndpointParameters) (smithyendpoints.Endpoint, error) {
	c.n.Add(1)
	return c.next.ResolveEndpoint(ctx, p)
}

// TestLeanResolvesEndpointOnce: the rules run for the first call only,
// and again when the parameters change (another region per call).
func TestLeanResolvesEndpointOnce(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	res := &countingResolver{next: bedrockruntime.NewDefaultEndpointResolverV2()}
	rt := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(emu.URL), EndpointResolverV2: res,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, bedrock.Lean("test"))
	for range 3 {
		if _, err := rt.Converse(context.Background(), benchConverseInput()); err != nil {
			t.Fatal(err)
		}
	}
	if n := res.n.Load(); n != 1 {
		t.Errorf("resolutions: got %d, want 1", n)
	}
	if _, err := rt.Converse(context.Background(), benchConverseInput(), func(o *bedrockruntime.Options) { o.Region = "us-west-2" }); err != nil {
		t.Fatal(err)
	}
	if n := res.n.Load(); n != 2 {
		t.Errorf("resolutions after a region change: got %d, want 2", n)
	}
}
