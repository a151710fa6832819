package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
func TestStalledStreamReaderIsDropped(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.MaxConcurrent = 1
		o.WriteTimeout = 300 * time.Millisecond
	})
	chunk := strings.Repeat("lorem ipsum ", 4000)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		text := make([]string, 400) // about 20 MB of events: more than the sockets buffer
		for i := range text {
			text[i] = chunk
		}
		return &bedrocktest.Reply{Text: text}
	})
	body := `{"stream":true,"messages":[{"role":"user","content":"talk"}]}`
	srv := &httptest.Server{URL: h.url}
	stalled := rawConn(t, srv, postHead("/api/v1/chat/completions", testKey, len(body))+body)
	_ = stalled.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(stalled).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("stream did not start: %q %v", line, err)
	}
	// The client reads no more. Another request must get through once the
	// stalled stream's writes time out.
	// Generous: under -race on a loaded machine, filling the buffers is slow.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp := h.post(t, "/api/v1/chat/completions", testKey, `{`); resp.StatusCode == http.StatusBadRequest {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stalled stream still holds the only slot after 30s")
		}
	}
}

func (l *netLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
