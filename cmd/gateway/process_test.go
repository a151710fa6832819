package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/internal/testbin"
)

func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// gatewayProcess is a running gateway binary.
type gatewayProcess struct {
	cmd  *exec.Cmd
	base string
	done chan error
	logs *strings.Builder
}

func startGateway(tb testing.TB, cmd *exec.Cmd, port string, env ...string) *gatewayProcess {
	tb.Helper()
	cmd.Env = append([]string{"HOST=127.0.0.1", "PORT=" + port, "API_KEY=sk-process-test", "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true", "LOG_FORMAT=text",
		"GORACE=" + os.Getenv("GORACE")}, env...)
	logs := &strings.Builder{}
	var mu sync.Mutex
	cmd.Stdout = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &gatewayProcess{cmd: cmd, base: "http://127.0.0.1:" + port, done: make(chan error, 1), logs: logs}
	go func() { p.done <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get(p.base + "/health"); err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gateway did not start; output:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (p *gatewayProcess) stream(tb testing.TB) (*bufio.Reader, io.Closer) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.base+"/api/v1/chat/completions",
		strings.NewReader(`{"stream":true,"messages":[{"role":"user","content":"talk"}]}`))
	req.Header.Set("Authorization", "Bearer sk-process-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != 200 {
		tb.Fatalf("stream status %d", resp.StatusCode)
	}
	return bufio.NewReader(resp.Body), resp.Body
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (p *gatewayProcess) wait(tb testing.TB) {
	tb.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			tb.Fatalf("gateway exited with %v; output:\n%s", err, p.logs.String())
		}
	case <-time.After(20 * time.Second):
		tb.Fatalf("gateway did not exit; output:\n%s", p.logs.String())
	}
}

func slowEmulator(tb testing.TB, chunks int, delay time.Duration) *bedrocktest.Server {
	emu := bedrocktest.NewServer(tb)
	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: strings.Split(strings.Repeat("w ", chunks), " ")[:chunks], ChunkDelay: delay}
	})
	return emu
}

func TestShutdownDrainsInFlightStreams(t *testing.T) {
	bin := testbin.Path(t, testbin.Gateway)
	emu := slowEmulator(t, 15, 100*time.Millisecond)
	port := freePort(t)
	p := startGateway(t, exec.Command(bin), port, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+emu.URL,
		"SHUTDOWN_DRAIN_DELAY=500ms", "SHUTDOWN_TIMEOUT=10s")
	// /health answers before the model catalogue's first load ends; /ready
	// after it, which on a busy machine may take a moment.
	waitUntil(t, "/ready to answer 200 before shutdown", func() bool { return status(p.base+"/ready") == 200 })
	r, body := p.stream(t)
	defer body.Close()
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During the drain delay: not ready, still alive, still serving.
	waitUntil(t, "readiness to turn 503", func() bool { return status(p.base+"/ready") == 503 })
	if got := status(p.base + "/health"); got != 200 {
		t.Errorf("/health during the drain: %d, want 200", got)
	}
	// After the delay the listener is closed: new connections are refused.
	waitUntil(t, "the listener to close", func() bool { return status(p.base+"/health") == 0 })
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("the in-flight stream did not complete:\n%s", rest)
	}
	p.wait(t)
}

func TestShutdownDeadlineEndsStreamsWithAnError(t *testing.T) {
	bin := testbin.Path(t, testbin.Gateway)
	emu := slowEmulator(t, 100, 100*time.Millisecond) // 10 s: longer than the timeout
	p := startGateway(t, exec.Command(bin), freePort(t), "AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+emu.URL,
		"SHUTDOWN_DRAIN_DELAY=0s", "SHUTDOWN_TIMEOUT=1500ms")
	r, body := p.stream(t)
	defer body.Close()
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(r)
	events := strings.Split(strings.TrimSpace(string(rest)), "\n\n")
	last := events[len(events)-1]
	if !strings.Contains(last, `"code":"server_shutting_down"`) {
		t.Errorf("last event %q, want the shutdown error", last)
	}
	p.wait(t)
	if time.Since(start) > 8*time.Second {
		t.Errorf("shutdown took %v despite a 1.5 s timeout", time.Since(start))
	}
	waitUntil(t, "the emulator to see the stream cancelled", func() bool { return emu.Cancellations() == 1 })
}

