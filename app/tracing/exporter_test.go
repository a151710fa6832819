package tracing

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

func TestOffHasNoProvider(t *testing.T) {
	tr, err := New(Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Provider != nil || tr.Enabled() {
		t.Errorf("tracing off: got a provider %v", tr.Provider)
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Errorf("Flush with tracing off: %v", err)
	}
}

// TestExportRetries exports one span to a server that is unavailable once,
// then accepts: the export is retried after the Retry-After, gzipped, with
// the configured headers.
func TestExportRetries(t *testing.T) {
	var calls atomic.Int32
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
			r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("X-Api-Key") != "k" {
			t.Errorf("request %s %v", r.URL.Path, r.Header)
		}
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		b, _ := io.ReadAll(zr)
		got <- b
	}))
	defer srv.Close()
	tr, err := New(Config{Enabled: true, URL: srv.URL + "/v1/traces", Headers: map[string]string{"X-Api-Key": "k"}, Gzip: true,
		Timeout: 5 * time.Second, Resource: []attribute.KeyValue{attribute.String("service.name", "t")}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "a span")
	span.End()
	start := time.Now()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1s", time.Since(start))
	}
	select {
	case b := <-got:
		if len(b) == 0 || calls.Load() != 2 {
			t.Errorf("got %d bytes after %d calls, want a body on the second", len(b), calls.Load())
		}
	default:
		t.Fatal("nothing exported")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestExportGivesUpOnBadRequest: a 400 is not retried.
func TestExportGivesUpOnBadRequest(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "bad", http.StatusBadRequest)
	}))
	defer srv.Close()
	e, err := newExporter(Config{URL: srv.URL}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if wait, err := e.post(context.Background(), []byte{}); err == nil || wait >= 0 || calls.Load() != 1 {
		t.Errorf("got wait %v, err %v after %d calls; want no retry and an error", wait, err, calls.Load())
	}
}

// TestExportGivesUpOnRefusedConnection: with no collector listening, an
// export fails at once instead of retrying until its timeout (a Lambda
// invocation would wait for it).
func TestExportGivesUpOnRefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr, err := New(Config{Enabled: true, URL: "http://" + addr + "/v1/traces", Timeout: 10 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "a span")
	span.End()
	start := time.Now()
	_ = tr.Flush(context.Background())
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("flush took %v with nothing listening, want it to give up at once", d)
	}
}
