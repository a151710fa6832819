package server_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
)

const netTestKey = "sk-net-test-5d1c"

// netLogs collects the access log as JSON lines.
type netLogs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *netLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// clients returns the "client" field of every access-log line.
func (l *netLogs) clients(tb testing.TB) []string {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(l.b.String()))
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Client string `json:"client"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			tb.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line.Msg == "request" {
			out = append(out, line.Client)
		}
	}
	return out
}

func mustCIDRs(tb testing.TB, list ...string) []netip.Prefix {
	tb.Helper()
	p, err := server.ParseCIDRs(list)
	if err != nil {
		tb.Fatalf("ParseCIDRs(%q): %v", list, err)
	}
	return p
}

// netHandler is the gateway with a static key and the given network options.
func netHandler(tb testing.TB, configure func(*server.Options)) (http.Handler, *netLogs) {
	tb.Helper()
	logs := &netLogs{}
	o := server.Options{
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
		Catalogue: bedrock.NewStaticCatalogue("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
		Auth:      auth.NewStatic(auth.NewKey("default", netTestKey)),
	}
	configure(&o)
	return server.New(o), logs
}

type netRequest struct {
	path   string
	remote string
	xff    []string // one entry per header line
	noKey  bool
}

func (r netRequest) do(h http.Handler) *httptest.ResponseRecorder {
	path := r.path
	if path == "" {
		path = "/api/v1/models"
	}
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = r.remote
	for _, x := range r.xff {
		req.Header.Add("X-Forwarded-For", x)
	}
	if !r.noKey {
		req.Header.Set("Authorization", "Bearer "+netTestKey)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAllowListAndTrustedProxies(t *testing.T) {
	lan := []string{"10.0.0.0/8", "2001:db8::/32"}
	proxies := []string{"172.16.0.0/12", "fd00::/8"}
	tests := []struct {
		name       string
		allowed    []string
		trusted    []string
		trustXFF   bool
		req        netRequest
		wantStatus int
		wantClient string
	}{
		{"IPv4 peer allowed", lan, nil, false, netRequest{remote: "10.1.2.3:5555"}, 200, "10.1.2.3"},
		{"IPv4 peer refused", lan, nil, false, netRequest{remote: "192.168.1.1:5555"}, 403, "192.168.1.1"},
		{"IPv6 peer allowed", lan, nil, false, netRequest{remote: "[2001:db8::7]:443"}, 200, "2001:db8::7"},
		{"IPv6 peer refused", lan, nil, false, netRequest{remote: "[2001:db9::1]:443"}, 403, "2001:db9::1"},
		{"IPv4-mapped IPv6 peer", lan, nil, false, netRequest{remote: "[::ffff:10.1.2.3]:1"}, 200, "10.1.2.3"},
		{"untrusted peer: X-Forwarded-For ignored", lan, nil, false,
			netRequest{remote: "203.0.113.9:1", xff: []string{"10.0.0.1"}}, 403, "203.0.113.9"},
		{"untrusted peer not in TRUSTED_PROXIES: X-Forwarded-For ignored", lan, proxies, false,
			netRequest{remote: "203.0.113.9:1", xff: []string{"10.0.0.1"}}, 403, "203.0.113.9"},
		{"allowed untrusted peer with outside X-Forwarded-For", lan, nil, false,
			netRequest{remote: "10.1.1.1:1", xff: []string{"203.0.113.9"}}, 200, "10.1.1.1"},
		{"trusted proxy, allowed IPv4 client", lan, proxies, false,
			netRequest{remote: "172.16.0.5:1", xff: []string{"10.9.9.9"}}, 200, "10.9.9.9"},
		{"trusted proxy, allowed IPv6 client", lan, proxies, false,
			netRequest{remote: "[fd00::5]:1", xff: []string{"2001:db8::9"}}, 200, "2001:db8::9"},
		{"spoofed: client prepends an allowed address", lan, proxies, false,
			netRequest{remote: "172.16.0.5:1", xff: []string{"10.0.0.1, 203.0.113.9"}}, 403, "203.0.113.9"},
		{"spoofed on a separate header line", lan, proxies, false,
			netRequest{remote: "172.16.0.5:1", xff: []string{"10.0.0.1", "203.0.113.9"}}, 403, "203.0.113.9"},
		{"chain of trusted proxies", lan, proxies, false,
			netRequest{remote: "172.16.0.5:1", xff: []string{"10.9.9.9, 172.20.0.7, fd00::1"}}, 200, "10.9.9.9"},
		{"entries with ports and brackets", lan, proxies, false,
			netRequest{remote: "172.16.0.5:1", xff: []string{"[2001:db8::9]:4711, 172.20.0.7:80"}}, 200, "2001:db8::9"},
		{"garbage entry fails closed", lan, proxies, false,
			netRequest{remote: "172.16.0.5:1", xff: []string{"10.0.0.1, not-an-ip"}}, 403, ""},
		{"trusted proxy calling itself", []string{"172.16.0.0/12"}, proxies, false,
			netRequest{remote: "172.16.0.5:1"}, 200, "172.16.0.5"},
		{"Lambda ALB: last entry is the client", lan, nil, true,
			netRequest{remote: "", xff: []string{"203.0.113.9, 10.2.3.4"}}, 200, "10.2.3.4"},
		{"Lambda ALB: spoofed entry ignored", lan, nil, true,
			netRequest{remote: "", xff: []string{"10.0.0.1, 203.0.113.9"}}, 403, "203.0.113.9"},
		{"Lambda ALB: no X-Forwarded-For", lan, nil, true, netRequest{remote: ""}, 403, ""},
		{"Lambda Function URL: bare source IP", lan, nil, false, netRequest{remote: "10.3.3.3"}, 200, "10.3.3.3"},
		{"/health stays open", lan, nil, false, netRequest{path: "/health", remote: "192.168.1.1:1"}, 200, "192.168.1.1"},
		{"/ready stays open", lan, nil, false, netRequest{path: "/ready", remote: "192.168.1.1:1"}, 200, "192.168.1.1"},
		{"unknown URL refused, not 404", lan, nil, false, netRequest{path: "/admin", remote: "192.168.1.1:1"}, 403, "192.168.1.1"},
		{"refused before auth", lan, nil, false, netRequest{remote: "192.168.1.1:1", noKey: true}, 403, "192.168.1.1"},
		{"no allow-list: everyone", nil, nil, false, netRequest{remote: "203.0.113.9:1"}, 200, "203.0.113.9"},
		{"no allow-list: access log ignores a forged header", nil, nil, false,
			netRequest{remote: "203.0.113.9:1", xff: []string{"1.2.3.4"}}, 200, "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := netHandler(t, func(o *server.Options) {
				o.AllowedClients = mustCIDRs(t, tt.allowed...)
				o.TrustedProxies = mustCIDRs(t, tt.trusted...)
				o.TrustForwardedFor = tt.trustXFF
			})
			rec := tt.req.do(h)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == 403 {
				var env struct {
					Error struct {
						Type string `json:"type"`
						Code string `json:"code"`
					} `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Code != "ip_not_allowed" || env.Error.Type != "permission_error" {
					t.Errorf("403 body = %s, want the OpenAI envelope with code ip_not_allowed", rec.Body)
				}
			}
			if got := logs.clients(t); len(got) != 1 || got[0] != tt.wantClient {
				t.Errorf("access log client = %q, want [%q]", got, tt.wantClient)
			}
		})
	}
}

