package bedrock

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

type captureClient struct{ got *http.Request }

func (c *captureClient) Do(r *http.Request) (*http.Response, error) {
	c.got = r
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func TestShieldBodiesHidesWriterTo(t *testing.T) {
	next := &captureClient{}
	body := io.NopCloser(bytes.NewReader([]byte("payload"))) // keeps bytes.Reader's WriteTo
	if _, ok := body.(io.WriterTo); !ok {
		t.Fatal("test setup: the body should offer WriteTo")
	}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	req.Body = body
	if _, err := ShieldBodies(next).Do(req); err != nil {
		t.Fatal(err)
	}
	if _, ok := next.got.Body.(io.WriterTo); ok {
		t.Error("the body net/http sees still offers WriteTo")
	}
	if b, _ := io.ReadAll(next.got.Body); string(b) != "payload" {
		t.Errorf("body reads %q, want payload", b)
	}

	empty, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	if _, err := ShieldBodies(next).Do(empty); err != nil {
		t.Fatal(err)
	}
	if next.got.Body != nil {
		t.Errorf("a request without a body got %T", next.got.Body)
	}
}
