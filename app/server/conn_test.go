package server_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/server"
)

// rawConn opens a TCP connection to srv and writes head.
func rawConn(t *testing.T, srv *httptest.Server, head string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	return conn
}

// readResponse reads one response from conn within d.
func readResponse(t *testing.T, conn net.Conn, d time.Duration) *http.Response {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response within %s: %v", d, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

func postHead(path, key string, length int) string {
	return "POST " + path + " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + key +
		"\r\nContent-Type: application/json\r\nContent-Length: " + itoa(length) + "\r\n\r\n"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// TestUnauthenticatedBodyIsNotRead is finding 3 of issue 12: after a 401
// the gateway must not keep reading a slow body; it answers and closes.
func TestUnauthenticatedBodyIsNotRead(t *testing.T) {
	h, _ := netHandler(t, func(*server.Options) {})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	conn := rawConn(t, srv, postHead("/api/v1/chat/completions", "wrong-key", 100_000)+`{"model":`)
	resp := readResponse(t, conn, 3*time.Second)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after the 401 the connection stayed open (read: %v), want it closed", err)
	}
}

// TestSlowBodyHoldsNoSlot is finding 2 of issue 12: the concurrency slot is
// taken after the body has been read, and a body that does not arrive in
// READ_TIMEOUT gets 408.
func TestSlowBodyHoldsNoSlot(t *testing.T) {
	h, logs := netHandler(t, func(o *server.Options) {
		o.MaxConcurrent = 1
		o.ReadTimeout = 500 * time.Millisecond
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	stalled := rawConn(t, srv, postHead("/api/v1/chat/completions", netTestKey, 1000)+`{"model":`)
	time.Sleep(100 * time.Millisecond) // the stalled request is in the gateway

	other := rawConn(t, srv, postHead("/api/v1/chat/completions", netTestKey, 1)+`{`)
	if resp := readResponse(t, other, 3*time.Second); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("while another body stalls: status %d, want 400 (not 503: the stalled body holds no slot)", resp.StatusCode)
	}
	resp := readResponse(t, stalled, 3*time.Second)
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "request_timeout") {
		t.Errorf("stalled body: got %d %s, want 408 request_timeout", resp.StatusCode, body)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a client's slow body was logged as an error:\n%s", logs)
	}
}

// TestBrokenBodyIsTheClients is finding 6 of issue 12: a body shorter than
// its Content-Length or with broken chunking is a 400, not a 500.
func TestBrokenBodyIsTheClients(t *testing.T) {
	tests := []struct {
		name string
		send string
	}{
		{"short", postHead("/api/v1/chat/completions", netTestKey, 100) + `{"model":"x"}`},
		{"bad chunking", "POST /api/v1/embeddings HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + netTestKey +
			"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := netHandler(t, func(*server.Options) {})
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			conn := rawConn(t, srv, tt.send)
			conn.(*net.TCPConn).CloseWrite()
			resp := readResponse(t, conn, 3*time.Second)
			if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_body") {
				t.Errorf("got %d %s, want 400 invalid_body", resp.StatusCode, body)
			}
			if strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("the client's broken body was logged as an error:\n%s", logs)
			}
		})
	}
}

// TestStalledStreamReaderIsDropped is finding 2 of issue 12: a client that
// stops reading a stream is dropped at WRITE_TIMEOUT, and its slot is free.
//
// The stall does not depend on the machine's speed: the gateway's send
// buffer and the client's receive buffer are set small, so the gateway's
// writes block after some kilobytes, and the stream is far longer than
// that. (With loopback's autotuned buffers megabytes had to go through
// first, which under -race on a loaded machine outlasted the test.) The
// stalled connection must then end without the stream's end: the slot was
// freed by dropping the client, not by finishing the stream.
func TestStalledStreamReaderIsDropped(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.MaxConcurrent = 1
		o.WriteTimeout = 300 * time.Millisecond
	})
	srv := httptest.NewUnstartedServer(h.handler)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	chunk := strings.Repeat("lorem ipsum ", 1000)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		text := make([]string, 200) // about 2.4 MB of events: a hundred times the buffers
		for i := range text {
			text[i] = chunk
		}
		return &bedrocktest.Reply{Text: text}
	})
	body := `{"stream":true,"messages":[{"role":"user","content":"talk"}]}`
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.(*net.TCPConn).SetReadBuffer(smallBuffer); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, postHead("/api/v1/chat/completions", testKey, len(body))+body); err != nil {
		t.Fatal(err)
	}
	// The deadlines below only bound a failing run; a passing one takes
	// about WriteTimeout.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	stalled := bufio.NewReaderSize(conn, 4096)
	if line, err := stalled.ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("stream did not start: %q %v", line, err)
	}
	// The client reads no more. Another request (to the same handler, so
	// the same slots) must get through once the stalled stream's writes
	// time out.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp := h.post(t, "/api/v1/chat/completions", testKey, `{`); resp.StatusCode == http.StatusBadRequest {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stalled stream still holds the only slot after 30s")
		}
	}
	rest, err := io.ReadAll(stalled)
	if bytes.Contains(rest, []byte("[DONE]")) {
		t.Fatalf("the stalled stream ran to its end (%d bytes): it was not dropped", len(rest))
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the stalled connection is still open after its slot was given back (read %d bytes)", len(rest))
	}
}

// smallBuffer is the socket buffer size, in bytes, that
// TestStalledStreamReaderIsDropped asks for on both ends (the kernel
// doubles it and applies its minimum).
const smallBuffer = 4096

// smallSendBuffers gives every accepted connection a small send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := c.(*net.TCPConn).SetWriteBuffer(smallBuffer); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (l *netLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
