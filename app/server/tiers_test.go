package server_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	openai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
)

const modelNova2 = "us.amazon.nova-2-lite-v1:0" // priority and flex tiers

// TestServiceTier sends OpenAI's service_tier through to Bedrock's
// serviceTier, echoes the tier Bedrock served, prices it, and refuses a
// tier the model does not offer before calling Bedrock.
func TestServiceTier(t *testing.T) {
	h := newObservedHarness(t)
	tests := []struct {
		name, model, tier string
		wantStatus        int
		wantSent          string // Bedrock's serviceTier.type, "" for none
		wantEcho          string
	}{
		{"flex on Nova 2 Lite", modelNova2, "flex", 200, "flex", "flex"},
		{"priority on Claude", modelClaude, "priority", 200, "priority", "priority"},
		{"fast is priority", modelClaude, "fast", 200, "priority", "priority"},
		{"auto leaves it to Bedrock", modelClaude, "auto", 200, "", "default"},
		{"default", modelNova2, "default", 200, "default", "default"},
		{"flex on Claude", modelClaude, "flex", 400, "", ""},
		{"priority on Llama", "us.meta.llama3-3-70b-instruct-v1:0", "priority", 400, "", ""},
		{"scale", modelNova2, "scale", 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := len(h.emu.Requests())
			body := `{"model":"` + tt.model + `","service_tier":"` + tt.tier + `","messages":[{"role":"user","content":"hi"}]}`
			resp := h.post(t, "/api/v1/chat/completions", testKey, body)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, b, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				if !strings.Contains(string(b), `"param":"service_tier"`) {
					t.Errorf("error %s does not name service_tier", b)
				}
				if n := len(h.emu.Requests()); n != calls {
					t.Errorf("%d calls reached Bedrock, want 0", n-calls)
				}
				return
			}
			var sent struct {
				ServiceTier *struct{ Type string } `json:"serviceTier"`
			}
			_ = json.Unmarshal(h.lastRequest(t, "Converse").Body, &sent)
			if got := ""; sent.ServiceTier != nil {
				got = sent.ServiceTier.Type
				if got != tt.wantSent {
					t.Errorf("Bedrock got serviceTier %q, want %q", got, tt.wantSent)
				}
			} else if tt.wantSent != "" {
				t.Errorf("Bedrock got no serviceTier, want %q", tt.wantSent)
			}
			var out struct {
				ServiceTier string `json:"service_tier"`
			}
			if err := json.Unmarshal(b, &out); err != nil || out.ServiceTier != tt.wantEcho {
				t.Errorf("response service_tier %q (%v), want %q", out.ServiceTier, err, tt.wantEcho)
			}
		})
	}
}

// TestServiceTierPriced checks that the cost of a response applies its
// tier's multiplier (flex: half the default price).
func TestServiceTierPriced(t *testing.T) {
	h := newObservedHarness(t)
	for _, tier := range []string{"default", "flex"} {
		body := `{"model":"` + modelNova2 + `","service_tier":"` + tier + `","messages":[{"role":"user","content":"hello there"}]}`
		if r := postWithID(t, h.harness, "/api/v1/chat/completions", "req-"+tier, body); r.StatusCode != 200 {
			t.Fatalf("%s: status %d", tier, r.StatusCode)
		}
	}
	def, flex := accessLine(t, h.logs.String(), "req-default"), accessLine(t, h.logs.String(), "req-flex")
	dc, _ := def["cost_usd"].(float64)
	fc, _ := flex["cost_usd"].(float64)
	if flex["service_tier"] != "flex" || dc <= 0 || math.Abs(fc-dc/2) > 1e-15 {
		t.Errorf("flex cost %v (tier %v), want half the default %v", fc, flex["service_tier"], dc)
	}
}

