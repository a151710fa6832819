package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"go.yaml.in/yaml/v3"
)

// Paths of the container artefacts, relative to this package's directory.
const (
	dockerfilePath   = "../Dockerfile"
	dockerignorePath = "../.dockerignore"
	composePath      = "../compose.yaml"
	composeDemoPath  = "../compose.demo.yaml"
	envExamplePath   = "../gateway.env.example"
	gitignorePath    = "../.gitignore"

	// caBundle is the only file besides the binary a runtime stage may hold.
	caBundle = "/etc/ssl/certs/ca-certificates.crt"

	// The gateway's shutdown defaults (SHUTDOWN_DRAIN_DELAY, SHUTDOWN_TIMEOUT
	// in cmd/gateway's config); a container's stop grace period must exceed
	// their sum.
	defaultDrainDelay      = 5 * time.Second
	defaultShutdownTimeout = 25 * time.Second
)

// secretWord and notSecretSuffix tell names of variables that hold secrets
// (AWS_SECRET_ACCESS_KEY, API_KEY) from names that only point at one
// (SECRET_ARN_PARAMETER, TLS_KEY_FILE, API_KEY_PARAM_NAME).
var (
	secretWord      = regexp.MustCompile(`(?i)(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL)`)
	notSecretSuffix = regexp.MustCompile(`(?i)_(ARN|PARAMETER|PARAM_NAME|NAME|FILE|PATH)$`)
)

// looksSecret reports whether a variable called name holds a secret.
func looksSecret(name string) bool {
	return secretWord.MatchString(name) && !notSecretSuffix.MatchString(name)
}

// placeholder matches the values a committed file may give a secret-named
// variable: REPLACE_WITH_... placeholders and the fixed demo credentials of
// compose.demo.yaml, which only ever reach the local Bedrock emulator.
var placeholder = regexp.MustCompile(`^(REPLACE_WITH_[A-Z_]+|demo|demo-key)$`)

// awsAccessKeyID matches real AWS access key ids (long-term and temporary).
var awsAccessKeyID = regexp.MustCompile(`\b(AKIA|ASIA|A3T[A-Z0-9])[A-Z0-9]{16}\b`)

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	warnings []string // parser and linter warnings
}

// stage returns the stage called name.
func (d dockerfile) stage(name string) (instructions.Stage, bool) {
	for _, s := range d.stages {
		if s.Name == name {
			return s, true
		}
	}
	return instructions.Stage{}, false
}

// parseDockerfile parses a Dockerfile with BuildKit's own parser and
// instruction decoder, so the test reads it exactly as `docker build` does.
func parseDockerfile(r io.Reader) (dockerfile, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return dockerfile{}, fmt.Errorf("parse Dockerfile: %w", err)
	}
	var d dockerfile
	for _, w := range res.Warnings {
		d.warnings = append(d.warnings, w.Short)
	}
	lint := linter.New(&linter.Config{
		Warn: func(rule, _, _, msg string, _ []parser.Range) {
			d.warnings = append(d.warnings, rule+": "+msg)
		},
	})
	d.stages, d.metaArgs, err = instructions.Parse(res.AST, lint)
	if err != nil {
		return dockerfile{}, fmt.Errorf("decode Dockerfile instructions: %w", err)
	}
	return d, nil
}

