package canary

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// fakeLambdaAPI serves the Lambda Invoke API (POST
// /2015-03-31/functions/{name}/invocations) for a few named functions that
// behave like the gateway behind an ALB target group, or misbehave.
func fakeLambdaAPI(tb testing.TB) http.Handler {
	tb.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		var ev events.ALBTargetGroupRequest
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, `{"message":"bad payload"}`, http.StatusBadRequest)
			return
		}
		reply := func(resp any) { json.NewEncoder(w).Encode(resp) }
		switch r.PathValue("name") {
		case "gateway":
			if ev.HTTPMethod != http.MethodGet || ev.Path != "/health" || ev.MultiValueHeaders["host"][0] != "gateway" ||
				ev.RequestContext.ELB.TargetGroupArn == "" || ev.MultiValueHeaders["user-agent"][0] != userAgent {
				reply(events.ALBTargetGroupResponse{StatusCode: 400, Body: "unexpected event"})
				return
			}
			reply(events.ALBTargetGroupResponse{
				StatusCode:        200,
				StatusDescription: "200 OK",
				MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}},
				Body:              `{"status":"ok","instance_id":"lambda-1","first_request":true,"version":"v0.1.0","runtime":"lambda"}`,
			})
		case "base64":
			reply(events.ALBTargetGroupResponse{
				StatusCode:      200,
				Headers:         map[string]string{"Content-Type": "application/json"},
				Body:            base64.StdEncoding.EncodeToString([]byte(`{"status":"ok","instance_id":"b64"}`)),
				IsBase64Encoded: true,
			})
		case "chat":
			auth := ev.MultiValueHeaders["authorization"]
			if len(auth) != 1 || auth[0] != "Bearer k" || !strings.Contains(ev.Body, `"max_tokens":1`) {
				reply(events.ALBTargetGroupResponse{StatusCode: 401, Body: `{"error":{"message":"Invalid API Key"}}`})
				return
			}
			reply(events.ALBTargetGroupResponse{StatusCode: 200, Body: `{"choices":[{"index":0}]}`})
		case "crashing":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			io.WriteString(w, `{"errorMessage":"runtime exited","errorType":"Runtime.ExitError"}`)
		case "not-alb":
			io.WriteString(w, `null`)
		case "hanging":
			<-r.Context().Done()
		default:
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Type":"User","Message":"Function not found"}`)
		}
	})
	return mux
}

// lambdaClient is a real SDK client pointed at base.
func lambdaClient(base string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(base),
		RetryMaxAttempts: 1,
	})
}

func TestLambdaTargets(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	client := lambdaClient(serve(t, fakeLambdaAPI(t)))
	tests := []struct {
		function string
		deep     bool
		wantOK   bool
		wantID   string
		wantErr  string
	}{
		{function: "gateway", wantOK: true, wantID: "lambda-1"},
		{function: "base64", wantOK: true, wantID: "b64"},
		{function: "chat", deep: true, wantOK: true},
		{function: "crashing", wantErr: "function error Unhandled: {\"errorMessage\":\"runtime exited\""},
		{function: "not-alb", wantErr: "not an ALB response"},
		{function: "missing", wantErr: "ResourceNotFoundException"},
		{function: "hanging", wantErr: "timeout after 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			cfg := Config{Lambda: client, Timeout: 200 * time.Millisecond}
			if tt.deep {
				cfg.Deep, cfg.APIKey = true, "k"
			}
			results := newProber(t, cfg).Run(t.Context(), []string{"lambda://" + tt.function})
			r := results[len(results)-1]
			if r.OK != tt.wantOK || r.InstanceID != tt.wantID || !strings.Contains(r.Error, tt.wantErr) {
				t.Errorf("got ok=%v instance=%q error %q, want ok=%v instance=%q error containing %q",
					r.OK, r.InstanceID, r.Error, tt.wantOK, tt.wantID, tt.wantErr)
			}
		})
	}
}

func TestLambdaTargetWithoutClient(t *testing.T) {
	r := newProber(t, Config{}).Run(t.Context(), []string{"lambda://gateway"})[0]
	if r.OK || !strings.Contains(r.Error, "no Lambda client") {
		t.Errorf("got ok=%v error %q, want a missing-client failure", r.OK, r.Error)
	}
}

func TestParseLambdaTargets(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"lambda://bedrock-gateway-GatewayFunction-AbC123", "lambda://bedrock-gateway-GatewayFunction-AbC123", true},
		{"lambda://fn/", "lambda://fn", true},
		{"lambda://fn/health", "", false},
		{"lambda://arn:aws:lambda:us-east-1:1:function:fn", "", false},
		{"lambda://", "", false},
		{"lambda://" + strings.Repeat("f", 65), "", false},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if !NeedsLambda([]string{"https://a", "lambda://fn"}) || NeedsLambda([]string{"https://a"}) {
		t.Error("NeedsLambda: got the wrong answer")
	}
}
