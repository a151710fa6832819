package bedrock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// imageServer serves a png of the size its path names (/img/<bytes>/<any>)
// and counts the requests.
func imageServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var size int
		if _, err := fmt.Sscanf(r.URL.Path, "/img/%d/", &size); err != nil {
			size = len(pngBytes)
		}
		_, _ = w.Write(append(pngBytes, make([]byte, max(size-len(pngBytes), 0))...))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func imagesRequest(urls ...string) string {
	parts := make([]string, len(urls))
	for i, u := range urls {
		parts[i] = `{"type":"image_url","image_url":{"url":"` + u + `"}}`
	}
	return `{"messages":[{"role":"user","content":[{"type":"text","text":"look"},` + strings.Join(parts, ",") + `]}]}`
}

func TestImageLimits(t *testing.T) {
	srv, hits := imageServer(t)
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{AllowHTTP: true, AllowPrivate: true, MaxBytes: 2000, MaxTotalBytes: 3000})}

	t.Run("count checked before any fetch", func(t *testing.T) {
		hits.Store(0)
		urls := make([]string, DefaultMaxImages+1)
		for i := range urls {
			urls[i] = fmt.Sprintf("%s/img/100/%d", srv.URL, i)
		}
		_, err := translate(t, tr, claude, imagesRequest(urls...))
		var re *RequestError
		if !errors.As(err, &re) || re.Code != "too_many_images" {
			t.Fatalf("got %v, want a too_many_images error", err)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("fetched %d images, want none", n)
		}
	})
	t.Run("one fetch per distinct URL", func(t *testing.T) {
		hits.Store(0)
		u := srv.URL + "/img/1500/same"
		call, err := translate(t, tr, claude, imagesRequest(u, u, u, u, u))
		if err != nil {
			t.Fatal(err)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("fetched %d times, want 1", n)
		}
		if got := strings.Count(describe(t, call), "image(png)"); got != 5 {
			t.Errorf("got %d image blocks, want 5: %s", got, describe(t, call))
		}
	})
	t.Run("total bytes", func(t *testing.T) {
		_, err := translate(t, tr, claude, imagesRequest(srv.URL+"/img/1500/a", srv.URL+"/img/1600/b"))
		if err == nil || !strings.Contains(err.Error(), "together") {
			t.Errorf("got %v, want the total-bytes error", err)
		}
	})
	t.Run("per image bytes", func(t *testing.T) {
		_, err := translate(t, tr, claude, imagesRequest(srv.URL+"/img/2001/a"))
		if err == nil || !strings.Contains(err.Error(), "larger than 2000 bytes") {
			t.Errorf("got %v, want the per-image error", err)
		}
	})
}

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"2606:4700::1111", true},
		{"10.0.0.1", false},
		{"169.254.169.254", false},
		{"100.100.100.200", false},
		{"127.0.0.1", false},
		{"0.1.2.3", false},
		{"::1", false},
		{"::ffff:10.0.0.1", false},
		{"fd00::1", false},
		{"fe80::1", false},
		{"64:ff9b::a00:1", false},     // NAT64 of 10.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", true},    // NAT64 of 8.8.8.8
		{"64:ff9b:1::808:808", false}, // local-use NAT64
		{"2002:a00:1::1", false},      // 6to4 of 10.0.0.1
		{"2002:7f00:1::1", false},     // 6to4 of 127.0.0.1
		{"2002:808:808::1", true},     // 6to4 of 8.8.8.8
		{"::10.0.0.1", false},         // IPv4-compatible
		{"::127.0.0.1", false},
		{"::8.8.8.8", true},
		{"2001:0:4136:e378:8000:63bf:f5ff:fffe", false}, // Teredo, client 10.0.0.1
	}
	for _, tt := range tests {
		if got := publicAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("publicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
		err := refusePrivate("tcp", netip.AddrPortFrom(netip.MustParseAddr(tt.addr), 80).String(), nil)
		if (err == nil) != tt.want {
			t.Errorf("refusePrivate(%s) = %v, want refused=%v", tt.addr, err, !tt.want)
		}
	}
}

// recordingProxy is an HTTP proxy stand-in that answers every request with
// a png and counts them.
func recordingProxy(t *testing.T) (*url.URL, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write(pngBytes)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u, &hits
}

