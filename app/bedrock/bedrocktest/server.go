package bedrocktest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// Server runs an Emulator on a local TCP address.
type Server struct {
	*Emulator
	// URL is the base URL, e.g. http://127.0.0.1:41234; use it as the SDK's
	// BaseEndpoint or as AWS_ENDPOINT_URL_BEDROCK_RUNTIME / AWS_ENDPOINT_URL_BEDROCK.
	URL string

	srv  *http.Server
	done chan struct{}
}

// NewServer starts an emulator on 127.0.0.1:<free port> and closes it when
// the test ends. It fails the test if the server cannot start.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start("127.0.0.1:0", opts...)
	if err != nil {
		tb.Fatalf("start bedrock emulator: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start listens on addr (host:port; port 0 picks a free one) and serves an
// emulator until Close. It is meant for cmd/bedrock-emulator and benchmarks.
func Start(addr string, opts ...Option) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	e := New(opts...)
	s := &Server{
		Emulator: e,
		URL:      "http://" + ln.Addr().String(),
		srv:      &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// Serve only fails here if the listener breaks; Close still works.
			return
		}
	}()
	return s, nil
}

// Close stops the server, dropping open connections (streams in progress
// see their context cancelled), and waits for the serve loop to end.
func (s *Server) Close() {
	_ = s.srv.Close() // the only error is the listener's close error, which changes nothing here
	<-s.done
}