func loadDockerfile(tb testing.TB, path string) dockerfile {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	d, err := parseDockerfile(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return d
}

// runtimeTarget describes a stage that becomes an image: the binary it runs
// and the builder stage and package that produce it.
type runtimeTarget struct {
	stage   string
	builder string
	pkg     string
	binary  string
	// needsCA: the binary calls HTTPS endpoints and needs the CA bundle.
	needsCA bool
}

// runtimeTargets are the images the Dockerfile defines; gateway is the last
// stage and so the default target.
func runtimeTargets() []runtimeTarget {
	return []runtimeTarget{
		{stage: "emulator", builder: "build-emulator", pkg: "./cmd/bedrock-emulator", binary: "bedrock-emulator"},
		{stage: "canary", builder: "build-canary", pkg: "./cmd/canary", binary: "canary", needsCA: true},
		{stage: "lambda", builder: "build-lambda", pkg: "./cmd/gateway", binary: "bootstrap", needsCA: true},
		{stage: "gateway", builder: "build-gateway", pkg: "./cmd/gateway", binary: "gateway", needsCA: true},
	}
}

// runtimeStageProblems lists the ways stage breaks the container contract
// for an image that runs binary: a minimal static base, nothing but the
// binary and the CA bundle copied from builder stages, a numeric non-root
// user and the binary as entrypoint.
func runtimeStageProblems(stage instructions.Stage, binary string) []string {
	var problems []string
	if stage.BaseName != "scratch" && !strings.HasPrefix(stage.BaseName, "gcr.io/distroless/static") {
		problems = append(problems, fmt.Sprintf("base %q is not scratch or distroless static", stage.BaseName))
	}
	allowed := []string{caBundle, "/out/" + binary}
	var user string
	var entrypoint []string
	for _, cmd := range stage.Commands {
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From == "" {
				problems = append(problems, fmt.Sprintf("%q copies from the build context", c.String()))
			}
			for _, src := range c.SourcePaths {
				if !slices.Contains(allowed, src) {
					problems = append(problems, fmt.Sprintf("%q copies %s, not the binary or the CA bundle", c.String(), src))
				}
			}
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			entrypoint = c.CmdLine
			if c.PrependShell {
				problems = append(problems, "ENTRYPOINT in shell form needs a shell")
			}
		case *instructions.EnvCommand, *instructions.ExposeCommand, *instructions.HealthCheckCommand,
			*instructions.CmdCommand, *instructions.LabelCommand, *instructions.StopSignalCommand:
		default:
			problems = append(problems, fmt.Sprintf("instruction %q does not belong in a runtime stage", cmd.Name()))
		}
	}
	if p := userProblem(user); p != "" {
		problems = append(problems, p)
	}
	if want := []string{"/" + binary}; !slices.Equal(entrypoint, want) {
		problems = append(problems, fmt.Sprintf("ENTRYPOINT %q, want %q", entrypoint, want))
	}
	return problems
}

// userProblem says what is wrong with a USER value, or "" if it names a
// numeric non-root uid (and gid): a scratch image has no /etc/passwd, and
// Kubernetes' runAsNonRoot can only verify a numeric user.
func userProblem(user string) string {
	if user == "" {
		return "no USER: the image runs as root"
	}
	uid, gid, hasGID := strings.Cut(user, ":")
	ids := []string{uid}
	if hasGID {
		ids = append(ids, gid)
	}
	for _, id := range ids {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return fmt.Sprintf("USER %q is not numeric", user)
		}
		if n == 0 {
			return fmt.Sprintf("USER %q is root", user)
		}
	}
	return ""
}

// secretProblems lists ARG and ENV instructions that give a secret-named
// variable a value: build arguments and image environment are readable by
// anyone who can pull the image.
func secretProblems(d dockerfile) []string {
	var problems []string
	check := func(where, name string, value *string) {
		if looksSecret(name) && value != nil && *value != "" {
			problems = append(problems, fmt.Sprintf("%s sets secret-looking %s", where, name))
		}
	}
	for _, a := range d.metaArgs {
		for _, kv := range a.Args {
			check("global ARG", kv.Key, kv.Value)
		}
	}
	for i, s := range d.stages {
		stage := s.Name
		if stage == "" {
			stage = strconv.Itoa(i)
		}
		for _, cmd := range s.Commands {
			switch c := cmd.(type) {
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					check("stage "+stage+" ARG", kv.Key, kv.Value)
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					check("stage "+stage+" ENV", kv.Key, &kv.Value)
				}
			}
		}
	}
	return problems
}

// buildProblems lists what is missing from the go build in a builder stage:
// a static, reproducible, cross-compiled, version-stamped binary at
// /out/<binary>.
func buildProblems(stage instructions.Stage, pkg, binary string) []string {
	var run string
	args := map[string]bool{}
	for _, cmd := range stage.Commands {
		switch c := cmd.(type) {
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "go build") {
				run = line
			}
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				args[kv.Key] = true
			}
		}
	}
	if run == "" {
		return []string{"no RUN with go build"}
	}
	var problems []string
	fields := strings.Fields(run)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH", pkg} {
		if !slices.Contains(fields, want) {
			problems = append(problems, fmt.Sprintf("go build lacks %s", want))
		}
	}
	for _, want := range []string{"-X main.version=$VERSION", "-o /out/" + binary + " "} {
		if !strings.Contains(run+" ", want) {
			problems = append(problems, fmt.Sprintf("go build lacks %q", want))
		}
	}
	for _, arg := range []string{"TARGETOS", "TARGETARCH", "VERSION"} {
		if !args[arg] {
			problems = append(problems, fmt.Sprintf("stage does not declare ARG %s", arg))
		}
	}
	return problems
}

