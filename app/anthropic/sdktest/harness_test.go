package sdktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/server"
)

const testKey = "sk-test-anthropic-0123456789"

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // as the gateway command does
	os.Exit(m.Run())
}

// Models the catalogue serves: Claude through its profiles (native
// InvokeModel), Nova through Converse.
const (
	sonnetProfile = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	haikuModel    = "anthropic.claude-haiku-4-5-20251001-v1:0"
	novaModel     = "amazon.nova-pro-v1:0"
	opusProfile   = "us.anthropic.claude-opus-4-8" // Claude Code's default
)

// harness is a gateway in front of a Bedrock emulator, both on 127.0.0.1,
// and the official Anthropic client pointed at it as Claude Code would be
// (base URL: the route prefix without /v1).
type harness struct {
	emu    *bedrocktest.Server
	url    string
	client anthropic.Client
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(tb testing.TB, configure ...func(*server.Options)) *harness {
	tb.Helper()
	emu := bedrocktest.NewServer(tb)
	logs := &syncBuffer{}
	opts := server.Options{
		Logger:       slog.New(slog.NewJSONHandler(logs, nil)),
		Bedrock:      emu.RuntimeClient(tb),
		Catalogue:    bedrock.NewStaticCatalogue(sonnetProfile, haikuModel, novaModel, opusProfile),
		Auth:         auth.NewStatic(auth.NewKey("team-a", testKey)),
		Region:       "us-east-1",
		PingInterval: 50 * time.Millisecond,
		Version:      "test",
	}
	for _, c := range configure {
		c(&opts)
	}
	srv := httptest.NewServer(server.New(opts))
	tb.Cleanup(srv.Close)
	client := anthropic.NewClient(option.WithBaseURL(srv.URL+"/api"), option.WithAPIKey(testKey),
		option.WithMaxRetries(0), option.WithRequestTimeout(20*time.Second))
	return &harness{emu: emu, url: srv.URL, client: client, logs: logs}
}

// lastRequest returns the emulator's last request of an operation.
func (h *harness) lastRequest(tb testing.TB, op string) bedrocktest.Request {
	tb.Helper()
	reqs := h.emu.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Operation == op {
			return reqs[i]
		}
	}
	tb.Fatalf("the emulator saw no %s request", op)
	return bedrocktest.Request{}
}

// post sends a raw request to the gateway with the Anthropic headers.
func (h *harness) post(tb testing.TB, path, body string, header ...string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("x-api-key", testKey)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}

// strict fails the test if the JSON the SDK decoded into v holds a member
// that v's types do not know, anywhere in the value: the gateway must send
// nothing Anthropic's schema lacks. Each SDK type keeps its raw JSON
// (RawJSON, or JSON.raw); its members are checked against the type's json tags (union
// types list every variant's members).
func strict(tb testing.TB, what string, v any) {
	tb.Helper()
	type rawer interface{ RawJSON() string }
	var walk func(path string, rv reflect.Value)
	walk = func(path string, rv reflect.Value) {
		switch rv.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !rv.IsNil() {
				walk(path, rv.Elem())
			}
		case reflect.Slice, reflect.Array:
			for i := range rv.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), rv.Index(i))
			}
		case reflect.Struct:
			raw := ""
			if r, ok := rv.Interface().(rawer); ok {
				raw = r.RawJSON()
			} else if meta := rv.FieldByName("JSON"); meta.IsValid() && meta.Kind() == reflect.Struct {
				if f := meta.FieldByName("raw"); f.IsValid() && f.Kind() == reflect.String {
					raw = f.String() // unexported, readable through reflect
				}
			}
			if raw != "" {
				var members map[string]json.RawMessage
				if json.Unmarshal([]byte(raw), &members) == nil {
					known := map[string]bool{}
					for i := range rv.NumField() {
						name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
						known[name] = true
					}
					for k := range members {
						if !known[k] {
							tb.Errorf("%s: %s has the member %q, unknown to the Anthropic SDK's %s", what, path, k, rv.Type())
						}
					}
				}
			}
			for i := range rv.NumField() {
				if f := rv.Type().Field(i); f.IsExported() && f.Name != "JSON" {
					walk(path+"."+f.Name, rv.Field(i))
				}
			}
		}
	}
	walk(reflect.TypeOf(v).String(), reflect.ValueOf(v))
}
