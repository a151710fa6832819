//go:build !lambda

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCert is a self-signed certificate for localhost and 127.0.0.1,
// generated in the test (no files from elsewhere).
type testCert struct {
	certPEM, keyPEM []byte
	x509            *x509.Certificate
}

func newTestCert(tb testing.TB, cn string) testCert {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		x509:    parsed,
	}
}

// install writes the pair and moves the files' modification time forward,
// as a renewal would (and so the change is seen on coarse file systems).
func (c testCert) install(tb testing.TB, certFile, keyFile string, mtime time.Time) {
	tb.Helper()
	for _, f := range []struct {
		name string
		data []byte
	}{{certFile, c.certPEM}, {keyFile, c.keyPEM}} {
		if err := os.WriteFile(f.name, f.data, 0o600); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chtimes(f.name, mtime, mtime); err != nil {
			tb.Fatal(err)
		}
	}
}

// syncLog is a logger whose output the test reads.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// settableClock is the reloader's clock, moved by the test.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTLSCertificateReloadsWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	a, b, c := newTestCert(t, "cert-a"), newTestCert(t, "cert-b"), newTestCert(t, "cert-c")
	mtime := time.Now().Add(-time.Hour)
	a.install(t, certFile, keyFile, mtime)

	logs := &syncLog{}
	certs, err := newCertReloader(certFile, keyFile, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("newCertReloader: %v", err)
	}
	clock := &settableClock{t: time.Now()}
	certs.now = clock.now

	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.Proto)) }),
		TLSConfig:         newTLSConfig(certs),
		ReadHeaderTimeout: 5 * time.Second,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- serveConns(srv, ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	url := "https://" + ln.Addr().String() + "/"

	roots := x509.NewCertPool()
	for _, tc := range []testCert{a, b, c} {
		roots.AddCert(tc.x509)
	}
	// get makes a new connection each time and reports the server's
	// certificate and the protocol it spoke.
	get := func(t *testing.T) (cn, proto string) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		defer resp.Body.Close()
		return resp.TLS.PeerCertificates[0].Subject.CommonName, resp.Proto
	}

	steps := []struct {
		name    string
		install *testCert // new files before the step, if any
		mixed   bool      // install b's certificate with c's key (a renewal caught halfway)
		advance time.Duration
		wantCN  string
	}{
		{name: "serves the first certificate over h2", wantCN: "cert-a"},
		{name: "files replaced: seen at the next check, not before", install: &b, advance: time.Second, wantCN: "cert-a"},
		{name: "after the check interval new connections get the new certificate", advance: certCheckEvery, wantCN: "cert-b"},
		{name: "a half-written pair keeps the last good certificate", mixed: true, advance: certCheckEvery, wantCN: "cert-b"},
		{name: "the finished pair is picked up", install: &c, advance: certCheckEvery, wantCN: "cert-c"},
	}
	for _, st := range steps {
		mtime = mtime.Add(time.Minute)
		switch {
		case st.install != nil:
			st.install.install(t, certFile, keyFile, mtime)
		case st.mixed:
			testCert{certPEM: b.certPEM, keyPEM: c.keyPEM}.install(t, certFile, keyFile, mtime)
		}
		clock.advance(st.advance)
		cn, proto := get(t)
		if cn != st.wantCN {
			t.Errorf("%s: server certificate %q, want %q", st.name, cn, st.wantCN)
		}
		if proto != "HTTP/2.0" {
			t.Errorf("%s: protocol %s, want HTTP/2.0", st.name, proto)
		}
	}
	got := logs.String()
	if !strings.Contains(got, "TLS certificate not reloaded; serving the previous one") {
		t.Errorf("the half-written pair was not logged:\n%s", got)
	}
	if n := strings.Count(got, `"msg":"TLS certificate reloaded"`); n != 2 {
		t.Errorf("%d reload lines, want 2:\n%s", n, got)
	}
}

