package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	bedrockcp "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	openaigo "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/openai/openaitest"
	"github.com/openbedrock/gateway/app/server"
)

const (
	catKey          = "sk-catalogue-test"
	catHaiku        = "anthropic.claude-haiku-4-5-20251001-v1:0"
	catDefaultModel = "us." + catHaiku
	catTeamChatARN  = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
	catSonnet45     = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
)

// catalogueGateway is the gateway with a live catalogue, in front of a
// Bedrock emulator whose control plane can be switched to deny access.
type catalogueGateway struct {
	emu    *bedrocktest.Emulator
	deny   atomic.Bool
	cat    *bedrock.Catalogue
	url    string
	client openaigo.Client
}

type catalogueGatewayOptions struct {
	denyAtStart bool
	server      func(*server.Options)
}

func newCatalogueGateway(tb testing.TB, o catalogueGatewayOptions) *catalogueGateway {
	tb.Helper()
	g := &catalogueGateway{emu: bedrocktest.New()}
	g.deny.Store(o.denyAtStart)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.deny.Load() && !strings.HasPrefix(r.URL.Path, "/model/") {
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"not authorized to perform bedrock:ListFoundationModels"}`))
			return
		}
		g.emu.ServeHTTP(w, r)
	}))
	tb.Cleanup(upstream.Close)
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	rt := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(upstream.URL), Credentials: creds, RetryMaxAttempts: 1,
		HTTPClient: bedrock.ShieldBodies(awshttp.NewBuildableClient())})
	cp := bedrockcp.New(bedrockcp.Options{Region: "us-east-1", BaseEndpoint: aws.String(upstream.URL), Credentials: creds, RetryMaxAttempts: 1})
	g.cat = bedrock.NewCatalogue(bedrock.CatalogueOptions{Client: cp, CrossRegion: true, ApplicationProfiles: true,
		Static: []string{catDefaultModel, "cohere.embed-multilingual-v3"}})
	_ = g.cat.Refresh(context.Background()) // may fail on purpose (denyAtStart)

	opts := server.Options{
		Bedrock:               rt,
		Catalogue:             g.cat,
		Auth:                  auth.NewStatic(auth.NewKey("default", catKey)),
		DefaultModel:          catDefaultModel,
		DefaultEmbeddingModel: "cohere.embed-multilingual-v3",
		Embedder:              &bedrock.Embedder{Client: rt, Tokenizer: sharedTokenizer},
	}
	if o.server != nil {
		o.server(&opts)
	}
	srv := httptest.NewServer(server.New(opts))
	tb.Cleanup(srv.Close)
	g.url = srv.URL
	g.client = openaigo.NewClient(option.WithBaseURL(srv.URL+"/api/v1"), option.WithAPIKey(catKey),
		option.WithMaxRetries(0), option.WithRequestTimeout(20*time.Second))
	return g
}

// sharedTokenizer loads cl100k_base once for the whole package's tests.
var sharedTokenizer = bedrock.NewTokenizer()

func (g *catalogueGateway) get(tb testing.TB, path string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, g.url+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+catKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, body
}

func (g *catalogueGateway) health(tb testing.TB) bedrock.CatalogueStatus {
	tb.Helper()
	resp, body := g.get(tb, "/health")
	var h struct {
		Models *bedrock.CatalogueStatus `json:"models"`
	}
	if err := json.Unmarshal(body, &h); err != nil || resp.StatusCode != http.StatusOK || h.Models == nil {
		tb.Fatalf("/health: %d %s %v", resp.StatusCode, body, err)
	}
	return *h.Models
}

func (g *catalogueGateway) modelIDs(tb testing.TB) []string {
	tb.Helper()
	page, err := g.client.Models.List(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	openaitest.Validate(tb, openaitest.ModelList, []byte(page.RawJSON()))
	ids := make([]string, len(page.Data))
	for i, m := range page.Data {
		ids[i] = m.ID
		if m.Object != "model" || m.OwnedBy == "" {
			tb.Errorf("model %s: object %q owned_by %q", m.ID, m.Object, m.OwnedBy)
		}
	}
	return ids
}

func (g *catalogueGateway) chat(tb testing.TB, model string) (*openaigo.ChatCompletion, error) {
	tb.Helper()
	return g.client.Chat.Completions.New(context.Background(), openaigo.ChatCompletionNewParams{
		Model:    model,
		Messages: []openaigo.ChatCompletionMessageParamUnion{openaigo.UserMessage("hello")},
	})
}

// lastModelID is the model id of the emulator's last runtime call.
func (g *catalogueGateway) lastModelID(tb testing.TB) string {
	tb.Helper()
	reqs := g.emu.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Operation == "Converse" || reqs[i].Operation == "InvokeModel" {
			return reqs[i].ModelID
		}
	}
	tb.Fatal("the emulator saw no runtime call")
	return ""
}

func apiError(tb testing.TB, err error, status int, code string) *openaigo.Error {
	tb.Helper()
	var ae *openaigo.Error
	if !errors.As(err, &ae) {
		tb.Fatalf("got %v, want an API error %d", err, status)
	}
	if ae.StatusCode != status || ae.Code != code {
		tb.Errorf("got %d %q (%s), want %d %q", ae.StatusCode, ae.Code, ae.Message, status, code)
	}
	return ae
}

func TestModelsList(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	ids := g.modelIDs(t)
	for _, want := range []string{"amazon.nova-2-lite-v1:0", catDefaultModel, catSonnet45, "global.anthropic.claude-sonnet-4-6",
		"team-chat", "batch-nova", "amazon.nova-micro-v1:0", "cohere.embed-multilingual-v3", "amazon.titan-embed-text-v2:0", "us.cohere.embed-v4:0"} {
		if !slices.Contains(ids, want) {
			t.Errorf("GET /models lacks %s", want)
		}
	}
	for _, hidden := range []string{catTeamChatARN, "anthropic.claude-sonnet-4-5-20250929-v1:0", catHaiku, "us.anthropic.claude-3-5-haiku-20241022-v1:0"} {
		if slices.Contains(ids, hidden) {
			t.Errorf("GET /models lists %s", hidden)
		}
	}
	if st := g.health(t); st.Source != bedrock.SourceBedrock || st.Count != len(ids) || st.RefreshedAt == nil || st.Error != "" {
		t.Errorf("/health models: got %+v", st)
	}
}

func TestModelsGet(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	tests := []struct{ name, path, wantID string }{
		{"colon", "amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"},
		{"profile", catSonnet45, catSonnet45},
		{"application profile name", "team-chat", "team-chat"},
		{"raw ARN", catTeamChatARN, catTeamChatARN},
		{"encoded ARN", url.PathEscape(catTeamChatARN), catTeamChatARN},
		{"encoded colon", url.PathEscape("amazon.nova-pro-v1:0"), "amazon.nova-pro-v1:0"},
		{"embedding model", "cohere.embed-v4:0", "cohere.embed-v4:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := g.get(t, "/api/v1/models/"+tt.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			openaitest.Validate(t, openaitest.Model, body)
			var m openaigo.Model
			if err := json.Unmarshal(body, &m); err != nil || m.ID != tt.wantID {
				t.Errorf("got %s (%v), want id %s", body, err, tt.wantID)
			}
		})
	}
	m, err := g.client.Models.Get(context.Background(), catTeamChatARN)
	if err != nil || m.ID != catTeamChatARN || m.OwnedBy != "anthropic" {
		t.Errorf("openai-go Get(ARN): %+v, %v", m, err)
	}

	_, err = g.client.Models.Get(context.Background(), "amazon.nova-pro-v9:0")
	ae := apiError(t, err, http.StatusNotFound, "model_not_found")
	if !strings.Contains(ae.Message, "amazon.nova-pro-v9:0") || !strings.Contains(ae.Message, "amazon.nova-pro-v1:0") {
		t.Errorf("message %q should name the model and suggest amazon.nova-pro-v1:0", ae.Message)
	}
}

func TestChatResolvesCatalogueIDs(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	tests := []struct{ sent, upstream string }{
		{"team-chat", catTeamChatARN},
		{catTeamChatARN, catTeamChatARN},
		{"abc123", catTeamChatARN},
		{catSonnet45, catSonnet45},
		{"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.sent, func(t *testing.T) {
			resp, err := g.chat(t, tt.sent)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != tt.sent {
				t.Errorf("response model: got %s, want the id sent, %s", resp.Model, tt.sent)
			}
			if got := g.lastModelID(t); got != tt.upstream {
				t.Errorf("Bedrock model id: got %s, want %s", got, tt.upstream)
			}
		})
	}
}

func TestChatModelErrors(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	_, err := g.chat(t, "anthropic.claude-haiku-4-5")
	ae := apiError(t, err, http.StatusNotFound, "model_not_found")
	if ae.Param != "model" || !strings.Contains(ae.Message, "'anthropic.claude-haiku-4-5'") || !strings.Contains(ae.Message, "Did you mean ") || !strings.Contains(ae.Message, catDefaultModel) {
		t.Errorf("message %q param %q: want the model named and %s suggested", ae.Message, ae.Param, catDefaultModel)
	}
	if strings.Count(ae.Message, ", ") > 2 {
		t.Errorf("more than 3 suggestions: %q", ae.Message)
	}
	_, err = g.chat(t, "cohere.embed-english-v3")
	ae = apiError(t, err, http.StatusBadRequest, "model_not_supported")
	if !strings.Contains(ae.Message, "/embeddings") {
		t.Errorf("message %q should point at /embeddings", ae.Message)
	}
	_, err = g.chat(t, "gpt-4o")
	apiError(t, err, http.StatusNotFound, "model_not_found")
}

func TestChatDefaultModel(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	req, _ := http.NewRequest(http.MethodPost, g.url+"/api/v1/chat/completions", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+catKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out openaigo.ChatCompletion
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.Model != catDefaultModel {
		t.Errorf("got %d %s, want 200 with model %s", resp.StatusCode, body, catDefaultModel)
	}
	if got := g.lastModelID(t); got != catDefaultModel {
		t.Errorf("Bedrock model id: got %s, want %s", got, catDefaultModel)
	}
}

func TestChatAliases(t *testing.T) {
	tests := []struct {
		name           string
		aliases        map[string]string
		gpt            bool
		sent, upstream string
		wantStatus     int
	}{
		{"configured alias", map[string]string{"gpt-4o": catSonnet45}, false, "gpt-4o", catSonnet45, 200},
		{"alias to a profile name", map[string]string{"chat": "team-chat"}, false, "chat", catTeamChatARN, 200},
		{"gpt switch", nil, true, "gpt-3.5-turbo", catDefaultModel, 200},
		{"configured alias wins over the switch", map[string]string{"gpt-4o": catSonnet45}, true, "gpt-4o", catSonnet45, 200},
		{"no switch", nil, false, "gpt-3.5-turbo", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newCatalogueGateway(t, catalogueGatewayOptions{server: func(o *server.Options) {
				o.ModelAliases, o.AliasGPTModels = tt.aliases, tt.gpt
			}})
			resp, err := g.chat(t, tt.sent)
			if tt.wantStatus != 200 {
				apiError(t, err, tt.wantStatus, "model_not_found")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != tt.sent {
				t.Errorf("response model: got %s, want %s", resp.Model, tt.sent)
			}
			if got := g.lastModelID(t); got != tt.upstream {
				t.Errorf("Bedrock model id: got %s, want %s", got, tt.upstream)
			}
		})
	}
}

func TestModelsRefreshWhileRunning(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	const added = "anthropic.claude-opus-4-7-20260101-v1:0"
	if _, err := g.chat(t, "us."+added); err == nil {
		t.Fatal("chat with a model not yet in the catalogue succeeded")
	}
	g.emu.AddModel(bedrocktest.Model{ID: added, Name: "Claude Opus 4.7", Provider: "Anthropic",
		InputModalities: []string{"TEXT", "IMAGE"}, OutputModalities: []string{"TEXT"}, Streaming: true,
		InferenceTypes: []string{"INFERENCE_PROFILE"}, Profiles: []string{"us"}})
	if err := g.cat.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(g.modelIDs(t), "us."+added) {
		t.Error("GET /models lacks the added model after a refresh")
	}
	if _, err := g.chat(t, "us."+added); err != nil {
		t.Errorf("chat with the added model: %v", err)
	}
}

func TestModelsFailedRefreshKeepsList(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	before := g.modelIDs(t)
	g.deny.Store(true)
	if err := g.cat.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh succeeded with access denied")
	}
	if after := g.modelIDs(t); !slices.Equal(after, before) {
		t.Errorf("GET /models changed after a failed refresh: %d models, had %d", len(after), len(before))
	}
	if _, err := g.chat(t, "team-chat"); err != nil {
		t.Errorf("chat after a failed refresh: %v", err)
	}
	if st := g.health(t); st.Source != bedrock.SourceBedrock || st.Error != "AccessDeniedException" || st.Failures != 1 {
		t.Errorf("/health models: got %+v", st)
	}
}

func TestModelsControlPlaneDeniedAtStart(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{denyAtStart: true})
	st := g.health(t)
	if st.Source != bedrock.SourceStatic || st.Error != "AccessDeniedException" || st.Count != 2 || st.RefreshedAt != nil {
		t.Errorf("/health models: got %+v", st)
	}
	if ids := g.modelIDs(t); !slices.Equal(ids, []string{catDefaultModel, "cohere.embed-multilingual-v3"}) {
		t.Errorf("GET /models: got %v, want the configured defaults", ids)
	}
	if _, err := g.chat(t, catDefaultModel); err != nil {
		t.Errorf("chat with DEFAULT_MODEL: %v", err)
	}
	// Other ids pass through to Bedrock, which validates them.
	if _, err := g.chat(t, "amazon.nova-micro-v1:0"); err != nil {
		t.Errorf("chat with a real unlisted model: %v", err)
	}
	_, err := g.chat(t, "amazon.nova-mega-v9:0")
	apiError(t, err, http.StatusNotFound, "model_not_found")
	resp, _ := g.get(t, "/api/v1/models/amazon.nova-micro-v1:0")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /models/{unlisted} on the static list: got %d, want 404", resp.StatusCode)
	}

	// The next refresh recovers.
	g.deny.Store(false)
	if err := g.cat.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := g.health(t); st.Source != bedrock.SourceBedrock || st.Error != "" || st.Count < 20 {
		t.Errorf("/health models after recovery: got %+v", st)
	}
}

// TestRetiredModels checks that a model Bedrock retired gets a 404 naming
// its successor as this gateway serves it, whether or not the catalogue was
// discovered, and never Bedrock's bare end-of-life message.
func TestRetiredModels(t *testing.T) {
	for _, deny := range []bool{false, true} {
		g := newCatalogueGateway(t, catalogueGatewayOptions{denyAtStart: deny})
		tests := []struct{ sent, successor string }{
			{"us.anthropic.claude-3-5-haiku-20241022-v1:0", catDefaultModel},
			{"anthropic.claude-3-7-sonnet-20250219-v1:0", "global.anthropic.claude-sonnet-4-6"},
			{"global.anthropic.claude-sonnet-4-20250514-v1:0", "global.anthropic.claude-sonnet-4-6"},
		}
		if deny { // static catalogue: the successor is named through the same geography
			tests[1].successor = "anthropic.claude-sonnet-4-6"
		}
		for _, tt := range tests {
			calls := len(g.emu.Requests())
			_, err := g.chat(t, tt.sent)
			ae := apiError(t, err, http.StatusNotFound, "model_retired")
			if ae.Param != "model" || !strings.Contains(ae.Message, "'"+tt.sent+"'") || !strings.Contains(ae.Message, "use '"+tt.successor+"'") {
				t.Errorf("deny=%v %s: message %q param %q, want the model and its successor %s named", deny, tt.sent, ae.Message, ae.Param, tt.successor)
			}
			if n := len(g.emu.Requests()); n != calls {
				t.Errorf("deny=%v %s: %d calls reached Bedrock, want 0", deny, tt.sent, n-calls)
			}
		}
	}
}

// TestRetiredModelFromBedrock checks the mapping of Bedrock's own
// end-of-life error, for a retired model the gateway's table does not know.
func TestRetiredModelFromBedrock(t *testing.T) {
	const id = "anthropic.claude-2-retired-v1:0"
	g := newCatalogueGateway(t, catalogueGatewayOptions{server: func(o *server.Options) { o.Catalogue = bedrock.NewStaticCatalogue() }})
	g.emu.AddModel(bedrocktest.Model{ID: id, Name: "Old", Provider: "Anthropic", InputModalities: []string{"TEXT"}, OutputModalities: []string{"TEXT"},
		Streaming: true, Status: bedrocktest.StatusEOL})
	_, err := g.chat(t, id)
	ae := apiError(t, err, http.StatusNotFound, "model_retired")
	if ae.Param != "model" || !strings.Contains(ae.Message, "Amazon Bedrock has retired this model") {
		t.Errorf("message %q param %q, want the retirement explained", ae.Message, ae.Param)
	}
}

func TestModelsLegacy(t *testing.T) {
	const legacy = "us.anthropic.claude-opus-4-1-20250805-v1:0"
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	resp, body := g.get(t, "/api/v1/models")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var list struct {
		Data []struct{ ID, Lifecycle string }
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	marked := map[string]string{}
	for _, m := range list.Data {
		marked[m.ID] = m.Lifecycle
	}
	if marked[legacy] != "LEGACY" || marked[catDefaultModel] != "" {
		t.Errorf("lifecycle: %s = %q, %s = %q; want LEGACY and none", legacy, marked[legacy], catDefaultModel, marked[catDefaultModel])
	}

	hidden := newCatalogueGateway(t, catalogueGatewayOptions{server: func(o *server.Options) { o.HideLegacy = true }})
	ids := hidden.modelIDs(t)
	if slices.Contains(ids, legacy) || !slices.Contains(ids, catDefaultModel) {
		t.Errorf("HideLegacy: list has %s: %v, has %s: %v; want hidden and shown", legacy, slices.Contains(ids, legacy), catDefaultModel, slices.Contains(ids, catDefaultModel))
	}
	if _, err := hidden.chat(t, legacy); err != nil {
		t.Errorf("a hidden LEGACY model must still serve requests: %v", err)
	}
}

// TestDefaultsFollowCatalogue checks that requests without a model use the
// default the catalogue chose, not a configured one it replaced.
func TestDefaultsFollowCatalogue(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{server: func(o *server.Options) {
		o.DefaultModel = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
		o.Defaults = func() (string, string) { return "us.amazon.nova-2-lite-v1:0", "cohere.embed-v4:0" }
	}})
	if _, err := g.chat(t, ""); err != nil {
		t.Fatal(err)
	}
	if got := g.lastModelID(t); got != "us.amazon.nova-2-lite-v1:0" {
		t.Errorf("Bedrock model id: got %s, want the catalogue's default", got)
	}
}
