package bedrock_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	bedrockcp "github.com/aws/aws-sdk-go-v2/service/bedrock"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

const (
	teamChatARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
	haiku       = "anthropic.claude-haiku-4-5-20251001-v1:0" // profile-only
	micro       = "amazon.nova-micro-v1:0"                   // on demand and through profiles, text only
	sonnet45    = "anthropic.claude-sonnet-4-5-20250929-v1:0"
)

// controlPlane is a Bedrock emulator behind a switch that makes every
// control-plane call fail with AccessDeniedException, as for a role
// without bedrock:ListFoundationModels.
type controlPlane struct {
	emu    *bedrocktest.Emulator
	deny   atomic.Bool
	url    string
	client *bedrockcp.Client
}

func newControlPlane(tb testing.TB) *controlPlane {
	tb.Helper()
	cp := &controlPlane{emu: bedrocktest.New()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cp.deny.Load() {
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"User is not authorized to perform: bedrock:ListFoundationModels"}`))
			return
		}
		cp.emu.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	cp.url = srv.URL
	cp.client = newControlPlaneClient(srv.URL)
	return cp
}

func newControlPlaneClient(url string) *bedrockcp.Client {
	return bedrockcp.New(bedrockcp.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func allOn(client bedrock.ControlPlane, static ...string) bedrock.CatalogueOptions {
	return bedrock.CatalogueOptions{Client: client, CrossRegion: true, ApplicationProfiles: true, Static: static}
}

func listedIDs(ms []bedrock.Model) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ListedID()
	}
	return ids
}

func refresh(tb testing.TB, c *bedrock.Catalogue) {
	tb.Helper()
	if err := c.Refresh(context.Background()); err != nil {
		tb.Fatalf("Refresh: %v", err)
	}
}

func TestCatalogueDiscovers(t *testing.T) {
	cp := newControlPlane(t)
	c := bedrock.NewCatalogue(allOn(cp.client))
	refresh(t, c)
	ids := listedIDs(c.List())

	listed := []string{
		micro, // ON_DEMAND foundation model
		"us.anthropic.claude-opus-4-1-20250805-v1:0", // LEGACY is kept
		"us." + sonnet45, "global." + sonnet45, // system profiles
		"apac.anthropic.claude-opus-4-6-v1",
		"team-chat", "batch-nova", // application profiles, by name
		"cohere.embed-multilingual-v3", "amazon.titan-embed-text-v2:0", "cohere.embed-v4:0", "us.cohere.embed-v4:0",
		"amazon.nova-2-multimodal-embeddings-v1:0",
	}
	for _, id := range listed {
		if !slices.Contains(ids, id) {
			t.Errorf("List lacks %s; got %v", id, ids)
		}
	}
	for _, id := range []string{sonnet45, haiku, teamChatARN, "abc123", "us.anthropic.claude-3-5-haiku-20241022-v1:0"} {
		if slices.Contains(ids, id) {
			t.Errorf("List shows %s; want it hidden (profile-only model, or profile ARN/id)", id)
		}
	}
	// Every system profile of the default catalogue, over several pages of five.
	var want int
	for _, m := range bedrocktest.DefaultModels() {
		if m.Status != bedrocktest.StatusEOL {
			want += len(m.Profiles)
		}
	}
	var got int
	for _, m := range c.List() {
		if m.ID != m.FoundationModelID && !strings.HasPrefix(m.ID, "arn:") {
			got++
		}
	}
	if got != want {
		t.Errorf("system profiles: got %d, want %d", got, want)
	}

	st := c.Status()
	if st.Source != bedrock.SourceBedrock || st.Count != len(ids) || st.RefreshedAt == nil || st.Error != "" || st.Refreshes != 1 {
		t.Errorf("Status: got %+v", st)
	}
}

func TestCatalogueLookup(t *testing.T) {
	cp := newControlPlane(t)
	c := bedrock.NewCatalogue(allOn(cp.client))
	refresh(t, c)
	tests := []struct {
		id, wantID, wantFM string
		embedding, images  bool
	}{
		{micro, micro, micro, false, false},
		{"arn:aws:bedrock:us-east-1::foundation-model/" + micro, micro, micro, false, false},
		{"us." + sonnet45, "us." + sonnet45, sonnet45, false, true},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + sonnet45, "us." + sonnet45, sonnet45, false, true},
		{"team-chat", teamChatARN, haiku, false, true},
		{teamChatARN, teamChatARN, haiku, false, true},
		{"abc123", teamChatARN, haiku, false, true},
		{"batch-nova", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/def456", "amazon.nova-lite-v1:0", false, true},
		{"cohere.embed-english-v3", "cohere.embed-english-v3", "cohere.embed-english-v3", true, true},
		{"us.cohere.embed-v4:0", "us.cohere.embed-v4:0", "cohere.embed-v4:0", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			m, ok := c.Lookup(tt.id)
			if !ok {
				t.Fatalf("Lookup(%q): not found", tt.id)
			}
			if m.ID != tt.wantID || m.FoundationModelID != tt.wantFM {
				t.Errorf("got ID %s FM %s, want %s %s", m.ID, m.FoundationModelID, tt.wantID, tt.wantFM)
			}
			if m.IsEmbedding() != tt.embedding {
				t.Errorf("IsEmbedding: got %v, want %v", m.IsEmbedding(), tt.embedding)
			}
			if m.AcceptsImages() != tt.images {
				t.Errorf("AcceptsImages: got %v, want %v (modalities %v)", m.AcceptsImages(), tt.images, m.InputModalities)
			}
		})
	}
	for _, id := range []string{sonnet45, "anthropic.claude-9", "", "team"} {
		if m, ok := c.Lookup(id); ok {
			t.Errorf("Lookup(%q): got %+v, want not found", id, m)
		}
	}
}

func TestCatalogueProfileSwitches(t *testing.T) {
	cp := newControlPlane(t)
	tests := []struct {
		name              string
		cross, app        bool
		wantUS, wantTeams bool
	}{
		{"both", true, true, true, true},
		{"no cross-region", false, true, false, true},
		{"no application", true, false, true, false},
		{"neither", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := bedrock.NewCatalogue(bedrock.CatalogueOptions{Client: cp.client, CrossRegion: tt.cross, ApplicationProfiles: tt.app})
			refresh(t, c)
			_, us := c.Lookup("us." + haiku)
			_, team := c.Lookup("team-chat")
			if us != tt.wantUS || team != tt.wantTeams {
				t.Errorf("us. profile found %v (want %v), team-chat found %v (want %v)", us, tt.wantUS, team, tt.wantTeams)
			}
			if _, ok := c.Lookup(micro); !ok {
				t.Error("foundation model not found")
			}
		})
	}
}

func TestCatalogueRefreshPicksUpNewModel(t *testing.T) {
	cp := newControlPlane(t)
	c := bedrock.NewCatalogue(allOn(cp.client))
	refresh(t, c)
	const id = "anthropic.claude-opus-5-20261201-v1:0"
	if _, ok := c.Lookup(id); ok {
		t.Fatalf("%s found before it was added", id)
	}
	cp.emu.AddModel(bedrocktest.Model{ID: id, Name: "Claude Opus 5", Provider: "Anthropic",
		InputModalities: []string{"TEXT", "IMAGE"}, OutputModalities: []string{"TEXT"}, Streaming: true,
		InferenceTypes: []string{"INFERENCE_PROFILE"}, Profiles: []string{"us"}})
	refresh(t, c)
	if m, ok := c.Lookup("us." + id); !ok || m.FoundationModelID != id {
		t.Errorf("after refresh: got %+v, %v; want the new us. profile", m, ok)
	}
	cp.emu.RemoveModel(haiku)
	refresh(t, c)
	if _, ok := c.Lookup("us." + haiku); ok {
		t.Errorf("us.%s still found after the emulator removed it", haiku)
	}
}

func TestCatalogueFailedRefreshKeepsList(t *testing.T) {
	cp := newControlPlane(t)
	c := bedrock.NewCatalogue(allOn(cp.client))
	refresh(t, c)
	before := listedIDs(c.List())

	cp.deny.Store(true)
	if err := c.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh: got nil error with the control plane denying access")
	}
	if got := listedIDs(c.List()); !slices.Equal(got, before) {
		t.Errorf("list changed after a failed refresh: got %d models, want %d", len(got), len(before))
	}
	if _, ok := c.Lookup("team-chat"); !ok {
		t.Error("team-chat lost after a failed refresh")
	}
	st := c.Status()
	if st.Source != bedrock.SourceBedrock || st.Error != "AccessDeniedException" || st.Failures != 1 || st.Refreshes != 2 {
		t.Errorf("Status after failure: got %+v", st)
	}

	cp.deny.Store(false)
	refresh(t, c)
	if st := c.Status(); st.Error != "" || st.Failures != 1 || st.Refreshes != 3 {
		t.Errorf("Status after recovery: got %+v", st)
	}
}

func TestCatalogueStartsStaticWhenControlPlaneFails(t *testing.T) {
	cp := newControlPlane(t)
	cp.deny.Store(true)
	const custom = "arn:aws:bedrock:us-east-1:123456789012:custom-model/my-model/abc"
	c := bedrock.NewCatalogue(allOn(cp.client, "us."+haiku, "cohere.embed-multilingual-v3"))
	if err := c.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh: got nil error")
	}
	st := c.Status()
	if st.Source != bedrock.SourceStatic || st.Error != "AccessDeniedException" || st.Count != 2 || st.RefreshedAt != nil {
		t.Errorf("Status: got %+v", st)
	}
	if got := listedIDs(c.List()); !slices.Equal(got, []string{"us." + haiku, "cohere.embed-multilingual-v3"}) {
		t.Errorf("List: got %v", got)
	}
	if m, ok := c.Lookup("cohere.embed-multilingual-v3"); !ok || !m.IsEmbedding() {
		t.Errorf("static embedding model: got %+v, %v", m, ok)
	}
	// Static mode passes other ids through; Bedrock validates them.
	if m, ok := c.Lookup(custom); !ok || m.ID != custom {
		t.Errorf("pass-through: got %+v, %v", m, ok)
	}

	// Configured ids the control plane does not list stay served once it answers.
	cp.deny.Store(false)
	c = bedrock.NewCatalogue(allOn(cp.client, custom))
	refresh(t, c)
	if _, ok := c.Lookup(custom); !ok {
		t.Errorf("configured %s not served after discovery", custom)
	}
	if _, ok := c.Lookup("arn:aws:bedrock:us-east-1:123456789012:custom-model/other"); ok {
		t.Error("unconfigured ARN served after discovery")
	}
}

func TestCatalogueUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	c := bedrock.NewCatalogue(bedrock.CatalogueOptions{Client: newControlPlaneClient(url), Timeout: 5 * time.Second, Static: []string{haiku}})
	if err := c.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh: got nil error for a closed port")
	}
	if st := c.Status(); st.Error != "ConnectionError" || st.Source != bedrock.SourceStatic {
		t.Errorf("Status: got %+v, want a ConnectionError on the static list", st)
	}
}

func TestCatalogueRun(t *testing.T) {
	cp := newControlPlane(t)
	c := bedrock.NewCatalogue(allOn(cp.client))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, 20*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })

	waitUntil(t, "the first load", func() bool { return isClosed(c.Loaded()) && c.Status().Source == bedrock.SourceBedrock })
	cp.emu.AddModel(bedrocktest.Model{ID: "mistral.new-model-v1:0", Name: "New", Provider: "Mistral AI",
		InputModalities: []string{"TEXT"}, OutputModalities: []string{"TEXT"}, Streaming: true})
	waitUntil(t, "a background refresh to list the new model", func() bool {
		_, ok := c.Lookup("mistral.new-model-v1:0")
		return ok
	})
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLookupDoesNoIO(t *testing.T) {
	cp := newControlPlane(t)
	c := bedrock.NewCatalogue(allOn(cp.client))
	refresh(t, c)
	calls := len(cp.emu.Requests())
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := c.Lookup("team-chat"); !ok {
			t.Fatal("team-chat not found")
		}
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %.1f times per call, want 0", allocs)
	}
	if n := len(cp.emu.Requests()); n != calls {
		t.Errorf("Lookup made %d control-plane calls, want 0", n-calls)
	}
}

// BenchmarkLookup measures the per-request model validation: a map read on
// an immutable snapshot. It fails if any lookup reaches the control plane.
func BenchmarkLookup(b *testing.B) {
	cp := newControlPlane(b)
	c := bedrock.NewCatalogue(allOn(cp.client))
	refresh(b, c)
	ids := []string{micro, "us." + sonnet45, "team-chat", teamChatARN, "cohere.embed-v4:0"}
	calls := len(cp.emu.Requests())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Lookup(ids[i%len(ids)]); !ok {
				b.Error("lookup failed")
				return
			}
			i++
		}
	})
	b.StopTimer()
	if n := len(cp.emu.Requests()); n != calls {
		b.Fatalf("lookups made %d control-plane calls, want 0", n-calls)
	}
}

func TestCatalogueLegacy(t *testing.T) {
	cp := newControlPlane(t)
	c := bedrock.NewCatalogue(allOn(cp.client))
	refresh(t, c)
	for id, want := range map[string]bool{"us.anthropic.claude-opus-4-1-20250805-v1:0": true, "us." + haiku: false, micro: false} {
		if m, ok := c.Lookup(id); !ok || m.Legacy != want {
			t.Errorf("Lookup(%s): Legacy = %v (found %v), want %v", id, m.Legacy, ok, want)
		}
	}
}

// TestCatalogueDefaults checks that a configured default the catalogue does
// not serve (retired, or not offered in the region) is replaced by a current
// model through the region's profile, and a served one is kept.
func TestCatalogueDefaults(t *testing.T) {
	cp := newControlPlane(t)
	tests := []struct {
		name, chat, embedding, region string
		wantChat, wantEmbedding       string
	}{
		{"served defaults kept", "us.anthropic.claude-sonnet-4-6", "cohere.embed-v4:0", "us-east-1", "us.anthropic.claude-sonnet-4-6", "cohere.embed-v4:0"},
		{"retired chat default", "us.anthropic.claude-3-5-haiku-20241022-v1:0", "cohere.embed-multilingual-v3", "us-east-1", "us." + haiku, "cohere.embed-multilingual-v3"},
		{"EU region", "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "amazon.titan-embed-text-v1:0", "eu-west-1", "eu." + haiku, "cohere.embed-multilingual-v3"},
		{"no geographic profile", "apac.anthropic.claude-3-5-haiku-20241022-v1:0", "", "ap-south-1", "global." + haiku, "cohere.embed-multilingual-v3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := allOn(cp.client)
			o.DefaultModel, o.DefaultEmbeddingModel, o.Region = tt.chat, tt.embedding, tt.region
			c := bedrock.NewCatalogue(o)
			if chat, emb := c.Defaults(); chat != tt.chat || emb != tt.embedding {
				t.Errorf("before discovery: Defaults() = %s, %s; want the configured %s, %s", chat, emb, tt.chat, tt.embedding)
			}
			refresh(t, c)
			if chat, emb := c.Defaults(); chat != tt.wantChat || emb != tt.wantEmbedding {
				t.Errorf("Defaults() = %s, %s; want %s, %s", chat, emb, tt.wantChat, tt.wantEmbedding)
			}
		})
	}
}

func TestDefaultChatModel(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "us." + haiku, "us-west-2": "us." + haiku, "eu-central-1": "eu." + haiku,
		"ap-northeast-1": "global." + haiku, "sa-east-1": "global." + haiku,
	} {
		if got := bedrock.DefaultChatModel(region); got != want {
			t.Errorf("DefaultChatModel(%s) = %s, want %s", region, got, want)
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
