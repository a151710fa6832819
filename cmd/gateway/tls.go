//go:build !lambda

package main

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// certCheckEvery is how often the certificate files are looked at (on a
// handshake, never in the background): cert-manager and ACME clients
// replace them in place, and the next connections get the new certificate.
const certCheckEvery = 5 * time.Second

// enableTLS makes srv serve TLS when TLS_CERT_FILE and TLS_KEY_FILE are set,
// and starts the plain-HTTP redirect listener on REDIRECT_HTTP_PORT. It
// returns the redirect server (nil if none) for shutdown.
func enableTLS(srv *http.Server, cfg config, log *slog.Logger) (*http.Server, error) {
	if cfg.TLSCertFile == "" {
		return nil, nil
	}
	certs, err := newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log)
	if err != nil {
		return nil, err
	}
	srv.TLSConfig = newTLSConfig(certs)
	if cfg.RedirectHTTPPort == 0 {
		return nil, nil
	}
	var plain http.Handler
	if cfg.PlainHTTP == "refuse" {
		plain = refusePlainHTTP(cfg.Port, log)
	} else {
		host := cfg.RedirectHost
		if host == "" {
			host = certHost(certs.cert.Load().Leaf)
		}
		if host == "" {
			return nil, errors.New("REDIRECT_HOST: the certificate names no host name to redirect to; set REDIRECT_HOST, or PLAIN_HTTP=refuse")
		}
		plain = redirectToHTTPS(host, cfg.Port, log)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.RedirectHTTPPort)))
	if err != nil {
		return nil, fmt.Errorf("listen for HTTP redirects: %w", err)
	}
	redirect := &http.Server{Handler: plain, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second,
		WriteTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		if err := redirect.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP redirect listener stopped", "err", err)
		}
	}()
	log.Info("plain HTTP listener", "addr", ln.Addr().String(), "mode", cmp.Or(cfg.PlainHTTP, "redirect"))
	return redirect, nil
}

// serveConns serves ln with TLS if srv has a TLS configuration.
func serveConns(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// newTLSConfig is TLS 1.2+ with AEAD, forward-secret cipher suites only
// (TLS 1.3's suites are all of that kind and not configurable), and h2.
func newTLSConfig(certs *certReloader) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, // required by HTTP/2
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: certs.GetCertificate,
	}
}

// certReloader holds the certificate from two PEM files and reloads it
// when either file's modification time or size changes. A pair that does
// not load (e.g. caught between the two writes) keeps the old certificate
// and is retried at the next check.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	cert      atomic.Pointer[tls.Certificate]
	nextCheck atomic.Int64 // unix ns; handshakes before it skip the files

	mu    sync.Mutex // one reload at a time
	stamp [2]fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// newCertReloader loads the pair now; a start-up failure is an error.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is the tls.Config hook.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := r.now()
	if now.UnixNano() >= r.nextCheck.Load() {
		r.nextCheck.Store(now.Add(certCheckEvery).UnixNano())
		if err := r.reload(); err != nil {
			r.log.Warn("TLS certificate not reloaded; serving the previous one", "err", err)
		}
	}
	return r.cert.Load(), nil
}

// reload reads the pair if the files changed since the last load.
func (r *certReloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var stamp [2]fileStamp
	for i, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		stamp[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	if r.cert.Load() != nil && stamp == r.stamp {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s with key %s: %w", r.certFile, r.keyFile, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("TLS certificate %s: %w", r.certFile, err)
	}
	cert.Leaf = leaf
	first := r.cert.Load() == nil
	r.cert.Store(&cert)
	r.stamp = stamp
	msg := "TLS certificate reloaded"
	if first {
		msg = "TLS certificate loaded"
	}
	r.log.Info(msg, "file", r.certFile, "subject", leaf.Subject.String(), "dns_names", leaf.DNSNames, "not_after", leaf.NotAfter)
	return nil
}

// certHost is the first host name the certificate names that is not a
// wildcard: where plain-HTTP requests are redirected unless REDIRECT_HOST
// says otherwise.
func certHost(leaf *x509.Certificate) string {
	if leaf == nil {
		return ""
	}
	for _, n := range leaf.DNSNames {
		if !strings.Contains(n, "*") {
			return n
		}
	}
	return ""
}

// redirectToHTTPS sends every plain-HTTP request to the same path on host
// at the HTTPS port with 308, which keeps the method and body. The host is
// configured, never the request's Host header, so the redirect cannot be
// pointed elsewhere. A request that carried a key is logged (without it):
// the key crossed the network in clear.
func redirectToHTTPS(host string, httpsPort int, log *slog.Logger) http.Handler {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch {
	case httpsPort != 443:
		host = net.JoinHostPort(host, strconv.Itoa(httpsPort))
	case strings.Contains(host, ":"):
		host = "[" + host + "]" // IPv6 literal
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		warnPlainKey(r, log)
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// refusePlainHTTP answers every plain-HTTP request with 403
// https_required, so clients configured with http:// fail loudly instead
// of being redirected on every call.
func refusePlainHTTP(httpsPort int, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg := fmt.Sprintf("This gateway only accepts HTTPS (port %d).", httpsPort)
		if warnPlainKey(r, log) {
			msg += " This request's API key crossed the network unencrypted: rotate it."
		}
		body, _ := json.Marshal(map[string]any{"error": map[string]any{
			"message": msg, "type": "invalid_request_error", "param": nil, "code": "https_required"}})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(body)
	})
}

// warnPlainKey logs a request that sent a key over plain HTTP, and reports
// whether it did.
func warnPlainKey(r *http.Request, log *slog.Logger) bool {
	if r.Header.Get("Authorization") == "" && r.Header.Get("X-Api-Key") == "" {
		return false
	}
	log.Warn("an API key was sent over plain HTTP; the client should use https", "client", r.RemoteAddr, "path", r.URL.Path)
	return true
}