// TestEmptyRoot runs the binary in a root holding only itself and the CA
// bundle, as in the scratch container image. The shipped build is static;
// the race build make test runs (testbin.Race) links the C library the
// race runtime needs, so that library and its loader join it there.
func TestEmptyRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chroot needs root")
	}
	bin := testbin.Path(t, testbin.Gateway)
	root := t.TempDir()
	mustCopy(t, bin, filepath.Join(root, "gateway"), 0o755)
	mustCopy(t, "/etc/ssl/certs/ca-certificates.crt", filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"), 0o644)
	want := 2
	if libs := raceLibraries(t, bin); len(libs) > 0 {
		tops := map[string]bool{}
		for _, l := range libs {
			mustCopy(t, l, filepath.Join(root, l), 0o755)
			tops[strings.Split(strings.TrimPrefix(l, "/"), "/")[0]] = true
		}
		want += len(tops)
		t.Logf("race build: %v in the root too", libs)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != want {
		t.Fatalf("root holds %d entries, want %d", len(entries), want)
	}
	cmd := exec.Command("/gateway")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	cmd.Dir = "/"
	port := freePort(t)
	p := startGateway(t, cmd, port, "SHUTDOWN_DRAIN_DELAY=0s", "AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt")
	if got := status(p.base + "/health"); got != 200 {
		t.Errorf("/health in the empty root: %d", got)
	}
	hc := exec.Command("/gateway", "healthcheck")
	hc.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	hc.Env = p.cmd.Env // a container health check runs with the container's environment
	if out, err := hc.CombinedOutput(); err != nil {
		t.Errorf("healthcheck subcommand: %v %s", err, out)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t)
}

// TestHealthcheckReadsConfig checks the subcommand finds the server through
// loadConfig's PORT and refuses a configuration the server would refuse.
func TestHealthcheckReadsConfig(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	if err := healthcheck(context.Background(), nil, env("PORT", port, "API_KEY", "k")); err != nil {
		t.Errorf("healthcheck on PORT=%s: %v", port, err)
	}
	if err := healthcheck(context.Background(), nil, env("PORT", "eighty", "API_KEY", "k")); err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Errorf("PORT=eighty: got %v, want an error naming PORT", err)
	}
}

func TestHealthcheckFailsWithoutServer(t *testing.T) {
	err := run(context.Background(), []string{"gateway", "healthcheck", "-url", "http://127.0.0.1:" + freePort(t) + "/health"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("healthcheck against a closed port succeeded")
	}
}

func mustCopy(tb testing.TB, src, dst string, mode os.FileMode) {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		tb.Fatal(err)
	}
}

func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var _ = errors.New

// raceLibraries returns the shared libraries (with the dynamic loader) a
// race build of the gateway needs, and fails the test when a build that is
// not a race build is not static: the shipped one runs in a scratch image.
func raceLibraries(tb testing.TB, bin string) []string {
	tb.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	race := false
	for _, s := range info.Settings {
		race = race || s.Key == "-race" && s.Value == "true"
	}
	f, err := elf.Open(bin)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	if !race {
		if dynamic {
			tb.Fatalf("%s is dynamically linked: the shipped build must be static (CGO_ENABLED=0)", bin)
		}
		return nil
	}
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		tb.Fatalf("ldd %s: %v", bin, err)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, field := range strings.Fields(line) {
			if strings.HasPrefix(field, "/") {
				libs = append(libs, field)
			}
		}
	}
	return libs
}