func TestImageFetchProxy(t *testing.T) {
	ctx := context.Background()
	t.Run("environment proxy ignored", func(t *testing.T) {
		proxy, hits := recordingProxy(t)
		t.Setenv("HTTP_PROXY", proxy.String())
		t.Setenv("http_proxy", proxy.String())
		f := NewMediaFetcher(MediaOptions{AllowHTTP: true, AllowPrivate: true, Timeout: 300 * time.Millisecond})
		_, _ = f.Image(ctx, "http://192.0.2.1/cat.png") // TEST-NET-1: never answers
		if n := hits.Load(); n != 0 {
			t.Errorf("the environment's proxy got %d requests, want 0", n)
		}
	})
	t.Run("configured proxy: host checked first", func(t *testing.T) {
		proxy, hits := recordingProxy(t)
		f := NewMediaFetcher(MediaOptions{AllowHTTP: true, Proxy: proxy, Timeout: 2 * time.Second})
		for _, u := range []string{"http://127.0.0.1:9/x.png", "http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "http://localhost/x.png"} {
			if _, err := f.Image(ctx, u); !errors.Is(err, errPrivateAddress) {
				t.Errorf("%s: got %v, want a refusal", u, err)
			}
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("the proxy was asked %d times for private hosts, want 0", n)
		}
		// A public host goes through the proxy, which is itself on loopback.
		if img, err := f.Image(ctx, "http://8.8.8.8/cat.png"); err != nil || img.Source == nil {
			t.Fatalf("public host through the proxy: %v", err)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("the proxy got %d requests, want 1", n)
		}
	})
}

func TestImageFetchErrorsHideTheNetwork(t *testing.T) {
	ctx := context.Background()
	f := NewMediaFetcher(MediaOptions{AllowHTTP: true, AllowPrivate: true, Timeout: 2 * time.Second})
	for _, u := range []string{"http://no-such-host.invalid/x.png", "http://127.0.0.1:1/x.png"} {
		_, err := f.Image(ctx, u)
		if err == nil {
			t.Fatalf("%s: got no error", u)
		}
		for _, leak := range []string{"lookup", "dial", "127.0.0.1", ":53", "invalid", "tcp"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: error %q shows %q", u, err, leak)
			}
		}
	}
}

// TestThinkingValues is finding 10 of issue 12: a huge budget_tokens is a
// 400 rather than an overflow sent to Bedrock, and "thinking": null is no
// thinking object at all.
func TestThinkingValues(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for _, budget := range []string{"1e300", "-5", "0", "2048.5", `"many"`, "4294967296"} {
		_, err := translate(t, tr, claude, `{`+msgs+`,"thinking":{"type":"enabled","budget_tokens":`+budget+`}}`)
		var re *RequestError
		if !errors.As(err, &re) || re.Param != "thinking.budget_tokens" {
			t.Errorf("budget_tokens %s: got %v, want a thinking.budget_tokens error", budget, err)
		}
	}
	call, err := translate(t, tr, claude, `{`+msgs+`,"thinking":{"type":"enabled","budget_tokens":2048}}`)
	if err != nil || *call.Input.InferenceConfig.MaxTokens != 2048+4096 {
		t.Errorf("budget 2048: %v", err)
	}
	for _, body := range []string{`{` + msgs + `,"thinking":null}`, `{` + msgs + `,"extra_body":{"thinking":null}}`} {
		call, err := translate(t, tr, claude, body)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := extraJSON(t, call); strings.Contains(got, "thinking") {
			t.Errorf("%s: additional fields %s, want no thinking", body, got)
		}
	}
}

// TestInputBudget is finding 16 of issue 12: n times a huge prompt is
// refused before Bedrock is called.
func TestInputBudget(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{}), MaxInputTokens: 1000}
	prompt := strings.Repeat("word ", 400) // 2000 bytes: about 500 tokens
	if _, err := translate(t, tr, claude, `{"n":1,"messages":[{"role":"user","content":"`+prompt+`"}]}`); err != nil {
		t.Errorf("n=1 within the budget: %v", err)
	}
	_, err := translate(t, tr, claude, `{"n":3,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	var re *RequestError
	if !errors.As(err, &re) || re.Code != "input_too_large" {
		t.Errorf("n=3 over the budget: got %v, want input_too_large", err)
	}
	// The default lets a large prompt through at n=1 and stops it at n=8.
	big := strings.Repeat("x", 1_200_000*4)
	def := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	if _, err := translate(t, def, claude, `{"messages":[{"role":"user","content":"`+big+`"}]}`); err != nil {
		t.Errorf("1.2M tokens at n=1: %v", err)
	}
	if _, err := translate(t, def, claude, `{"n":8,"messages":[{"role":"user","content":"`+big+`"}]}`); !errors.As(err, &re) {
		t.Errorf("1.2M tokens at n=8: got %v, want refused", err)
	}
}
