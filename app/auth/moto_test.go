package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/openbedrock/gateway/app/auth/authtest"
)

// TestMain stops the shared moto_server, if a test started one.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedMoto.moto != nil {
		sharedMoto.moto.Close()
	}
	os.Exit(code)
}

// sharedMoto is the one moto_server of this test binary, started by the
// first test that needs it (so unit tests alone never pay for it).
var sharedMoto struct {
	once sync.Once
	moto *authtest.Moto
	err  error
}

// startMoto returns the URL of the shared moto_server. Without moto_server
// the test fails when CI=true and is skipped otherwise.
func startMoto(tb testing.TB) string {
	tb.Helper()
	path, ok := authtest.Find(tb)
	if !ok {
		tb.Skip("moto_server is not on PATH; `make tools` installs it (pip install 'moto[server]')")
	}
	sharedMoto.once.Do(func() {
		if sharedMoto.moto, sharedMoto.err = authtest.Start(path); sharedMoto.err == nil {
			sharedMoto.err = sharedMoto.moto.Ready(30 * time.Second)
		}
	})
	if sharedMoto.err != nil {
		tb.Fatalf("start moto_server: %v", sharedMoto.err)
	}
	return sharedMoto.moto.URL
}

// clients are real SDK clients pointed at one endpoint through BaseEndpoint.
type clients struct {
	ssm     *ssm.Client
	secrets *secretsmanager.Client
}

func newClients(endpoint string) clients {
	cfg := authtest.Config(endpoint)
	return clients{ssm: ssm.NewFromConfig(cfg), secrets: secretsmanager.NewFromConfig(cfg)}
}

// fixture is authtest's KeyFixture with clients to change it.
type fixture struct {
	authtest.KeyFixture
	c clients
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
	kf := authtest.NewKeyFixture(tb, authtest.Config(endpoint), uniqueName(tb, "-secret"), uniqueName(tb, "-param"), secretValue)
	return fixture{KeyFixture: kf, c: newClients(endpoint)}
}

func (f fixture) putParameter(tb testing.TB, name, value string, typ ssmtypes.ParameterType) {
	tb.Helper()
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(true)}
	if typ == ssmtypes.ParameterTypeSecureString {
		in.KeyId = aws.String(f.KMSKeyID)
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
		SecretId: aws.String(f.SecretARN), SecretString: aws.String(value)})
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
