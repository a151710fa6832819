package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
)

// TestGatewayWithKeysFromMoto builds the gateway handler on a Store that
// reads SSM -> ARN -> secret from moto, and calls it over HTTP through a
// rotation. No key value may appear in a response body or a log line.
func TestGatewayWithKeysFromMoto(t *testing.T) {
	endpoint := startMoto(t)
	teamA, teamB, teamB2 := newValue(t), newValue(t), newValue(t)
	f := newFixture(t, endpoint, `{"team-a":"`+teamA+`","team-b":"`+teamB+`"}`)
	log, logs := jsonLogger()
	store := loadStore(t, auth.Options{
		Sources: auth.Sources{SecretARNParameter: f.ParamName}, SSM: f.c.ssm, SecretsManager: f.c.secrets,
		Logger: log, EarlyRefreshEvery: time.Nanosecond,
	})
	gw := httptest.NewServer(server.New(server.Options{
		Logger:    log,
		Catalogue: bedrock.NewStaticCatalogue("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
		Auth:      store,
	}))
	t.Cleanup(gw.Close)

	call := func(key string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, gw.URL+"/api/v1/models", nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatalf("GET /models: %v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	var bodies []string
	check := func(step, key string, want int) {
		t.Helper()
		status, body := call(key)
		bodies = append(bodies, body)
		if status != want {
			t.Errorf("%s: status %d, want %d; body %s", step, status, want, body)
		}
		if want == http.StatusUnauthorized {
			var env struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.Code == "" {
				t.Errorf("%s: 401 body %q is not the OpenAI envelope", step, body)
			}
		}
	}
	check("team-a key", teamA, http.StatusOK)
	check("team-b key", teamB, http.StatusOK)
	check("unknown key", newValue(t), http.StatusUnauthorized)
	check("no key", "", http.StatusUnauthorized)

	f.rotate(t, `{"team-a":"`+teamA+`","team-b":"`+teamB2+`"}`)
	check("team-b's new key", teamB2, http.StatusOK)
	check("team-b's old key during rotation", teamB, http.StatusOK)

	got := logs.String()
	if !strings.Contains(got, `"key":"team-b"`) {
		t.Errorf("the access log does not name the key:\n%s", got)
	}
	assertNoValues(t, "logs", got, teamA, teamB, teamB2)
	assertNoValues(t, "response bodies", strings.Join(bodies, "\n"), teamA, teamB, teamB2)
}
