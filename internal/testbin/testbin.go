// Package testbin gives tests the repository's programs as binaries, each
// built once per `make test` run, and runs them as black boxes: the server
// build as a process, the Lambda bootstrap under the AWS Lambda Runtime
// Interface Emulator (RIE), as Lambda would.
//
// make test builds every binary once into a temporary directory (go run
// ./internal/testbin/build DIR) and names it in $GATEWAY_TEST_BIN_DIR, so
// cmd/gateway, cmd/canary and bench/cmd/bench share one build of each
// instead of building their own. A test run without it (go test
// ./cmd/canary) builds what it needs itself, once per test process.
package testbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// EnvDir names the environment variable holding the directory of prebuilt
// binaries.
const EnvDir = "GATEWAY_TEST_BIN_DIR"

// Version is the version stamped into the gateway and its bootstrap.
const Version = "test"

// Name is a binary's file name.
type Name string

// The binaries, as the Makefile's build targets and the benchmark build them.
const (
	Gateway   Name = "gateway"          // the server build (make build)
	Bootstrap Name = "bootstrap"        // the Lambda build (make build-lambda, for the host)
	Emulator  Name = "bedrock-emulator" // cmd/bedrock-emulator
	RIE       Name = "aws-lambda-rie"   // the Runtime Interface Emulator, a tool pinned in go.mod
	Loadgen   Name = "loadgen"          // bench/cmd/loadgen
	BareProxy Name = "bareproxy"        // bench/cmd/bareproxy
)

// gatewayModule is the module path of the repository root.
const gatewayModule = "github.com/openbedrock/gateway"

// spec is how a binary builds: in which module (a directory of the
// repository) and with which go build arguments.
type spec struct {
	module string
	args   []string
}

var specs = map[Name]spec{
	Gateway:   {".", []string{"-tags", "nomsgpack", "-trimpath", "-ldflags", "-s -w -X main.version=" + Version, "./cmd/gateway"}},
	Bootstrap: {".", []string{"-tags", "lambda,lambda.norpc,nomsgpack", "-trimpath", "-ldflags", "-s -w -X main.version=" + Version, "./cmd/gateway"}},
	Emulator:  {".", []string{"-trimpath", "-ldflags", "-s -w", "./cmd/bedrock-emulator"}},
	RIE:       {".", []string{"github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"}},
	Loadgen:   {"bench", []string{"-trimpath", "-ldflags", "-s -w", "./cmd/loadgen"}},
	BareProxy: {"bench", []string{"-trimpath", "-ldflags", "-s -w", "./cmd/bareproxy"}},
}

// Names lists every binary, in the order BuildAll builds them.
func Names() []Name { return []Name{Gateway, Bootstrap, Emulator, RIE, Loadgen, BareProxy} }

// Root returns the repository root: the gateway's module directory, as
// the module of the working directory sees it (the bench and deploy
// modules replace it with ../).
func Root(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", gatewayModule).Output()
	if err != nil {
		return "", fmt.Errorf("find the gateway's module: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("find the gateway's module: go list gave no directory")
	}
	return dir, nil
}

// Build builds name into dir; root is the repository root.
func Build(ctx context.Context, root, dir string, name Name) error {
	s, ok := specs[name]
	if !ok {
		return fmt.Errorf("build %s: no such binary", name)
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", filepath.Join(dir, string(name))}, s.args...)...)
	cmd.Dir = filepath.Join(root, s.module)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(s.args, " "), err, out)
	}
	return nil
}

// BuildAll builds every binary into dir, one after the other: the builds
// share most packages, and the Go build cache serves each one once.
func BuildAll(ctx context.Context, dir string) error {
	root, err := Root(ctx)
	if err != nil {
		return err
	}
	for _, n := range Names() {
		if err := Build(ctx, root, dir, n); err != nil {
			return err
		}
	}
	return nil
}

// built holds the binaries this test process built itself.
var built struct {
	mu   sync.Mutex
	dir  string
	once map[Name]func() (string, error)
}

// Path returns the binary name: from $GATEWAY_TEST_BIN_DIR when that holds
// it, else built once per test process into a temporary directory.
func Path(tb testing.TB, name Name) string {
	tb.Helper()
	if dir := os.Getenv(EnvDir); dir != "" {
		p := filepath.Join(dir, string(name))
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	built.mu.Lock()
	if built.once == nil {
		built.once = map[Name]func() (string, error){}
	}
	f, ok := built.once[name]
	if !ok {
		f = sync.OnceValues(func() (string, error) { return buildOwn(name) })
		built.once[name] = f
	}
	built.mu.Unlock()
	p, err := f()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// buildOwn builds name into the process's own directory. The directory
// outlives the test that asked first, so the next can use it; it is in
// the system's temporary directory.
func buildOwn(name Name) (string, error) {
	ctx := context.Background()
	built.mu.Lock()
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "gateway-testbin-")
		if err != nil {
			built.mu.Unlock()
			return "", fmt.Errorf("build %s: %w", name, err)
		}
		built.dir = dir
	}
	dir := built.dir
	built.mu.Unlock()
	root, err := Root(ctx)
	if err != nil {
		return "", err
	}
	if err := Build(ctx, root, dir, name); err != nil {
		return "", err
	}
	return filepath.Join(dir, string(name)), nil
}