func TestDockerfileParsesWithoutWarnings(t *testing.T) {
	d := loadDockerfile(t, dockerfilePath)
	for _, w := range d.warnings {
		t.Errorf("warning: %s", w)
	}
	if len(d.stages) < 2 {
		t.Fatalf("got %d stages, want a multi-stage build", len(d.stages))
	}
	if got := d.stages[len(d.stages)-1].Name; got != "gateway" {
		t.Errorf("last stage (the default target) is %q, want gateway", got)
	}
}

func TestDockerfileRuntimeStages(t *testing.T) {
	d := loadDockerfile(t, dockerfilePath)
	for _, tt := range runtimeTargets() {
		t.Run(tt.stage, func(t *testing.T) {
			stage, ok := d.stage(tt.stage)
			if !ok {
				t.Fatalf("no stage %q", tt.stage)
			}
			for _, p := range runtimeStageProblems(stage, tt.binary) {
				t.Error(p)
			}
			var sources []string
			for _, cmd := range stage.Commands {
				if c, ok := cmd.(*instructions.CopyCommand); ok {
					sources = append(sources, c.From+":"+strings.Join(c.SourcePaths, ","))
				}
			}
			want := []string{tt.builder + ":/out/" + tt.binary}
			if tt.needsCA {
				want = append([]string{"build:" + caBundle}, want...)
			}
			if !slices.Equal(sources, want) {
				t.Errorf("copies %q, want %q", sources, want)
			}
		})
	}
}

func TestDockerfileGatewayStage(t *testing.T) {
	d := loadDockerfile(t, dockerfilePath)
	stage, ok := d.stage("gateway")
	if !ok {
		t.Fatal("no gateway stage")
	}
	var health []string
	var ports []string
	env := map[string]string{}
	for _, cmd := range stage.Commands {
		switch c := cmd.(type) {
		case *instructions.HealthCheckCommand:
			health = c.Health.Test
		case *instructions.ExposeCommand:
			ports = append(ports, c.Ports...)
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		}
	}
	if want := []string{"CMD", "/gateway", "healthcheck"}; !slices.Equal(health, want) {
		t.Errorf("HEALTHCHECK %q, want %q (the binary's subcommand; the image has no curl)", health, want)
	}
	if !slices.Equal(ports, []string{"8080"}) {
		t.Errorf("EXPOSE %q, want only 8080", ports)
	}
	if got := env["METRICS_ADDR"]; got != ":9090" {
		t.Errorf("ENV METRICS_ADDR=%q, want :9090 (loopback cannot be scraped from outside the container)", got)
	}
}

func TestDockerfileBuildStages(t *testing.T) {
	d := loadDockerfile(t, dockerfilePath)
	base, ok := d.stage("build")
	if !ok {
		t.Fatal("no build stage")
	}
	if base.Platform != "$BUILDPLATFORM" {
		t.Errorf("build stage platform %q, want $BUILDPLATFORM (cross-compile natively)", base.Platform)
	}
	if !strings.HasPrefix(base.BaseName, "golang:1.26") {
		t.Errorf("build stage base %q, want golang:1.26", base.BaseName)
	}
	for _, tt := range runtimeTargets() {
		t.Run(tt.builder, func(t *testing.T) {
			stage, ok := d.stage(tt.builder)
			if !ok {
				t.Fatalf("no stage %q", tt.builder)
			}
			if stage.BaseName != "build" {
				t.Errorf("%s is based on %q, want build", tt.builder, stage.BaseName)
			}
			for _, p := range buildProblems(stage, tt.pkg, tt.binary) {
				t.Error(p)
			}
		})
	}
}

func TestDockerfileHasNoSecrets(t *testing.T) {
	d := loadDockerfile(t, dockerfilePath)
	for _, p := range secretProblems(d) {
		t.Error(p)
	}
}