func TestTLSRefusesOldVersionsAndWeakCiphers(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	newTestCert(t, "gw").install(t, certFile, keyFile, time.Now())
	certs, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = newTLSConfig(certs)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	tests := []struct {
		name   string
		client *tls.Config
		wantOK bool
	}{
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.2 with ECDHE-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
		{"TLS 1.2 with CBC only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, false},
	}
	for _, tt := range tests {
		tt.client.InsecureSkipVerify = true // only the protocol is under test here
		tt.client.ServerName = "localhost"
		conn, err := tls.Dial("tcp", addr, tt.client)
		if err == nil {
			conn.Close()
		}
		if (err == nil) != tt.wantOK {
			t.Errorf("%s: handshake error %v, want ok=%v", tt.name, err, tt.wantOK)
		}
	}
}

func TestNewCertReloaderFailsClearly(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "tls.crt") {
		t.Errorf("missing files: err = %v, want one naming tls.crt", err)
	}
	testCert{certPEM: newTestCert(t, "a").certPEM, keyPEM: newTestCert(t, "b").keyPEM}.install(t, certFile, keyFile, time.Now())
	if _, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "tls.key") {
		t.Errorf("mismatched pair: err = %v, want one naming the files", err)
	}
}

// TestRedirectToHTTPS: the redirect keeps the path and query and goes to
// the configured host whatever the Host header says (finding 12 of issue
// 12: a Host-built Location is an open redirect).
func TestRedirectToHTTPS(t *testing.T) {
	tests := []struct {
		name, configured, host, target string
		port                           int
		want                           string
	}{
		{"keeps path and query", "gw.example", "gw.example:8080", "/api/v1/models?limit=2", 8443, "https://gw.example:8443/api/v1/models?limit=2"},
		{"port 443 is implied", "gw.example", "gw.example", "/health", 443, "https://gw.example/health"},
		{"Host header ignored", "gw.example", "evil.example", "/health", 443, "https://gw.example/health"},
		{"Host header with a path ignored", "gw.example", "evil.example/x?", "/health", 8443, "https://gw.example:8443/health"},
		{"IPv6 literal", "2001:db8::1", "[2001:db8::1]:80", "/", 8443, "https://[2001:db8::1]:8443/"},
		{"IPv6 literal on 443", "[2001:db8::1]", "[2001:db8::1]", "/", 443, "https://[2001:db8::1]/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(`{}`))
			req.Host = tt.host
			rec := httptest.NewRecorder()
			redirectToHTTPS(tt.configured, tt.port, slog.New(slog.DiscardHandler)).ServeHTTP(rec, req)
			if rec.Code != http.StatusPermanentRedirect {
				t.Errorf("status %d, want 308 (keeps POST)", rec.Code)
			}
			if got := rec.Header().Get("Location"); got != tt.want {
				t.Errorf("Location = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPlainHTTPRefused: PLAIN_HTTP=refuse answers 403 https_required, and
// a key sent in clear is logged (without the key) and the client told.
func TestPlainHTTPRefused(t *testing.T) {
	var logs strings.Builder
	h := refusePlainHTTP(8443, slog.New(slog.NewJSONHandler(&logs, nil)))
	req := httptest.NewRequest(http.MethodPost, "/api/v1/chat/completions", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer sk-secret-in-clear")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "https_required") || !strings.Contains(rec.Body.String(), "rotate") {
		t.Errorf("got %d %s, want 403 https_required telling to rotate the key", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "plain HTTP") || strings.Contains(logs.String(), "sk-secret") {
		t.Errorf("log = %s, want a warning without the key", logs.String())
	}
}

func TestEnableTLSStartsTheRedirectListener(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	newTestCert(t, "gw").install(t, certFile, keyFile, time.Now())
	port := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}()
	cfg := config{Host: "127.0.0.1", Port: 8443, TLSCertFile: certFile, TLSKeyFile: keyFile, RedirectHTTPPort: port}
	srv := &http.Server{}
	redirect, err := enableTLS(srv, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("enableTLS: %v", err)
	}
	t.Cleanup(func() { redirect.Close() })
	if srv.TLSConfig == nil || srv.TLSConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLSConfig = %+v, want TLS 1.2+", srv.TLSConfig)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/health")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); got != "https://localhost:8443/health" { // the certificate's name
		t.Errorf("Location = %q", got)
	}

	plain := &http.Server{}
	if r, err := enableTLS(plain, config{Port: 8080}, slog.New(slog.DiscardHandler)); err != nil || r != nil || plain.TLSConfig != nil {
		t.Errorf("without TLS files: redirect %v, err %v, TLSConfig %v; want nothing", r, err, plain.TLSConfig)
	}
}
