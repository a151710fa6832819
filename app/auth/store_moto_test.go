package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/openbedrock/gateway/app/auth"
)

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// jsonLogger logs everything, debug included, as JSON into a buffer.
func jsonLogger() (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// newValue makes a random key value, easy to search for in logs.
func newValue(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("rand: %v", err)
	}
	return "sk-test-" + hex.EncodeToString(b)
}

// assertNoValues fails if any key value appears in text.
func assertNoValues(tb testing.TB, where, text string, values ...string) {
	tb.Helper()
	for _, v := range values {
		if strings.Contains(text, v) {
			tb.Errorf("%s contains a key value:\n%s", where, text)
		}
	}
}

func newStore(tb testing.TB, o auth.Options) *auth.Store {
	tb.Helper()
	s, err := auth.NewStore(o)
	if err != nil {
		tb.Fatalf("NewStore: %v", err)
	}
	return s
}

func loadStore(tb testing.TB, o auth.Options) *auth.Store {
	tb.Helper()
	s := newStore(tb, o)
	if err := s.Load(context.Background()); err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return s
}

// wantAuth checks which tokens are accepted and under which name.
func wantAuth(tb testing.TB, s *auth.Store, token, wantName string, wantOK bool) {
	tb.Helper()
	name, ok := s.Authenticate(context.Background(), token)
	if ok != wantOK || name != wantName {
		tb.Errorf("Authenticate(%.12s...) = %q, %v; want %q, %v", token, name, ok, wantName, wantOK)
	}
}

func TestStoreSourcesAgainstMoto(t *testing.T) {
	endpoint := startMoto(t)
	a, b := newValue(t), newValue(t)
	tests := []struct {
		name   string
		secret string
		// sources builds the sources from the fixture.
		sources func(f fixture) auth.Sources
		want    map[string]string // token -> name
	}{
		{"ARN parameter, raw secret", a,
			func(f fixture) auth.Sources { return auth.Sources{SecretARNParameter: f.ParamName} },
			map[string]string{a: "default"}},
		{"secret ARN, api_key JSON", `{"api_key":"` + a + `","note":"rotated by Lambda"}`,
			func(f fixture) auth.Sources { return auth.Sources{SecretARN: f.SecretARN} },
			map[string]string{a: "api_key"}},
		{"secret ARN, several named keys", `{"team-a":"` + a + `","team-b":"` + b + `"}`,
			func(f fixture) auth.Sources { return auth.Sources{SecretARN: f.SecretARN} },
			map[string]string{a: "team-a", b: "team-b"}},
		{"both ARN variables agreeing", a,
			func(f fixture) auth.Sources {
				return auth.Sources{SecretARNParameter: f.ParamName, SecretARN: f.SecretARN}
			},
			map[string]string{a: "default"}},
		{"SecureString parameter holding the key", "unused",
			func(f fixture) auth.Sources {
				name := f.ParamName + "-key"
				f.putParameter(t, name, a, ssmtypes.ParameterTypeSecureString)
				return auth.Sources{ParamName: name}
			},
			map[string]string{a: "default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, endpoint, tt.secret)
			log, logs := jsonLogger()
			s := loadStore(t, auth.Options{Sources: tt.sources(f), SSM: f.c.ssm, SecretsManager: f.c.secrets, Logger: log})
			for token, name := range tt.want {
				wantAuth(t, s, token, name, true)
			}
			wantAuth(t, s, newValue(t), "", false)
			if got := logs.String(); !strings.Contains(got, `"msg":"API keys loaded"`) {
				t.Errorf("no load line in logs:\n%s", got)
			}
			assertNoValues(t, "logs", logs.String(), a, b)
		})
	}
}

func TestStoreRotationAgainstMoto(t *testing.T) {
	endpoint := startMoto(t)
	k1, k2, k3 := newValue(t), newValue(t), newValue(t)
	f := newFixture(t, endpoint, k1)
	log, logs := jsonLogger()
	s := loadStore(t, auth.Options{
		Sources: auth.Sources{SecretARNParameter: f.ParamName}, SSM: f.c.ssm, SecretsManager: f.c.secrets,
		Logger: log, EarlyRefreshEvery: time.Nanosecond,
	})
	wantAuth(t, s, k1, "default", true)

	// Rotation: k2 becomes AWSCURRENT, k1 AWSPREVIOUS. A client already on
	// k2 gets in at once (its unknown key triggers an early refresh) and
	// clients still on k1 keep working.
	f.rotate(t, k2)
	wantAuth(t, s, k2, "default", true)
	wantAuth(t, s, k1, "default", true)

	// The next rotation retires k1.
	f.rotate(t, k3)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	wantAuth(t, s, k1, "", false)
	wantAuth(t, s, k2, "default", true)
	wantAuth(t, s, k3, "default", true)
	if st := s.Status(); st.Count != 2 || st.Failures != 0 {
		t.Errorf("Status() = %+v; want 2 keys (current and previous), no failures", st)
	}
	assertNoValues(t, "logs", logs.String(), k1, k2, k3)
}

