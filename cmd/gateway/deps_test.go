package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// builds are the two builds of the gateway, with the tags the Makefile
// gives them.
var builds = []struct {
	name, tags string
	// forbidden are import path prefixes this build must not link.
	forbidden []string
}{
	{"server", "nomsgpack", []string{
		"encoding/csv", "sigs.k8s.io/", "k8s.io/", "go.yaml.in/", "gopkg.in/yaml",
		"github.com/prometheus/prometheus", "github.com/openbedrock/gateway/app/metrics/emf",
		"github.com/openbedrock/gateway/cmd/costreport",
		"google.golang.org/grpc", "google.golang.org/genproto", "github.com/grpc-ecosystem/",
		"go.opentelemetry.io/otel/exporters/", "go.opentelemetry.io/proto/",
	}},
	{"lambda", "lambda,lambda.norpc,nomsgpack", []string{
		"encoding/csv", "sigs.k8s.io/", "k8s.io/", "go.yaml.in/", "gopkg.in/yaml",
		"github.com/prometheus/", "github.com/openbedrock/gateway/app/metrics/prom",
		"github.com/openbedrock/gateway/cmd/costreport",
		"google.golang.org/grpc", "google.golang.org/genproto", "github.com/grpc-ecosystem/",
		"go.opentelemetry.io/otel/exporters/", "go.opentelemetry.io/proto/",
	}},
}

// deps returns the packages a build of cmd/gateway links, each with its
// imports, from go list -deps.
func deps(tb testing.TB, tags string) map[string][]string {
	tb.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "list", "-deps", "-tags", tags,
		"-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", ".").Output()
	if err != nil {
		tb.Fatalf("go list -deps -tags %s: %v", tags, err)
	}
	m := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

// TestLeanBinaries checks what each build of the gateway links: the Lambda
// build no Prometheus code (it writes EMF lines), neither build the YAML,
// CSV and Prometheus-text code of the cost report, the heavy dependencies of
// the deploy tests, or the gRPC stack (the official OTLP exporters bring it;
// app/tracing exports OTLP over HTTP itself). gin's binding package brings
// its own YAML and TOML decoders (and gin and the AWS SDK bring XML); those
// stay, and nothing else may import them.
func TestLeanBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			pkgs := deps(t, b.tags)
			if _, ok := pkgs["github.com/openbedrock/gateway/app/server"]; !ok {
				t.Fatalf("go list found no app/server in the %s build: %d packages", b.name, len(pkgs))
			}
			for p := range pkgs {
				for _, f := range b.forbidden {
					if strings.HasPrefix(p, f) {
						t.Errorf("the %s build links %s", b.name, p)
					}
				}
			}
			for p, imports := range pkgs {
				if strings.HasPrefix(p, "github.com/gin-gonic/gin") || strings.HasPrefix(p, "github.com/goccy/go-yaml") ||
					strings.HasPrefix(p, "github.com/pelletier/go-toml") {
					continue
				}
				for _, imp := range imports {
					if strings.Contains(imp, "yaml") || strings.Contains(imp, "toml") {
						t.Errorf("the %s build: %s imports %s; only gin's binding may bring YAML or TOML", b.name, p, imp)
					}
				}
			}
		})
	}
}

// TestCostImportsOnlyStd keeps app/cost, which prices every request, free
// of the gateway's other packages and of third-party code.
func TestCostImportsOnlyStd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "list", "-f", "{{range .Imports}}{{.}} {{end}}", "../../app/cost").Output()
	if err != nil {
		t.Fatalf("go list app/cost: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			t.Errorf("app/cost imports %s; it imports only the standard library", imp)
		}
	}
}
