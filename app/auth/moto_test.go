package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestMain stops the shared moto_server, if a test started one.
func TestMain(m *testing.M) {
	code := m.Run()
	sharedMoto.stop()
	os.Exit(code)
}

// sharedMoto is the one moto_server of this test binary, started by the
// first test that needs it (so unit tests alone never pay for it).
var sharedMoto motoProcess

type motoProcess struct {
	once sync.Once
	url  string
	cmd  *exec.Cmd
	out  bytes.Buffer
	err  error
}

// startMoto returns the URL of the shared moto_server. Without moto_server
// the test fails when CI=true and is skipped otherwise.
func startMoto(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("moto_server is not on PATH and CI=true: run `make tools` (pip install 'moto[server]')")
		}
		tb.Skip("moto_server is not on PATH; `make tools` installs it (pip install 'moto[server]')")
	}
	sharedMoto.once.Do(func() { sharedMoto.err = sharedMoto.start(path) })
	if sharedMoto.err != nil {
		tb.Fatalf("start moto_server: %v", sharedMoto.err)
	}
	return sharedMoto.url
}

func (m *motoProcess) start(path string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	m.cmd = exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Stdout, m.cmd.Stderr = &m.out, &m.out
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // kill the pyenv shim's children too
	if err := m.cmd.Start(); err != nil {
		return err
	}
	m.url = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(m.url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.stop()
	return fmt.Errorf("moto_server did not answer on %s within 30s; output:\n%s", m.url, m.out.String())
}

func (m *motoProcess) stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	_ = m.cmd.Wait()
	m.cmd = nil
}

// awsConfig is a config for endpoint with dummy credentials and no retries,
// built by hand so no environment (AWS_CA_BUNDLE, profiles) applies.
func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
		HTTPClient:       awshttp.NewBuildableClient(),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(endpoint),
	}
}

// clients are real SDK clients pointed at one endpoint through BaseEndpoint.
type clients struct {
	ssm     *ssm.Client
	secrets *secretsmanager.Client
	kms     *kms.Client
}

func newClients(endpoint string) clients {
	cfg := awsConfig(endpoint)
	return clients{
		ssm:     ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		secrets: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		kms:     kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(endpoint) }),
	}
}

// fixture is the on-prem design in moto: a KMS key, a secret encrypted
// with it, and an SSM parameter holding the secret's ARN.
type fixture struct {
	c         clients
	kmsKeyID  string
	secretARN string
	paramName string // holds secretARN
}

// uniqueName makes moto resource names that do not clash between tests
// sharing one moto_server.
func uniqueName(tb testing.TB, suffix string) string {
	tb.Helper()
	r := strings.NewReplacer("/", "-", " ", "-", "#", "-")
	return "gw-" + r.Replace(tb.Name()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + suffix
}

func newFixture(tb testing.TB, endpoint, secretValue string) fixture {
	tb.Helper()
	ctx := context.Background()
	f := fixture{c: newClients(endpoint)}
	key, err := f.c.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("gateway test key")})
	if err != nil {
		tb.Fatalf("kms CreateKey: %v", err)
	}
	f.kmsKeyID = aws.ToString(key.KeyMetadata.KeyId)
	sec, err := f.c.secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(uniqueName(tb, "-secret")),
		KmsKeyId:     aws.String(f.kmsKeyID),
		SecretString: aws.String(secretValue),
	})
	if err != nil {
		tb.Fatalf("secretsmanager CreateSecret: %v", err)
	}
	f.secretARN = aws.ToString(sec.ARN)
	f.paramName = uniqueName(tb, "-param")
	f.putParameter(tb, f.paramName, f.secretARN, ssmtypes.ParameterTypeString)
	return f
}

func (f fixture) putParameter(tb testing.TB, name, value string, typ ssmtypes.ParameterType) {
	tb.Helper()
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(true)}
	if typ == ssmtypes.ParameterTypeSecureString {
		in.KeyId = aws.String(f.kmsKeyID)
	}
	if _, err := f.c.ssm.PutParameter(context.Background(), in); err != nil {
		tb.Fatalf("ssm PutParameter %s: %v", name, err)
	}
}

// rotate stores a new version: AWSCURRENT moves to it, the old current
// becomes AWSPREVIOUS.
func (f fixture) rotate(tb testing.TB, value string) {
	tb.Helper()
	_, err := f.c.secrets.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(f.secretARN), SecretString: aws.String(value)})
	if err != nil {
		tb.Fatalf("secretsmanager PutSecretValue: %v", err)
	}
}

// countingProxy sits in front of moto, counts requests by X-Amz-Target and
// can be closed to make AWS unreachable.
type countingProxy struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
}

func newCountingProxy(tb testing.TB, target string) *countingProxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("parse %s: %v", target, err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &countingProxy{counts: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[r.Header.Get("X-Amz-Target")]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(p.Close)
	return p
}

func (p *countingProxy) count(target string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[target]
}

func (p *countingProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.counts)
}

// denyServer answers every call like AWS refusing it for lack of IAM
// permissions (awsJson1_1 error shape). moto does not enforce IAM.
func denyServer(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.Header().Set("X-Amzn-RequestId", "deny-0000")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/gateway is not authorized to perform: %s"}`, target)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}
