package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// fakeSecrets is a Secrets Manager holding one secret by staging label.
type fakeSecrets struct {
	mu     sync.Mutex
	stages map[string]string
	err    error
	calls  int
	// gate, when set, holds every call until it is closed.
	gate    chan struct{}
	entered chan struct{} // receives once per call, if set
}

func (f *fakeSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	f.calls++
	gate, entered := f.gate, f.entered
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	stage := aws.ToString(in.VersionStage)
	v, ok := f.stages[stage]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no " + stage)}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v), VersionId: aws.String("v-" + stage)}, nil
}

func (f *fakeSecrets) set(stages map[string]string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stages, f.err = stages, err
}

func (f *fakeSecrets) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeClock is a settable time source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestStore(tb testing.TB, sm *fakeSecrets, o Options) (*Store, *bytes.Buffer) {
	tb.Helper()
	var logs bytes.Buffer
	o.Sources = Sources{SecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:gw-AbCdEf"}
	o.SecretsManager = sm
	o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := NewStore(o)
	if err != nil {
		tb.Fatalf("NewStore: %v", err)
	}
	if err := s.Load(context.Background()); err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return s, &logs
}

func authOK(s *Store, token string) bool {
	_, ok := s.Authenticate(context.Background(), token)
	return ok
}

func TestEarlyRefreshAtMostOncePerInterval(t *testing.T) {
	sm := &fakeSecrets{stages: map[string]string{stageCurrent: "k1"}}
	s, _ := newTestStore(t, sm, Options{EarlyRefreshEvery: time.Minute})
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clock.now
	calls := sm.count() // 2: AWSCURRENT, AWSPREVIOUS (missing)

	steps := []struct {
		name      string
		advance   time.Duration
		rotate    bool // k2 becomes current before the step
		token     string
		wantOK    bool
		wantCalls int // new GetSecretValue calls in this step
	}{
		{"known key costs nothing", 0, false, "k1", true, 0},
		{"first unknown key refreshes", 0, false, "guess-1", false, 2},
		{"second unknown key within the minute does not", 30 * time.Second, false, "guess-2", false, 0},
		{"rotated key waits for the interval", 0, true, "k2", false, 0},
		{"after the interval the rotated key triggers a refresh", 31 * time.Second, false, "k2", true, 2},
		{"old key still accepted as AWSPREVIOUS", 0, false, "k1", true, 0},
	}
	for _, st := range steps {
		clock.advance(st.advance)
		if st.rotate {
			sm.set(map[string]string{stageCurrent: "k2", stagePrevious: "k1"}, nil)
		}
		if got := authOK(s, st.token); got != st.wantOK {
			t.Errorf("%s: Authenticate = %v, want %v", st.name, got, st.wantOK)
		}
		if got := sm.count() - calls; got != st.wantCalls {
			t.Errorf("%s: %d calls, want %d", st.name, got, st.wantCalls)
		}
		calls = sm.count()
	}
}

func TestConcurrentUnknownKeysShareOneRefresh(t *testing.T) {
	sm := &fakeSecrets{stages: map[string]string{stageCurrent: "k1"}}
	s, _ := newTestStore(t, sm, Options{EarlyRefreshEvery: time.Hour})
	calls := sm.count()

	gate, entered := make(chan struct{}), make(chan struct{}, 10)
	sm.mu.Lock()
	sm.stages = map[string]string{stageCurrent: "k2", stagePrevious: "k1"}
	sm.gate, sm.entered = gate, entered
	sm.mu.Unlock()

	const n = 50
	results := make(chan bool, n)
	var wg sync.WaitGroup
	wg.Go(func() { results <- authOK(s, "k2") })
	<-entered // the refresh is in flight and blocked
	for range n - 1 {
		wg.Go(func() { results <- authOK(s, "k2") })
	}
	close(gate)
	wg.Wait()
	close(results)
	for ok := range results {
		if !ok {
			t.Error("a client with the rotated key was refused")
		}
	}
	if got := sm.count() - calls; got != 2 {
		t.Errorf("%d concurrent unknown keys made %d calls, want 2 (one refresh)", n, got)
	}
}

func TestFailedRefreshKeepsLastGoodKeys(t *testing.T) {
	sm := &fakeSecrets{stages: map[string]string{stageCurrent: "k1"}}
	s, logs := newTestStore(t, sm, Options{})
	sm.set(nil, &smtypes.InternalServiceError{Message: aws.String("try later")})

	err := s.Refresh(context.Background())
	var le *LoadError
	if !errors.As(err, &le) || le.Code != "InternalServiceError" {
		t.Fatalf("Refresh() = %v; want a LoadError with code InternalServiceError", err)
	}
	if !authOK(s, "k1") {
		t.Error("the cached key stopped working after a failed refresh")
	}
	st := s.Status()
	if st.Failures != 1 || st.Refreshes != 2 || !strings.Contains(st.LastError, "InternalServiceError") || st.Count != 1 {
		t.Errorf("Status() = %+v", st)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"API key refresh failed; keeping the last good keys"`) {
		t.Errorf("no warning logged:\n%s", logs)
	}

	sm.set(map[string]string{stageCurrent: "k1"}, nil)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh after recovery: %v", err)
	}
	if st := s.Status(); st.LastError != "" {
		t.Errorf("LastError after recovery = %q, want empty", st.LastError)
	}
}

func TestUnparsablePreviousVersionIsIgnored(t *testing.T) {
	sm := &fakeSecrets{stages: map[string]string{stageCurrent: `{"team-a":"k2"}`, stagePrevious: `{"team-a":`}}
	s, logs := newTestStore(t, sm, Options{})
	if name, ok := s.Authenticate(context.Background(), "k2"); !ok || name != "team-a" {
		t.Errorf("Authenticate(k2) = %q, %v; want team-a, true", name, ok)
	}
	if !strings.Contains(logs.String(), "AWSPREVIOUS version ignored") {
		t.Errorf("no warning for the unparsable AWSPREVIOUS:\n%s", logs)
	}
}

func TestNewStoreChecksClients(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no source", Options{}, "no API key source"},
		{"ARN parameter without SSM", Options{Sources: Sources{SecretARNParameter: "BedrockApiKey"}, SecretsManager: &fakeSecrets{}}, "needs an SSM client"},
		{"secret without Secrets Manager", Options{Sources: Sources{SecretARN: "arn:x"}}, "needs a Secrets Manager client"},
		{"negative interval", Options{Sources: Sources{APIKey: "k"}, RefreshInterval: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		if _, err := NewStore(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewStore() = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestLiteralKeyStore(t *testing.T) {
	s, err := NewStore(Options{Sources: Sources{APIKey: "local-key"}, RefreshInterval: time.Millisecond, EarlyRefreshEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if authOK(s, "local-key") {
		t.Error("a key was accepted before Load")
	}
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Run(context.Background()) // returns at once: nothing to refresh
	if name, ok := s.Authenticate(context.Background(), "local-key"); !ok || name != "default" {
		t.Errorf("Authenticate = %q, %v; want default, true", name, ok)
	}
	if authOK(s, "other") {
		t.Error("an unknown key was accepted")
	}
	if got := s.Status().Refreshes; got != 1 {
		t.Errorf("unknown keys refreshed a literal key: %d reads, want 1", got)
	}
}

// TestLiteralKeyTrimmed is finding 11 of issue 12: API_KEY from a secret
// file ends in a newline, and the presented key is trimmed.
func TestLiteralKeyTrimmed(t *testing.T) {
	s, err := NewStore(Options{Sources: Sources{APIKey: " local-key\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !authOK(s, "local-key") {
		t.Error("API_KEY with a trailing newline refused its key")
	}
}

// BenchmarkAuthenticate guards the hot path: a known key must not allocate
// or lock. Compare against BenchmarkStatic in the same run.
func BenchmarkAuthenticate(b *testing.B) {
	sm := &fakeSecrets{stages: map[string]string{
		stageCurrent:  `{"team-a":"sk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","team-b":"sk-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}`,
		stagePrevious: `{"team-a":"sk-cccccccccccccccccccccccccccccccc","team-b":"sk-dddddddddddddddddddddddddddddddd"}`,
	}}
	s, _ := newTestStore(b, sm, Options{EarlyRefreshEvery: time.Hour})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := s.Authenticate(ctx, "sk-dddddddddddddddddddddddddddddddd"); !ok {
				b.Fatal("key refused")
			}
		}
	})
}

