package canary

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// LambdaScheme is the URL scheme of targets reached through the Lambda
// Invoke API instead of HTTP: lambda://FUNCTION-NAME.
const LambdaScheme = "lambda"

// Invoker is the one Lambda API call the invoke transport needs;
// *lambda.Client has it.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// canaryTargetGroup is the target group ARN the canary's events carry; the
// gateway's ALB adapter only passes it along.
const canaryTargetGroup = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/openbedrock-canary/0000000000000000"

// InvokeTransport is an http.RoundTripper for lambda://FUNCTION URLs. It
// sends each request to the function as an ALB target-group event (with
// multi-value headers, as the template's target group is configured)
// through the Lambda Invoke API, and turns the ALB response back into an
// *http.Response.
//
// It exists for the scheduled canary in the template: the ALB's security
// group admits only the allowed CIDRs, and a Lambda function outside a VPC
// has no fixed source address to admit. Invoking the gateway function
// directly reaches the same pool of execution environments as the ALB, so
// it keeps them warm and sees their cold starts, without opening the ALB.
// It does not test the ALB, TLS or DNS; probe the https:// URL from an
// allowed network for that.
type InvokeTransport struct {
	Client Invoker
}

// RoundTrip invokes the function named by req.URL.Host.
func (t InvokeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	if t.Client == nil {
		return nil, errors.New("no Lambda client configured for lambda:// targets")
	}
	payload, err := json.Marshal(albEvent(req, body))
	if err != nil {
		return nil, fmt.Errorf("encode ALB event: %w", err)
	}
	fn := req.URL.Host
	out, err := t.Client.Invoke(req.Context(), &lambda.InvokeInput{FunctionName: &fn, Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", fn, err)
	}
	if out.FunctionError != nil {
		return nil, fmt.Errorf("invoke %s: function error %s: %s", fn, *out.FunctionError, snippet(out.Payload))
	}
	return albResponse(req, out.Payload)
}

// albEvent builds the event an ALB with multi-value headers sends.
func albEvent(req *http.Request, body []byte) events.ALBTargetGroupRequest {
	headers := map[string][]string{"host": {req.URL.Host}}
	for k, v := range req.Header {
		headers[strings.ToLower(k)] = v
	}
	ev := events.ALBTargetGroupRequest{
		HTTPMethod:        req.Method,
		Path:              req.URL.EscapedPath(),
		MultiValueHeaders: headers,
		RequestContext:    events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: canaryTargetGroup}},
	}
	if ev.Path == "" {
		ev.Path = "/"
	}
	if q := req.URL.Query(); len(q) > 0 {
		ev.MultiValueQueryStringParameters = q
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	return ev
}

// albResponse decodes the function's ALB response into an *http.Response.
func albResponse(req *http.Request, payload []byte) (*http.Response, error) {
	var r events.ALBTargetGroupResponse
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, fmt.Errorf("decode ALB response: %w", err)
	}
	if r.StatusCode < 100 || r.StatusCode > 999 {
		return nil, fmt.Errorf("not an ALB response (status %d): %s", r.StatusCode, snippet(payload))
	}
	header := http.Header{}
	for k, v := range r.Headers {
		header.Set(k, v)
	}
	for k, vs := range r.MultiValueHeaders {
		header.Del(k)
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			return nil, fmt.Errorf("decode base64 body: %w", err)
		}
		body = b
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", r.StatusCode, http.StatusText(r.StatusCode)),
		StatusCode:    r.StatusCode,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
