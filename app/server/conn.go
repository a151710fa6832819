package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Defaults of the connection deadlines (Options.ReadTimeout, WriteTimeout).
const (
	DefaultReadTimeout  = 60 * time.Second
	DefaultWriteTimeout = 30 * time.Second
)

// guardConn bounds what one client can hold with a connection:
//   - a request body must arrive within ReadTimeout (a read deadline set
//     here and lifted once the body has been read to its end, so the
//     server's own check for a closed connection is not cut later);
//   - every write must complete within WriteTimeout, so a client that
//     stops reading a stream is dropped rather than holding the handler;
//   - a response that starts before the body was read to its end (401,
//     403, 404, 413 ...) closes the connection instead of letting net/http
//     read up to 256 KB more of a body nobody wants, at the client's pace.
//
// Where the writer has no deadlines (the Lambda adapters) only the last
// point applies.
func (s *Server) guardConn() gin.HandlerFunc {
	return func(c *gin.Context) {
		rc := http.NewResponseController(c.Writer)
		g := &guardedWriter{ResponseWriter: c.Writer, rc: rc, timeout: s.opts.WriteTimeout, http1: c.Request.ProtoMajor == 1}
		if c.Request.Body != nil && c.Request.Body != http.NoBody && c.Request.ContentLength != 0 {
			g.body = &eofBody{ReadCloser: c.Request.Body, rc: rc}
			c.Request.Body = g.body
			_ = rc.SetReadDeadline(time.Now().Add(s.opts.ReadTimeout))
		}
		c.Writer = g
		c.Next()
	}
}

// eofBody notes when the body has been read to its end and lifts the read
// deadline then.
type eofBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	mu   sync.Mutex
	done bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.mu.Lock()
		if !b.done {
			b.done = true
			_ = b.rc.SetReadDeadline(time.Time{})
		}
		b.mu.Unlock()
	}
	return n, err
}

// read reports whether the body was read to its end.
func (b *eofBody) read() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done
}

// guardedWriter sets a write deadline before each write, and abandons an
// unread body when the response starts.
type guardedWriter struct {
	gin.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	body    *eofBody // nil: the request has no body
	http1   bool
	started bool
}

func (w *guardedWriter) before() {
	if !w.started {
		w.started = true
		if w.body != nil && !w.body.read() {
			if w.http1 {
				w.Header().Set("Connection", "close")
			}
			_ = w.rc.SetReadDeadline(time.Now()) // whatever net/http reads after the handler fails at once
		}
	}
	if w.timeout > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

func (w *guardedWriter) WriteHeader(code int) {
	w.before()
	w.ResponseWriter.WriteHeader(code)
}

func (w *guardedWriter) WriteHeaderNow() {
	w.before()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *guardedWriter) Write(p []byte) (int, error) {
	w.before()
	return w.ResponseWriter.Write(p)
}

func (w *guardedWriter) WriteString(s string) (int, error) {
	w.before()
	return w.ResponseWriter.WriteString(s)
}

func (w *guardedWriter) Flush() {
	w.before()
	w.ResponseWriter.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *guardedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// readBody reads the request body into memory before the handler runs (and
// before a concurrency slot is taken), so a slow body holds no slot, and
// answers a body that cannot be read as the client's fault: 408 when it
// did not arrive in time, 400 when it ended early or its chunked encoding
// is broken, 413 over MaxBodyBytes.
func (s *Server) readBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.Body == nil || r.Body == http.NoBody {
			c.Next()
			return
		}
		var buf bytes.Buffer
		if r.ContentLength > 0 && r.ContentLength <= s.opts.MaxBodyBytes {
			buf.Grow(int(r.ContentLength) + bytes.MinRead)
		}
		_, err := buf.ReadFrom(r.Body)
		if err != nil {
			s.writeError(c, bodyError(err, s.opts.ReadTimeout))
			return
		}
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		c.Next()
	}
}

// bodyError says why a request body could not be read.
func bodyError(err error, timeout time.Duration) error {
	var (
		mbe    *http.MaxBytesError
		netErr net.Error
	)
	switch {
	case errors.As(err, &mbe):
		return err // 413, mapped with the limit
	case errors.As(err, &netErr) && netErr.Timeout():
		return newError(kindRequestTimeout, "request_timeout", fmt.Sprintf("The request body did not arrive within %s.", timeout))
	case errors.Is(err, context.Canceled):
		return errClientGone
	}
	// A failed read also cancels the request's context (net/http sees the
	// connection fail), so this is answered even then: the client may still
	// be reading, having only botched its body.
	return invalidRequest("", "invalid_body", "The request body could not be read: it ended before its declared length or its chunked encoding is broken.")
}