// BenchmarkStatic is the baseline for BenchmarkAuthenticate.
func BenchmarkStatic(b *testing.B) {
	s := NewStatic(NewKey("a", "sk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), NewKey("b", "sk-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
		NewKey("c", "sk-cccccccccccccccccccccccccccccccc"), NewKey("d", "sk-dddddddddddddddddddddddddddddddd"))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := s.Authenticate(ctx, "sk-dddddddddddddddddddddddddddddddd"); !ok {
				b.Fatal("key refused")
			}
		}
	})
}

func TestAuthenticateDoesNotAllocate(t *testing.T) {
	long := strings.Repeat("k", 256) // CDK's generated key length
	sm := &fakeSecrets{stages: map[string]string{stageCurrent: long}}
	s, _ := newTestStore(t, sm, Options{})
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { s.Authenticate(ctx, long) }); n != 0 {
		t.Errorf("Authenticate allocates %.0f times per call, want 0", n)
	}
}

func TestNamesFollowRefresh(t *testing.T) {
	sm := &fakeSecrets{stages: map[string]string{stageCurrent: `{"team-b":"k2","team-a":"k1"}`}}
	s, _ := newTestStore(t, sm, Options{})
	if got := strings.Join(s.Names(), ","); got != "team-a,team-b" {
		t.Errorf("Names() = %s, want team-a,team-b", got)
	}
	sm.set(map[string]string{stageCurrent: `{"team-c":"k3"}`}, nil)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names(), ","); got != "team-c" {
		t.Errorf("Names() after a refresh = %s, want team-c", got)
	}
	if got := NewStatic(NewKey("b", "x"), NewKey("a", "y"), NewKey("b", "z")).Names(); strings.Join(got, ",") != "a,b" {
		t.Errorf("Static Names() = %v, want [a b]", got)
	}
}