// TestContractChecksCatchInsecureDockerfile shows that the checks above fail
// on a Dockerfile that breaks each rule.
func TestContractChecksCatchInsecureDockerfile(t *testing.T) {
	d := loadDockerfile(t, "testdata/Dockerfile.insecure")
	final := d.stages[len(d.stages)-1]
	got := append(runtimeStageProblems(final, "gateway"), secretProblems(d)...)
	if build, ok := d.stage("build"); ok {
		got = append(got, buildProblems(build, "./cmd/gateway", "gateway")...)
	}
	want := []string{
		`base "debian:bookworm-slim" is not scratch`,
		`copies from the build context`,
		`copies /src/config.json, not the binary`,
		`instruction "RUN" does not belong`,
		`USER "root" is not numeric`,
		`ENTRYPOINT in shell form`,
		`global ARG sets secret-looking GITHUB_TOKEN`,
		`stage build ARG sets secret-looking NPM_PASSWORD`,
		`stage 1 ENV sets secret-looking AWS_SECRET_ACCESS_KEY`,
		`go build lacks CGO_ENABLED=0`,
		`go build lacks -trimpath`,
		`go build lacks GOARCH=$TARGETARCH`,
		`stage does not declare ARG TARGETARCH`,
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("no problem reported containing %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestUserProblem(t *testing.T) {
	tests := []struct {
		user string
		ok   bool
	}{
		{"65532:65532", true},
		{"65532", true},
		{"1000:0", false},
		{"", false},
		{"0", false},
		{"root", false},
		{"nonroot:nonroot", false},
		{"65532:nogroup", false},
	}
	for _, tt := range tests {
		if got := userProblem(tt.user); (got == "") != tt.ok {
			t.Errorf("userProblem(%q) = %q, want ok=%v", tt.user, got, tt.ok)
		}
	}
}

func TestDockerignore(t *testing.T) {
	f, err := os.Open(dockerignorePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf("compile .dockerignore: %v", err)
	}
	tests := []struct {
		path    string
		ignored bool
	}{
		{".git/HEAD", true},
		{"gateway", true}, // go build ./cmd/gateway output
		{"bin/gateway", true},
		{"bootstrap", true},
		{"function.zip", true},
		{"bench/out/run.txt", true},
		{"gateway.env", true},
		{"deploy/kubernetes/deployment.yaml", true},
		{"go.mod", false},
		{"go.sum", false},
		{"cmd/gateway/main.go", false},
		{"cmd/canary/main.go", false},
		{"cmd/bedrock-emulator/main.go", false},
		{"canary/probe.go", false},
		{"app/server/server.go", false},
		{"app/bedrock/testdata/models.json", false},
	}
	for _, tt := range tests {
		got, err := pm.MatchesOrParentMatches(tt.path)
		if err != nil {
			t.Fatalf("match %s: %v", tt.path, err)
		}
		if got != tt.ignored {
			t.Errorf("%s: ignored=%v, want %v", tt.path, got, tt.ignored)
		}
	}
}

// composeFile holds the parts of a compose file the tests check.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image           string            `yaml:"image"`
	Build           composeBuild      `yaml:"build"`
	Command         []string          `yaml:"command"`
	EnvFile         string            `yaml:"env_file"`
	Environment     map[string]string `yaml:"environment"`
	Ports           []string          `yaml:"ports"`
	ReadOnly        bool              `yaml:"read_only"`
	User            string            `yaml:"user"`
	CapDrop         []string          `yaml:"cap_drop"`
	Restart         string            `yaml:"restart"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	Healthcheck     struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

type composeBuild struct {
	Context string            `yaml:"context"`
	Target  string            `yaml:"target"`
	Args    map[string]string `yaml:"args"`
}

func loadCompose(tb testing.TB, path string) composeFile {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		tb.Fatalf("parse %s: %v", path, err)
	}
	return c
}

// checkComposeService asserts what every compose service shares: built from
// an existing Dockerfile target, hardened, and no secret in the file.
func checkComposeService(tb testing.TB, d dockerfile, name string, s composeService) {
	tb.Helper()
	if _, ok := d.stage(s.Build.Target); !ok {
		tb.Errorf("%s: build target %q is not a Dockerfile stage", name, s.Build.Target)
	}
	if s.Build.Context != "." {
		tb.Errorf("%s: build context %q, want .", name, s.Build.Context)
	}
	if !s.ReadOnly {
		tb.Errorf("%s: read_only is false", name)
	}
	if p := userProblem(s.User); p != "" {
		tb.Errorf("%s: %s", name, p)
	}
	if !slices.Equal(s.CapDrop, []string{"ALL"}) {
		tb.Errorf("%s: cap_drop %q, want [ALL]", name, s.CapDrop)
	}
	for k, v := range s.Environment {
		if looksSecret(k) && !placeholder.MatchString(v) {
			tb.Errorf("%s: environment %s holds a literal value; secrets belong in gateway.env", name, k)
		}
	}
	for k, v := range s.Build.Args {
		if looksSecret(k) {
			tb.Errorf("%s: build arg %s=%q looks secret", name, k, v)
		}
	}
}

func TestCompose(t *testing.T) {
	d := loadDockerfile(t, dockerfilePath)
	c := loadCompose(t, composePath)
	gw, ok := c.Services["gateway"]
	if !ok {
		t.Fatalf("no gateway service; got %v", c.Services)
	}
	checkComposeService(t, d, "gateway", gw)
	if gw.Build.Target != "gateway" {
		t.Errorf("build target %q, want gateway", gw.Build.Target)
	}
	if gw.EnvFile != "gateway.env" {
		t.Errorf("env_file %q, want gateway.env", gw.EnvFile)
	}
	if !slices.Contains(gw.Ports, "8080:8080") {
		t.Errorf("ports %q, want 8080:8080", gw.Ports)
	}
	if gw.Restart != "unless-stopped" {
		t.Errorf("restart %q, want unless-stopped", gw.Restart)
	}
	if want := []string{"CMD", "/gateway", "healthcheck"}; !slices.Equal(gw.Healthcheck.Test, want) {
		t.Errorf("healthcheck %q, want %q", gw.Healthcheck.Test, want)
	}
	grace, err := time.ParseDuration(gw.StopGracePeriod)
	if err != nil {
		t.Fatalf("stop_grace_period: %v", err)
	}
	if budget := defaultDrainDelay + defaultShutdownTimeout; grace <= budget {
		t.Errorf("stop_grace_period %v, want more than drain + shutdown timeout %v", grace, budget)
	}
	if len(c.Services) != 1 {
		t.Errorf("got %d services, want only gateway", len(c.Services))
	}
}

func TestComposeDemo(t *testing.T) {
	d := loadDockerfile(t, dockerfilePath)
	c := loadCompose(t, composeDemoPath)
	for name, s := range c.Services {
		checkComposeService(t, d, name, s)
		if s.EnvFile != "" {
			t.Errorf("%s: env_file %q; the demo must run without AWS credentials", name, s.EnvFile)
		}
	}
	em, ok := c.Services["emulator"]
	if !ok {
		t.Fatal("no emulator service")
	}
	if want := []string{"-addr", "0.0.0.0:4000"}; !slices.Equal(em.Command, want) {
		t.Errorf("emulator command %q, want %q", em.Command, want)
	}
	gw := c.Services["gateway"]
	for _, k := range []string{"AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_BEDROCK"} {
		if got := gw.Environment[k]; got != "http://emulator:4000" {
			t.Errorf("gateway %s=%q, want http://emulator:4000", k, got)
		}
	}
	if gw.Environment["API_KEY"] == "" {
		t.Error("gateway has no API_KEY; the demo needs a known key")
	}
}

// readEnvFile reads KEY=VALUE lines, skipping blank lines and comments.
func readEnvFile(tb testing.TB, path string) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			tb.Errorf("%s:%d: %q is not KEY=VALUE", path, n, line)
			continue
		}
		env[k] = v
	}
	return env
}

func TestEnvExampleHoldsOnlyPlaceholders(t *testing.T) {
	env := readEnvFile(t, envExamplePath)
	for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SECRET_ARN_PARAMETER"} {
		if _, ok := env[k]; !ok {
			t.Errorf("%s is not documented in %s", k, envExamplePath)
		}
	}
	for k, v := range env {
		if looksSecret(k) && !strings.HasPrefix(v, "REPLACE_WITH_") {
			t.Errorf("%s=%q is not a REPLACE_WITH_ placeholder", k, v)
		}
	}
	ignore, err := os.ReadFile(gitignorePath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(string(ignore)), "gateway.env") {
		t.Error(".gitignore does not ignore gateway.env")
	}
}

// TestNoAccessKeyIDs scans every deployment artefact for something shaped
// like a real AWS access key id.
func TestNoAccessKeyIDs(t *testing.T) {
	paths := []string{dockerfilePath, dockerignorePath, composePath, composeDemoPath, envExamplePath}
	for _, dir := range []string{kubernetesDir, rolesAnywhereDir} {
		k8s, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, k8s...)
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if m := awsAccessKeyID.Find(b); m != nil {
			t.Errorf("%s holds an AWS access key id %q", path, m)
		}
	}
	if !awsAccessKeyID.MatchString("AKIAIOSFODNN7EXAMPLE") {
		t.Error("the pattern misses AWS's documented example key id")
	}
}