// TestServiceTierDefaults checks the per-model default tier (SERVICE_TIERS):
// sent when the request names none, skipped for a model without that tier.
func TestServiceTierDefaults(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.Translator = &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{}),
			ServiceTiers: map[string]string{"*": "flex", "anthropic.claude-sonnet-4-5-20250929-v1:0": "priority"}}
	})
	for model, want := range map[string]string{modelNova2: "flex", modelClaude: "priority", "us.meta.llama3-3-70b-instruct-v1:0": ""} {
		resp := h.post(t, "/api/v1/chat/completions", testKey, `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
		}
		var sent struct {
			ServiceTier *struct{ Type string } `json:"serviceTier"`
		}
		_ = json.Unmarshal(h.lastRequest(t, "Converse").Body, &sent)
		got := ""
		if sent.ServiceTier != nil {
			got = sent.ServiceTier.Type
		}
		if got != want {
			t.Errorf("%s: Bedrock got serviceTier %q, want %q", model, got, want)
		}
	}
}

// TestServiceTierStreamed checks the tier on the stream's usage chunk.
func TestServiceTierStreamed(t *testing.T) {
	h := newHarness(t)
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"model":"`+modelNova2+`","stream":true,"stream_options":{"include_usage":true},"service_tier":"flex","messages":[{"role":"user","content":"hi"}]}`)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"choices":[],"usage":`) || !strings.Contains(string(b), `"service_tier":"flex"`) {
		t.Errorf("stream %d:\n%s\nwant a usage chunk with service_tier flex", resp.StatusCode, b)
	}
}

// TestResponsesServiceTier maps service_tier on /responses as on chat:
// through to Bedrock's serviceTier, the served tier echoed in the final
// response (plain and streamed), a tier the model does not offer refused
// before Bedrock is called.
func TestResponsesServiceTier(t *testing.T) {
	h := newHarness(t)
	c := h.responsesClient(testKey)
	tests := []struct {
		name, model, tier string
		wantStatus        int
		wantSent          string // Bedrock's serviceTier.type, "" for none
		wantEcho          string
	}{
		{"flex on Nova 2 Lite", modelNova2, "flex", 200, "flex", "flex"},
		{"priority on Claude", modelClaude, "priority", 200, "priority", "priority"},
		{"fast is priority", modelClaude, "fast", 200, "priority", "priority"},
		{"auto leaves it to Bedrock", modelClaude, "auto", 200, "", "default"},
		{"none leaves it to Bedrock", modelClaude, "", 200, "", "default"},
		{"default", modelNova2, "default", 200, "default", "default"},
		{"flex on Claude", modelClaude, "flex", 400, "", ""},
		{"priority on Llama", "us.meta.llama3-3-70b-instruct-v1:0", "priority", 400, "", ""},
		{"scale", modelNova2, "scale", 400, "", ""},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{true: " streamed"}[stream], func(t *testing.T) {
				calls := len(h.emu.Requests())
				params := responses.ResponseNewParams{Model: tt.model, Input: inputText("hi"), ServiceTier: responses.ResponseNewParamsServiceTier(tt.tier)}
				var r *responses.Response
				var err error
				if stream {
					var events []responses.ResponseStreamEventUnion
					if events, err = streamEvents(t, h, params); err == nil {
						r = &events[len(events)-1].Response
						if created := events[0].Response.ServiceTier; created != responses.ResponseServiceTier(cmp.Or(tt.tier, "default")) {
							t.Errorf("response.created service_tier %q, want the request's %q", created, tt.tier)
						}
					}
				} else {
					r, err = c.New(context.Background(), params)
				}
				if tt.wantStatus != 200 {
					var apiErr *openai.Error
					if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus || apiErr.Param != "service_tier" {
						t.Fatalf("got %v, want %d naming service_tier", err, tt.wantStatus)
					}
					if n := len(h.emu.Requests()); n != calls {
						t.Errorf("%d calls reached Bedrock, want 0", n-calls)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				validateResponse(t, r)
				op := map[bool]string{false: "Converse", true: "ConverseStream"}[stream]
				var sent struct {
					ServiceTier *struct{ Type string } `json:"serviceTier"`
				}
				_ = json.Unmarshal(h.lastRequest(t, op).Body, &sent)
				got := ""
				if sent.ServiceTier != nil {
					got = sent.ServiceTier.Type
				}
				if got != tt.wantSent {
					t.Errorf("Bedrock got serviceTier %q, want %q", got, tt.wantSent)
				}
				if r.ServiceTier != responses.ResponseServiceTier(tt.wantEcho) {
					t.Errorf("response service_tier %q, want %q", r.ServiceTier, tt.wantEcho)
				}
			})
		}
	}
}

// TestResponsesServiceTierPriced checks that a response's cost, plain and
// streamed, applies its tier's multiplier (flex: half the default price).
func TestResponsesServiceTierPriced(t *testing.T) {
	h := newObservedHarness(t)
	for _, stream := range []string{"false", "true"} {
		for _, tier := range []string{"default", "flex"} {
			body := `{"model":"` + modelNova2 + `","stream":` + stream + `,"service_tier":"` + tier + `","input":"hello there"}`
			if r := postWithID(t, h.harness, "/api/v1/responses", "req-"+tier+"-"+stream, body); r.StatusCode != 200 {
				t.Fatalf("%s stream %s: status %d", tier, stream, r.StatusCode)
			}
		}
		def, flex := accessLine(t, h.logs.String(), "req-default-"+stream), accessLine(t, h.logs.String(), "req-flex-"+stream)
		dc, _ := def["cost_usd"].(float64)
		fc, _ := flex["cost_usd"].(float64)
		if flex["service_tier"] != "flex" || dc <= 0 || math.Abs(fc-dc/2) > 1e-15 {
			t.Errorf("stream %s: flex cost %v (tier %v), want half the default %v", stream, fc, flex["service_tier"], dc)
		}
	}
}

// TestResponsesServiceTierDefaults checks that the per-model default tier
// (SERVICE_TIERS) applies to /responses too.
func TestResponsesServiceTierDefaults(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.Translator = &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{}), ServiceTiers: map[string]string{"*": "flex"}}
	})
	r, err := h.responsesClient(testKey).New(context.Background(), responses.ResponseNewParams{Model: modelNova2, Input: inputText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(h.lastRequest(t, "Converse").Body), `"serviceTier":{"type":"flex"}`) || r.ServiceTier != "flex" {
		t.Errorf("Bedrock got %s, response service_tier %q; want flex sent and echoed", h.lastRequest(t, "Converse").Body, r.ServiceTier)
	}
}
