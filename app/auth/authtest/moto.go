// Package authtest runs moto_server, the Python AWS emulator, for tests of
// the API-key sources: SSM, Secrets Manager and KMS over real sockets on
// 127.0.0.1, reached through the real SDK clients. Like httptest, it is for
// tests only.
package authtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
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

// Find returns moto_server's path. Without it a test fails when CI=true
// (`make tools` installs it there); elsewhere ok is false and the caller
// skips or falls back.
func Find(tb testing.TB) (path string, ok bool) {
	tb.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("moto_server is not on PATH and CI=true: run `make tools` (pip install 'moto[server]')")
		}
		return "", false
	}
	return path, true
}

// Moto is a moto_server process listening on 127.0.0.1.
type Moto struct {
	URL  string
	cmd  *exec.Cmd
	log  *os.File // moto_server's output, read back when it fails
	done chan struct{}
}

// Start launches moto_server (path from Find) on a free port of 127.0.0.1.
// It does not wait for it to answer: call Ready. Close stops it.
func Start(path string) (*Moto, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	log, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return nil, fmt.Errorf("moto_server log: %w", err)
	}
	m := &Moto{URL: "http://127.0.0.1:" + port, log: log, done: make(chan struct{})}
	m.cmd = exec.Command(path, "-H", "127.0.0.1", "-p", port)
	m.cmd.Stdout, m.cmd.Stderr = log, log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so Close kills a pyenv shim's children too
	if err := m.cmd.Start(); err != nil {
		log.Close()
		os.Remove(log.Name())
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	return m, nil
}

// Ready waits up to timeout for moto_server to answer.
func (m *Moto) Ready(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if resp, err := http.Get(m.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-m.done:
			return fmt.Errorf("moto_server exited:\n%s", m.output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("moto_server did not answer on %s within %s; output:\n%s", m.URL, timeout, m.output())
		}
	}
}

// Close kills moto_server, waits for it to exit and removes its log.
func (m *Moto) Close() {
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.done
	m.log.Close()
	os.Remove(m.log.Name())
}

func (m *Moto) output() string {
	b, err := os.ReadFile(m.log.Name())
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", m.log.Name(), err)
	}
	return string(b)
}

// Config is an AWS configuration for endpoint with dummy credentials and no
// retries, built by hand so that no environment (AWS_CA_BUNDLE, profiles)
// applies.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
		HTTPClient:       awshttp.NewBuildableClient(),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(endpoint),
	}
}

// KeyFixture is the on-premises design of the API key in moto: a KMS key,
// a secret encrypted with it, and an SSM parameter holding the secret's ARN.
type KeyFixture struct {
	KMSKeyID  string
	SecretARN string
	ParamName string // holds SecretARN
}

// NewKeyFixture creates a KeyFixture through cfg: the secret secretName
// holding value, the parameter paramName holding its ARN.
func NewKeyFixture(tb testing.TB, cfg aws.Config, secretName, paramName, value string) KeyFixture {
	tb.Helper()
	ctx := context.Background()
	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("gateway API key")})
	if err != nil {
		tb.Fatalf("kms CreateKey: %v", err)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(secretName),
		KmsKeyId:     key.KeyMetadata.KeyId,
		SecretString: aws.String(value),
	})
	if err != nil {
		tb.Fatalf("secretsmanager CreateSecret: %v", err)
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(paramName), Value: sec.ARN, Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	}); err != nil {
		tb.Fatalf("ssm PutParameter %s: %v", paramName, err)
	}
	return KeyFixture{KMSKeyID: aws.ToString(key.KeyMetadata.KeyId), SecretARN: aws.ToString(sec.ARN), ParamName: paramName}
}
