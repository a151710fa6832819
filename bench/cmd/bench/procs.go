package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc CPU times; 100 on every
// mainstream Linux build (reading it needs cgo's sysconf).
const clockTicks = 100

// binaries are the programs a run builds.
type binaries struct {
	gateway, emulator, loadgen, proxy string
	// rie and bootstrap are the Lambda pieces; empty unless built, and
	// lambdaErr says why they could not be.
	rie, bootstrap string
	lambdaErr      error
	buildTime      time.Duration
}

// build compiles the server binaries (as `make build` does: static,
// stripped) and, when lambda is set, the Lambda bootstrap and the Runtime
// Interface Emulator, into dir. The gateway's binaries build in its module
// (repo), the load generator and the bare proxy in this one (repo/bench).
// With prebuilt set, it builds nothing and uses the binaries there.
func build(ctx context.Context, repo, dir, prebuilt string, lambda bool) (*binaries, error) {
	if prebuilt != "" {
		return usePrebuilt(prebuilt, lambda)
	}
	start := time.Now()
	b := &binaries{}
	benchModule := filepath.Join(repo, "bench")
	jobs := []struct {
		out    *string
		name   string
		module string
		args   []string
	}{
		// The tags and flags of `make build` and `make build-lambda`.
		{&b.gateway, "gateway", repo, []string{"-tags", "nomsgpack", "-trimpath", "-ldflags", "-s -w -X main.version=bench", "./cmd/gateway"}},
		{&b.emulator, "bedrock-emulator", repo, []string{"-trimpath", "-ldflags", "-s -w", "./cmd/bedrock-emulator"}},
		{&b.loadgen, "loadgen", benchModule, []string{"-trimpath", "-ldflags", "-s -w", "./cmd/loadgen"}},
		{&b.proxy, "bareproxy", benchModule, []string{"-trimpath", "-ldflags", "-s -w", "./cmd/bareproxy"}},
	}
	for _, j := range jobs {
		*j.out = filepath.Join(dir, j.name)
		if err := goBuild(ctx, j.module, *j.out, nil, j.args...); err != nil {
			return nil, err
		}
	}
	if lambda {
		b.rie = filepath.Join(dir, "aws-lambda-rie")
		b.bootstrap = filepath.Join(dir, "bootstrap")
		b.lambdaErr = errors.Join(
			goBuild(ctx, repo, b.rie, nil, "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"),
			goBuild(ctx, repo, b.bootstrap, nil, "-tags", "lambda,lambda.norpc,nomsgpack", "-trimpath", "-ldflags", "-s -w -X main.version=bench", "./cmd/gateway"))
	}
	b.buildTime = time.Since(start)
	return b, nil
}

// usePrebuilt finds the binaries in dir, under the names `go run
// ./internal/testbin/build` gives them.
func usePrebuilt(dir string, lambda bool) (*binaries, error) {
	b := &binaries{gateway: filepath.Join(dir, "gateway"), emulator: filepath.Join(dir, "bedrock-emulator"),
		loadgen: filepath.Join(dir, "loadgen"), proxy: filepath.Join(dir, "bareproxy")}
	for _, p := range []string{b.gateway, b.emulator, b.loadgen, b.proxy} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("prebuilt binaries: %w", err)
		}
	}
	if lambda {
		b.rie, b.bootstrap = filepath.Join(dir, "aws-lambda-rie"), filepath.Join(dir, "bootstrap")
		for _, p := range []string{b.rie, b.bootstrap} {
			if _, err := os.Stat(p); err != nil {
				b.lambdaErr = errors.Join(b.lambdaErr, fmt.Errorf("prebuilt binaries: %w", err))
			}
		}
	}
	return b, nil
}

func goBuild(ctx context.Context, repo, out string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", out}, args...)...)
	cmd.Dir = repo
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(args, " "), err, msg)
	}
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// proc is a process the harness started; stop ends it.
type proc struct {
	name    string
	cmd     *exec.Cmd
	out     *capBuffer
	done    chan struct{}
	started time.Time
	group   bool // signal the process group this process leads
}

// capBuffer keeps the first 1 MiB a process writes.
type capBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := 1<<20 - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Len is how much has been kept so far.
func (c *capBuffer) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.Len()
}

// Since returns what was kept after offset off.
func (c *capBuffer) Since(off int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if off > c.b.Len() {
		return ""
	}
	return string(c.b.Bytes()[off:])
}