func TestStoreRunRefreshesInBackground(t *testing.T) {
	endpoint := startMoto(t)
	k1, k2 := newValue(t), newValue(t)
	f := newFixture(t, endpoint, k1)
	s := loadStore(t, auth.Options{
		Sources: auth.Sources{SecretARN: f.SecretARN}, SecretsManager: f.c.secrets,
		RefreshInterval: 20 * time.Millisecond, // EarlyRefreshEvery 0: only Run refreshes
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	f.rotate(t, k2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := s.Authenticate(context.Background(), k2); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rotated key was not picked up by Run; status %+v", s.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestStoreKeepsKeysWhenAWSIsDown(t *testing.T) {
	endpoint := startMoto(t)
	k1 := newValue(t)
	f := newFixture(t, endpoint, k1)
	proxy := newCountingProxy(t, endpoint)
	c := newClients(proxy.URL)
	log, logs := jsonLogger()
	s := loadStore(t, auth.Options{
		Sources: auth.Sources{SecretARNParameter: f.ParamName}, SSM: c.ssm, SecretsManager: c.secrets,
		Logger: log, EarlyRefreshEvery: time.Nanosecond,
	})
	proxy.Close() // AWS is now unreachable

	if err := s.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh with AWS down succeeded; want an error")
	}
	wantAuth(t, s, k1, "default", true)
	wantAuth(t, s, newValue(t), "", false) // early refresh fails too, and is logged

	st := s.Status()
	if st.Failures < 2 || st.LastError == "" || st.Count != 1 {
		t.Errorf("Status() = %+v; want ≥2 failures, a last error and the 1 cached key", st)
	}
	got := logs.String()
	if n := strings.Count(got, `"msg":"API key refresh failed; keeping the last good keys"`); n < 2 {
		t.Errorf("%d refresh-failure lines in logs, want ≥2:\n%s", n, got)
	}
	if !strings.Contains(got, `"level":"WARN"`) || !strings.Contains(got, f.ParamName) {
		t.Errorf("the failure is not a warning naming the parameter:\n%s", got)
	}
	assertNoValues(t, "logs", got, k1)
}

func TestStoreLoadFailures(t *testing.T) {
	endpoint := startMoto(t)
	value := newValue(t)
	f := newFixture(t, endpoint, value)
	missingARN := strings.Replace(f.SecretARN, "-secret", "-gone", 1)
	dangling := f.ParamName + "-dangling"
	f.putParameter(t, dangling, missingARN, ssmtypes.ParameterTypeString)
	deny := newClients(denyServer(t))

	tests := []struct {
		name    string
		opts    auth.Options
		want    []string // substrings of the error
		notWant string
	}{
		{"missing parameter",
			auth.Options{Sources: auth.Sources{SecretARNParameter: "/no/such/parameter"}, SSM: f.c.ssm, SecretsManager: f.c.secrets},
			[]string{`SSM parameter "/no/such/parameter"`, "ParameterNotFound"}, ""},
		{"parameter names a missing secret",
			auth.Options{Sources: auth.Sources{SecretARNParameter: dangling}, SSM: f.c.ssm, SecretsManager: f.c.secrets},
			[]string{`secret "` + missingARN + `"`, "ResourceNotFoundException"}, ""},
		{"missing secret ARN",
			auth.Options{Sources: auth.Sources{SecretARN: missingARN}, SecretsManager: f.c.secrets},
			[]string{missingARN, "ResourceNotFoundException"}, ""},
		{"parameter read denied",
			auth.Options{Sources: auth.Sources{SecretARNParameter: f.ParamName}, SSM: deny.ssm, SecretsManager: f.c.secrets},
			[]string{f.ParamName, "AccessDeniedException"}, ""},
		{"secret read denied",
			auth.Options{Sources: auth.Sources{SecretARNParameter: f.ParamName}, SSM: f.c.ssm, SecretsManager: deny.secrets},
			[]string{f.SecretARN, "AccessDeniedException"}, ""},
		{"ARN variables disagree",
			auth.Options{Sources: auth.Sources{SecretARNParameter: f.ParamName, SecretARN: missingARN}, SSM: f.c.ssm, SecretsManager: f.c.secrets},
			[]string{"API_KEY_SECRET_ARN", f.SecretARN, missingARN}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, tt.opts)
			err := s.Load(context.Background())
			if err == nil {
				t.Fatal("Load succeeded; want an error")
			}
			t.Logf("Load: %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var le *auth.LoadError
			if tt.name != "ARN variables disagree" && !errors.As(err, &le) {
				t.Errorf("error %T is not a *auth.LoadError", err)
			}
			assertNoValues(t, "error", err.Error(), value)
			if _, ok := s.Authenticate(context.Background(), value); ok {
				t.Error("a store that failed to load accepted a key")
			}
		})
	}
}

func TestUnknownKeyFloodIsBounded(t *testing.T) {
	endpoint := startMoto(t)
	k1 := newValue(t)
	f := newFixture(t, endpoint, k1)
	f.rotate(t, newValue(t)) // so both AWSCURRENT and AWSPREVIOUS exist
	proxy := newCountingProxy(t, endpoint)
	c := newClients(proxy.URL)
	s := loadStore(t, auth.Options{
		Sources: auth.Sources{SecretARNParameter: f.ParamName}, SSM: c.ssm, SecretsManager: c.secrets,
		EarlyRefreshEvery: time.Hour,
	})
	const getSecret = "secretsmanager.GetSecretValue"
	if n := proxy.count(getSecret); n != 2 {
		t.Fatalf("Load made %d GetSecretValue calls, want 2 (AWSCURRENT and AWSPREVIOUS)", n)
	}
	proxy.reset()

	flood := func() {
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Go(func() {
				if _, ok := s.Authenticate(context.Background(), fmt.Sprintf("sk-guess-%d", i)); ok {
					t.Errorf("guess %d was accepted", i)
				}
			})
		}
		wg.Wait()
	}
	flood()
	// The first unknown key triggers one refresh; the others share it or
	// are turned away until an hour has passed.
	if n := proxy.count(getSecret); n != 2 {
		t.Errorf("1000 unknown keys made %d GetSecretValue calls, want 2 (one shared refresh)", n)
	}
	flood()
	if n := proxy.count(getSecret); n != 2 {
		t.Errorf("a second flood made %d more calls, want none", n-2)
	}
	wantAuth(t, s, k1, "default", true)
}
