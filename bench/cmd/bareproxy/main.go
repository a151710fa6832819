// Command bareproxy is the benchmark's "no translation" baseline: a bare
// net/http/httputil.ReverseProxy in front of the Bedrock emulator, with the
// same idle-connection pool size as the gateway's Bedrock client. The load
// generator sends it Bedrock-shaped requests, so the gateway's figures can be
// compared with what any Go HTTP hop costs.
//
//	bareproxy -addr 127.0.0.1:0 -target http://127.0.0.1:4000
//
// It prints "listening on http://ADDR" and serves until SIGINT or SIGTERM.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bareproxy", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	target := fs.String("target", "", "upstream base URL, e.g. http://127.0.0.1:4000")
	idle := fs.Int("max-idle-conns", 256, "idle upstream connections kept (the gateway's BEDROCK_MAX_IDLE_CONNS default)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	up, err := url.Parse(*target)
	if err != nil || up.Scheme == "" || up.Host == "" {
		return fmt.Errorf("-target: %q is not an absolute URL", *target)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: readWhole(newProxy(up, *idle)), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if _, err := fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr()); err != nil {
		return fmt.Errorf("print address: %w", err)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// newProxy forwards everything to up, flushing each write at once so event
// streams pass through unbuffered, like the gateway's SSE.
func newProxy(up *url.URL, idle int) *httputil.ReverseProxy {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConns = idle * 2
	tr.MaxIdleConnsPerHost = idle
	tr.IdleConnTimeout = 90 * time.Second
	return &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(up); r.Out.Host = up.Host },
		Transport:     tr,
		FlushInterval: -1,
	}
}

// readWhole reads each request body into memory before next forwards it, as
// the gateway does. Forwarding the server's own request body to an upstream
// that answers as soon as it has read it races in net/http: the transport's
// last read of the body can fail once the proxy has started its response,
// the transport then closes the upstream connection, and the stream being
// copied from it breaks ("use of closed network connection"; 2-3% of
// streams against the emulator with no delay).
func readWhole(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
