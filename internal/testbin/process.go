package testbin

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InvokePath is the one route the Runtime Interface Emulator serves.
const InvokePath = "/2015-03-31/functions/function/invocations"

// Process is a program a test started.
type Process struct {
	// Addr is the host:port it listens on.
	Addr string
	// InvokeURL is RIE's invocation endpoint; empty for other programs.
	InvokeURL string
	// Started is when it was started.
	Started time.Time
	// Pid is its process id, for reading /proc.
	Pid int

	mu  sync.Mutex
	out bytes.Buffer
}

// Write collects the output; Start makes it stdout and stderr.
func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output is what it wrote to stdout and stderr so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Start runs bin with args, in an empty working directory, with a clean
// AWS environment (no profile, no CA bundle, no instance metadata, test
// credentials, us-east-1) plus env. It waits until addr accepts a
// connection, without an HTTP request, so the test's first request is the
// first the program sees, and kills the process group when the test ends
// (logging the output if the test failed).
func Start(tb testing.TB, bin string, args []string, addr string, env ...string) *Process {
	tb.Helper()
	home := tb.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Dir = home
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"GORACE=" + os.Getenv("GORACE"), // make test's race builds: no sleep at exit
		"HOME=" + home,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
	}, env...)
	p := &Process{Addr: addr}
	cmd.Stdout, cmd.Stderr = p, p
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // RIE's bootstrap is its child
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", filepath.Base(bin), err)
	}
	p.Pid = cmd.Process.Pid
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if tb.Failed() {
			tb.Logf("%s output:\n%s", filepath.Base(bin), p.Output())
		}
	})
	// Generous: the machine may be busy building and testing other packages.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return p
		}
		select {
		case <-done:
			tb.Fatalf("%s exited; output:\n%s", filepath.Base(bin), p.Output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not listen on %s within 30s; output:\n%s", filepath.Base(bin), addr, p.Output())
		}
	}
}

// StartRIE runs the gateway's Lambda bootstrap under the Runtime Interface
// Emulator on 127.0.0.1, with Start's clean environment plus env. RIE
// starts the bootstrap at the first invocation, as Lambda does.
func StartRIE(tb testing.TB, env ...string) *Process {
	tb.Helper()
	return StartRIEWith(tb, Path(tb, Bootstrap), env...)
}

// StartRIEWith is StartRIE for a bootstrap the test built itself, such as
// the one the Dockerfile's lambda target holds.
func StartRIEWith(tb testing.TB, bootstrap string, env ...string) *Process {
	tb.Helper()
	rie := Path(tb, RIE)
	addr := LocalAddr(tb)
	p := Start(tb, rie, []string{
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", LocalAddr(tb), // the default 127.0.0.1:9001 would clash between tests
		bootstrap,
	}, addr, env...)
	p.InvokeURL = "http://" + addr + InvokePath
	return p
}

// LocalAddr returns 127.0.0.1:<a port that was free a moment ago>.
func LocalAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