func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// startProc runs bin with args and exactly env (nothing inherited).
func startProc(name, bin string, args, env []string) (*proc, error) {
	return startIn(name, "", bin, args, env, false)
}

// startIn runs bin in dir; with group set it leads a new process group,
// which stop and kill signal as a whole (for RIE and the bootstrap it
// starts).
func startIn(name, dir, bin string, args, env []string, group bool) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	if group {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	out := &capBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	p := &proc{name: name, cmd: cmd, out: out, done: make(chan struct{}), group: group}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait() // the exit status of a process we stop tells nothing
		close(p.done)
	}()
	return p, nil
}

// waitOutput waits until the process prints prefix and returns the rest of
// that line.
func (p *proc) waitOutput(prefix string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("%s exited before printing %q; output:\n%s", p.name, prefix, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s did not print %q within %s; output:\n%s", p.name, prefix, timeout, p.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop sends SIGTERM, waits up to 5 s, then kills. Only this process is
// signalled, by its pid.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.kill()
	}
}

// kill ends the process at once (start-up runs, where a drain is noise).
func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) signal(sig syscall.Signal) {
	if p.group {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		return
	}
	_ = p.cmd.Process.Signal(sig)
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// cpuNanos is the CPU time of all the process's threads in nanoseconds,
// from /proc/<pid>/task/*/schedstat (nanosecond resolution, where
// /proc/<pid>/stat counts 10 ms ticks); it falls back to stat's ticks.
func cpuNanos(pid int) (int64, error) {
	dirs, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err == nil {
		var sum int64
		for _, d := range dirs {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, d.Name()))
			if err != nil {
				continue // the thread ended
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				continue
			}
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				sum += n
			}
		}
		if sum > 0 {
			return sum, nil
		}
	}
	t, err := cpuTicks(pid)
	return t * int64(time.Second/clockTicks), err
}

// cpuTicks is the process's user+system CPU time in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	return parseStatTicks(string(b))
}

// parseStatTicks returns utime+stime (fields 14 and 15) of a
// /proc/<pid>/stat line; the command name in parentheses may hold spaces.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("stat has %d fields after the name", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse stat times: %w", err)
	}
	return u + s, nil
}

// statusKB reads a "Name:   123 kB" field of /proc/<pid>/status.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of %d: %w", pid, err)
	}
	return parseStatusKB(string(b), field)
}

func parseStatusKB(status, field string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s: %w", field, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no %s in status", field)
}

// resetPeak resets VmHWM to the current RSS (clear_refs 5), so the next
// reading is the peak of what follows.
func resetPeak(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak RSS of %d: %w", pid, err)
	}
	return nil
}

// busyTicks is the whole machine's non-idle CPU time from /proc/stat.
func busyTicks() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	return parseBusyTicks(string(b))
}

// parseBusyTicks sums user, nice, system, irq, softirq and steal of the
// aggregate "cpu" line (guest time is already inside user).
func parseBusyTicks(stat string) (int64, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected first line of /proc/stat: %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/stat: %w", err)
		}
		busy += n
	}
	return busy, nil
}

// loadavg1 is the 1-minute load average.
func loadavg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// freeAddr returns a free 127.0.0.1 address for a child to listen on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// segment is one mapping of a process's executable: its permissions
// (r-xp: code, r--p: read-only data, rw-p: data) and, in MiB, its size and
// how much of it is resident.
type segment struct {
	Perms         string
	SizeMB, RssMB float64
}

// binarySegments reads pid's mappings of its own executable from
// /proc/<pid>/smaps.
func binarySegments(pid int) ([]segment, error) {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, fmt.Errorf("executable of %d: %w", pid, err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, fmt.Errorf("read smaps of %d: %w", pid, err)
	}
	return parseSegments(string(b), exe), nil
}

// parseSegments picks the mappings of file exe out of smaps text.
func parseSegments(smaps, exe string) []segment {
	var segs []segment
	cur := -1
	for _, line := range strings.Split(smaps, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && len(f[1]) == 4 { // a mapping's header
			cur = -1
			if len(f) == 6 && f[5] == exe {
				segs = append(segs, segment{Perms: f[1]})
				cur = len(segs) - 1
			}
			continue
		}
		if cur < 0 || len(f) != 3 || f[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "Size:":
			segs[cur].SizeMB = kb / 1024
		case "Rss:":
			segs[cur].RssMB = kb / 1024
		}
	}
	return segs
}
