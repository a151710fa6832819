// Package testbin gives tests the repository's programs as binaries, each
// built once per `make test` run, and runs them as black boxes: the server
// build as a process, the Lambda bootstrap under the AWS Lambda Runtime
// Interface Emulator (RIE), as Lambda would.
//
// make test builds every binary once into a temporary directory (go run
// ./internal/testbin/build DIR) and names it in $GATEWAY_TEST_BIN_DIR, so
// cmd/gateway, cmd/canary and bench/cmd/bench share one build of each
// instead of building their own. A test run without it (go test
// ./cmd/canary) builds what it needs itself, once per test process, into a
// directory of the system's temporary directory that later runs reuse.
package testbin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// repository) and with which go build arguments, as shipped (see Flags).
type spec struct {
	module string
	args   []string
}

var specs = map[Name]spec{
	Gateway:   {".", []string{"-tags", "nomsgpack", "-trimpath", "-ldflags", "-s -w -X main.version=" + Version, "./cmd/gateway"}},
	Bootstrap: {".", []string{"-tags", "lambda,lambda.norpc,nomsgpack", "-trimpath", "-ldflags", "-s -w -X main.version=" + Version, "./cmd/gateway"}},
	Emulator:  {".", []string{"-trimpath", "-ldflags", "-s -w", "./cmd/bedrock-emulator"}},
	RIE:       {".", []string{"-trimpath", "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"}},
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

// Flags is how Build compiles.
type Flags int

const (
	// Shipped compiles as the Makefile's build targets do: -trimpath and
	// CGO_ENABLED=0, so the binaries' common packages, the standard library
	// first, compile once for all of them.
	Shipped Flags = iota
	// Race compiles with -race and otherwise the go command's defaults, the
	// flags of `go test -race`: make test builds the binaries so, so that
	// they share every compiled package with the tests (a second set of
	// the standard library and every dependency is most of a cold run's
	// compiling otherwise), and a data race in the gateway, the emulator or
	// RIE under the end-to-end tests and the soak fails them (the race
	// detector exits with status 66).
	Race
)

// Build builds name into dir with the shipped flags; root is the
// repository root.
func Build(ctx context.Context, root, dir string, name Name) error {
	return BuildWith(ctx, root, dir, name, Shipped)
}

// BuildWith builds name into dir with flags.
func BuildWith(ctx context.Context, root, dir string, name Name, flags Flags) error {
	s, ok := specs[name]
	if !ok {
		return fmt.Errorf("build %s: no such binary", name)
	}
	args := []string{"build", "-o", filepath.Join(dir, string(name))}
	env := os.Environ()
	if flags == Race {
		args = append(args, "-race")
		for _, a := range s.args {
			if a != "-trimpath" {
				args = append(args, a)
			}
		}
	} else {
		args = append(args, s.args...)
		env = append(env, "CGO_ENABLED=0")
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join(root, s.module)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args[3:], " "), err, out)
	}
	return nil
}

// BuildAll builds every binary into dir with flags, one after the other:
// the builds share most packages, and the Go build cache serves each one
// once.
func BuildAll(ctx context.Context, dir string, flags Flags) error {
	root, err := Root(ctx)
	if err != nil {
		return err
	}
	for _, n := range Names() {
		if err := BuildWith(ctx, root, dir, n, flags); err != nil {
			return err
		}
	}
	return nil
}

// built holds the binaries this test process built itself.
var built struct {
	mu   sync.Mutex
	once map[Name]func() (string, error)
}

// Path returns the binary name: from $GATEWAY_TEST_BIN_DIR when that holds
// it, else built once per test process (see buildOwn).
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

// buildOwn builds name for a test process run without make test. The
// binaries go to one directory per checkout in the system's temporary
// directory, reused (not piled up) by later runs: each build writes a file
// of its own and renames it into place, so a process running the previous
// binary, or building the same one, is not disturbed.
func buildOwn(name Name) (string, error) {
	ctx := context.Background()
	root, err := Root(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "gateway-testbin-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	if err := Build(ctx, root, tmp, name); err != nil {
		return "", err
	}
	p := filepath.Join(dir, string(name))
	if err := os.Rename(filepath.Join(tmp, string(name)), p); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	return p, nil
}
