package bedrock

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Lean returns the Bedrock Runtime client options that take out of every
// call what the gateway does not need, through the client's documented
// options (no fork): give it to bedrockruntime.NewFromConfig. The SDK
// builds its middleware stack anew for each call; measured against the
// emulator (BenchmarkConverseSDK), these are the parts with a cost and no
// use here:
//
//   - endpoint resolution: the rules engine runs on every call although
//     region, FIPS, dual-stack and endpoint override never change after
//     start-up; the endpoint is resolved once (per set of parameters) and
//     reused;
//   - the User-Agent, rebuilt for every request from the SDK's feature
//     list: it is written once, from userAgent and the SDK version;
//   - the amz-sdk-invocation-id header, a random UUID per call that only
//     ties the SDK's own retry attempts together in AWS's logs;
//   - the request/response logging check (ClientLogMode 0, no logger: the
//     gateway logs calls itself).
//
// Retries (the retryer, its attempt header and its token bucket), clock-skew
// correction, SigV4 or bearer signing, payload hashing, request ids and the
// raw response in the metadata are kept.
func Lean(userAgent string) func(*bedrockruntime.Options) {
	ua := userAgent + " aws-sdk-go-v2/" + aws.SDKVersion
	return func(o *bedrockruntime.Options) {
		next := o.EndpointResolverV2
		if next == nil {
			next = bedrockruntime.NewDefaultEndpointResolverV2()
		}
		o.EndpointResolverV2 = &onceEndpoint{next: next}
		o.ClientLogMode = 0
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			for _, id := range []string{"ClientRequestID", "UserAgent"} {
				if _, err := st.Build.Remove(id); err != nil {
					return err
				}
			}
			if _, err := st.Deserialize.Remove("RequestResponseLogger"); err != nil {
				return err
			}
			return st.Build.Add(fixedUserAgent(ua), middleware.After)
		})
	}
}

// fixedUserAgent sets the same User-Agent on every request.
type fixedUserAgent string

func (fixedUserAgent) ID() string { return "GatewayUserAgent" }

func (ua fixedUserAgent) HandleBuild(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		req.Header.Set("User-Agent", string(ua))
	}
	return next.HandleBuild(ctx, in)
}

// onceEndpoint resolves an endpoint once per set of parameters: in a
// gateway they are the same for every call.
type onceEndpoint struct {
	next bedrockruntime.EndpointResolverV2
	last atomic.Pointer[resolvedEndpoint]
}

type resolvedEndpoint struct {
	key      endpointKey
	endpoint smithyendpoints.Endpoint
}

// endpointKey holds the values of bedrockruntime.EndpointParameters (its
// fields are pointers) and whether each was set.
type endpointKey struct {
	region, endpoint                         string
	fips, dualStack                          bool
	hasRegion, hasEndpoint, hasFIPS, hasDual bool
}

// ResolveEndpoint returns the endpoint resolved last for the same
// parameters, or resolves it.
func (r *onceEndpoint) ResolveEndpoint(ctx context.Context, p bedrockruntime.EndpointParameters) (smithyendpoints.Endpoint, error) {
	k := endpointKey{region: aws.ToString(p.Region), endpoint: aws.ToString(p.Endpoint), fips: aws.ToBool(p.UseFIPS), dualStack: aws.ToBool(p.UseDualStack),
		hasRegion: p.Region != nil, hasEndpoint: p.Endpoint != nil, hasFIPS: p.UseFIPS != nil, hasDual: p.UseDualStack != nil}
	if last := r.last.Load(); last != nil && last.key == k {
		return last.endpoint, nil
	}
	ep, err := r.next.ResolveEndpoint(ctx, p)
	if err != nil {
		return ep, err
	}
	r.last.Store(&resolvedEndpoint{key: k, endpoint: ep})
	return ep, nil
}