func TestParseCIDRs(t *testing.T) {
	got, err := server.ParseCIDRs([]string{"10.1.2.3/8", " 2001:db8::/32 ", "192.0.2.7", "::1", "::ffff:10.0.0.1", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32", "::1/128", "10.0.0.1/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "fe80::1%eth0", "10.0.0"} {
		if _, err := server.ParseCIDRs([]string{bad}); err == nil {
			t.Errorf("ParseCIDRs(%q) succeeded, want an error", bad)
		}
	}
}

// TestCORSWildcardNeverAllowsCredentials: with ALLOWED_ORIGINS=* a browser
// may call the API from any page, but never with the user's cookies or
// credentials; listed origins may.
func TestCORSWildcardNeverAllowsCredentials(t *testing.T) {
	tests := []struct {
		name          string
		origins       []string
		origin        string
		wantOrigin    string
		wantCredsOpen bool
	}{
		{"wildcard", []string{"*"}, "https://evil.example", "*", false},
		{"listed origin", []string{"https://app.example"}, "https://app.example", "https://app.example", true},
		{"unlisted origin", []string{"https://app.example"}, "https://evil.example", "", false},
	}
	for _, tt := range tests {
		for _, method := range []string{http.MethodOptions, http.MethodGet} {
			t.Run(tt.name+" "+method, func(t *testing.T) {
				h, _ := netHandler(t, func(o *server.Options) { o.Origins = tt.origins })
				req := httptest.NewRequest(method, "/api/v1/models", nil)
				req.Header.Set("Origin", tt.origin)
				req.Header.Set("Authorization", "Bearer "+netTestKey)
				if method == http.MethodOptions {
					req.Header.Set("Access-Control-Request-Method", "POST")
					req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
					t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
				}
				creds := rec.Header().Get("Access-Control-Allow-Credentials") == "true"
				if creds != tt.wantCredsOpen {
					t.Errorf("Access-Control-Allow-Credentials true = %v, want %v", creds, tt.wantCredsOpen)
				}
				if creds && rec.Header().Get("Access-Control-Allow-Origin") == "*" {
					t.Error("wildcard origin with credentials")
				}
			})
		}
	}
}
