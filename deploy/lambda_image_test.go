package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/internal/testbin"
)

// lambdaBuildTags are the tags of the Lambda build, as make build-lambda
// and internal/testbin use them.
const lambdaBuildTags = "lambda,lambda.norpc,nomsgpack"

// goBuild is a builder stage's go build command, as words.
type goBuild struct {
	env  []string // the KEY=VALUE words before go
	args []string // the words after go build
}

// stageGoBuild returns the go build command of a builder stage, its
// variables expanded from vars the way BuildKit expands them.
func stageGoBuild(stage instructions.Stage, vars map[string]string) (goBuild, error) {
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	lex := shell.NewLex('\\')
	for _, cmd := range stage.Commands {
		run, ok := cmd.(*instructions.RunCommand)
		if !ok {
			continue
		}
		words, err := lex.ProcessWords(strings.Join(run.CmdLine, " "), shell.EnvsFromSlice(env))
		if err != nil {
			return goBuild{}, fmt.Errorf("split %q: %w", run.String(), err)
		}
		i := slices.Index(words, "go")
		if i < 0 || i+1 >= len(words) || words[i+1] != "build" {
			continue
		}
		return goBuild{env: words[:i], args: words[i+2:]}, nil
	}
	return goBuild{}, fmt.Errorf("stage %s has no RUN with go build", stage.Name)
}

// flag returns the value of a go build flag, or "" when it is absent.
func (b goBuild) flag(name string) string {
	for i, a := range b.args {
		if a == name && i+1 < len(b.args) {
			return b.args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// TestDockerfileLambdaStage checks the lambda target is the Lambda build of
// the gateway and holds nothing a Lambda container image ignores or needs
// a server for.
func TestDockerfileLambdaStage(t *testing.T) {
	d := loadDockerfile(t, dockerfilePath)
	builder, ok := d.stage("build-lambda")
	if !ok {
		t.Fatal("no build-lambda stage")
	}
	b, err := stageGoBuild(builder, map[string]string{"TARGETOS": "linux", "TARGETARCH": "arm64", "VERSION": "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.flag("-tags"); got != lambdaBuildTags {
		t.Errorf("build-lambda builds with -tags %q, want %q (the zip's build)", got, lambdaBuildTags)
	}
	if got := b.flag("-o"); got != "/out/bootstrap" {
		t.Errorf("build-lambda writes %q, want /out/bootstrap", got)
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"} {
		if !slices.Contains(b.env, want) {
			t.Errorf("build-lambda's go build runs with %q, want %s", b.env, want)
		}
	}
	stage, ok := d.stage("lambda")
	if !ok {
		t.Fatal("no lambda stage")
	}
	if stage.BaseName != "scratch" {
		t.Errorf("lambda stage base %q, want scratch (the bootstrap is the runtime)", stage.BaseName)
	}
	for _, cmd := range stage.Commands {
		switch c := cmd.(type) {
		case *instructions.HealthCheckCommand, *instructions.ExposeCommand:
			t.Errorf("lambda stage has %s; Lambda ignores it and the bootstrap serves no port", c.Name())
		case *instructions.CmdCommand:
			t.Errorf("lambda stage has CMD %q; the bootstrap takes no handler argument", c.CmdLine)
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				t.Errorf("lambda stage sets ENV %s; the function's configuration belongs in template.yaml", kv.Key)
			}
		}
	}
	if last := d.stages[len(d.stages)-1].Name; last == "lambda" {
		t.Error("lambda is the last stage; the default target must stay gateway")
	}
}

// TestDockerfileLambdaBootstrapUnderRIE builds the bootstrap with the
// Dockerfile's own build-lambda command (for this host's platform) and
// runs it under the Lambda Runtime Interface Emulator, as Lambda runs the
// image's ENTRYPOINT, with ALB events for /health and a chat completion
// against the Bedrock emulator.
func TestDockerfileLambdaBootstrapUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bootstrap and runs it under RIE; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := loadDockerfile(t, dockerfilePath)
	builder, ok := d.stage("build-lambda")
	if !ok {
		t.Fatal("no build-lambda stage")
	}
	const version = "dockerfile-test"
	b, err := stageGoBuild(builder, map[string]string{"TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH, "VERSION": version})
	if err != nil {
		t.Fatal(err)
	}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	args := slices.Clone(b.args)
	i := slices.Index(args, "-o")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("go build %q has no -o", args)
	}
	args[i+1] = bootstrap
	root, err := testbin.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(ctx, "go", append([]string{"build"}, args...)...)
	build.Dir = root // the stage bind-mounts the build context, the repository root
	build.Env = append(build.Environ(), b.env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	emu := bedrocktest.NewServer(t)
	const key = "sk-dockerfile-lambda-0123456789abcdef"
	rie := testbin.StartRIEWith(t, bootstrap,
		"API_KEY="+key,
		"API_ROUTE_PREFIX=/api/v1",
		"LAMBDA_MODE=alb",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+emu.URL,
		"AWS_ENDPOINT_URL_BEDROCK="+emu.URL,
	)

	health := invokeALB(t, rie, albEvent("GET", "/health", "", ""))
	if health.StatusCode != http.StatusOK || !strings.Contains(health.Body, `"runtime":"lambda"`) ||
		!strings.Contains(health.Body, `"version":"`+version+`"`) {
		t.Errorf("/health: got %d %s, want 200 from the Lambda runtime stamped %s", health.StatusCode, health.Body, version)
	}
	chat := invokeALB(t, rie, albEvent("POST", "/api/v1/chat/completions", key,
		`{"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","messages":[{"role":"user","content":"Hello from the image"}]}`))
	if chat.StatusCode != http.StatusOK || !strings.Contains(chat.Body, `"chat.completion"`) {
		t.Errorf("chat: got %d %.500s, want 200 with a chat.completion", chat.StatusCode, chat.Body)
	}
	if n := len(emu.Requests()); n == 0 {
		t.Error("the Bedrock emulator saw no request from the bootstrap")
	}
}

// albEvent is an ALB target-group event (single-value headers).
func albEvent(method, path, key, body string) []byte {
	headers := map[string]string{
		"host":              "gateway.example.com",
		"x-forwarded-proto": "https",
		"x-forwarded-port":  "443",
		"x-forwarded-for":   "203.0.113.7",
	}
	if key != "" {
		headers["authorization"] = "Bearer " + key
	}
	if body != "" {
		headers["content-type"] = "application/json"
	}
	b, _ := json.Marshal(map[string]any{
		"requestContext":        map[string]any{"elb": map[string]string{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gw/abc"}},
		"httpMethod":            method,
		"path":                  path,
		"queryStringParameters": map[string]string{},
		"headers":               headers,
		"body":                  body,
		"isBase64Encoded":       false,
	})
	return b
}

// albResponse is the part of a Lambda's ALB answer the test reads.
type albResponse struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

// invokeALB posts an event to RIE and decodes the function's ALB answer.
func invokeALB(tb testing.TB, p *testbin.Process, event []byte) albResponse {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.InvokeURL, bytes.NewReader(event))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("invoke: %v; output:\n%s", err, p.Output())
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read invoke response: %v", err)
	}
	var out albResponse
	if err := json.Unmarshal(payload, &out); err != nil || out.StatusCode == 0 {
		tb.Fatalf("RIE answered %d with no ALB response (%v): %.2000s\noutput:\n%s", resp.StatusCode, err, payload, p.Output())
	}
	return out
}
