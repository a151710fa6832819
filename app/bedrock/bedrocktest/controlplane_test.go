package bedrocktest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestListFoundationModels(t *testing.T) {
	srv := NewServer(t)
	c := controlClient(t, srv)
	out, err := c.ListFoundationModels(context.Background(), &bedrock.ListFoundationModelsInput{})
	if err != nil {
		t.Fatalf("ListFoundationModels: %v", err)
	}
	byID := map[string]types.FoundationModelSummary{}
	for _, m := range out.ModelSummaries {
		byID[aws.ToString(m.ModelId)] = m
	}
	for _, id := range []string{
		"anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0",
		"anthropic.claude-sonnet-4-6", "anthropic.claude-sonnet-4-5-20250929-v1:0",
		"amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0",
		"anthropic.claude-opus-4-5-20251101-v1:0", "anthropic.claude-opus-4-6-v1", "anthropic.claude-opus-4-7",
		"anthropic.claude-opus-4-8", "anthropic.claude-sonnet-5", "anthropic.claude-opus-4-1-20250805-v1:0",
		"amazon.nova-2-lite-v1:0", "meta.llama4-maverick-17b-instruct-v1:0", "meta.llama4-scout-17b-instruct-v1:0",
		"meta.llama3-1-8b-instruct-v1:0", "meta.llama3-3-70b-instruct-v1:0", "mistral.mistral-large-3-675b-instruct",
		"deepseek.r1-v1:0", "deepseek.v3-v1:0", "deepseek.v3.2", "openai.gpt-oss-120b-1:0", "openai.gpt-oss-20b-1:0", "amazon.titan-embed-text-v1", "amazon.titan-embed-text-v2:0",
		"cohere.embed-english-v3", "cohere.embed-multilingual-v3", "cohere.embed-v4:0",
		"amazon.nova-2-multimodal-embeddings-v1:0",
	} {
		if _, ok := byID[id]; !ok {
			t.Errorf("catalogue lacks %s", id)
		}
	}
	for _, id := range []string{"anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0", "amazon.nova-premier-v1:0"} {
		if _, ok := byID[id]; ok {
			t.Errorf("catalogue lists %s, which Bedrock has retired", id)
		}
	}
	if opus41 := byID["anthropic.claude-opus-4-1-20250805-v1:0"]; opus41.ModelLifecycle == nil || opus41.ModelLifecycle.Status != types.FoundationModelLifecycleStatusLegacy {
		t.Errorf("Opus 4.1 lifecycle = %+v, want LEGACY", opus41.ModelLifecycle)
	}
	s45 := byID["anthropic.claude-sonnet-4-5-20250929-v1:0"]
	if got := s45.InferenceTypesSupported; len(got) != 1 || got[0] != "INFERENCE_PROFILE" {
		t.Errorf("Sonnet 4.5 inference types = %v, want [INFERENCE_PROFILE]", got)
	}
	if aws.ToString(s45.ModelArn) != "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0" ||
		aws.ToString(s45.ProviderName) != "Anthropic" || !aws.ToBool(s45.ResponseStreamingSupported) ||
		s45.ModelLifecycle == nil || s45.ModelLifecycle.Status != types.FoundationModelLifecycleStatusActive {
		t.Errorf("Sonnet 4.5 summary = %+v", s45)
	}
	if micro := byID["amazon.nova-micro-v1:0"]; !slices.Equal(micro.InputModalities, []types.ModelModality{types.ModelModalityText}) {
		t.Errorf("Nova Micro input modalities = %v, want [TEXT]", micro.InputModalities)
	}

	emb, err := c.ListFoundationModels(context.Background(), &bedrock.ListFoundationModelsInput{ByOutputModality: types.ModelModalityEmbedding, ByProvider: aws.String("cohere")})
	if err != nil {
		t.Fatalf("ListFoundationModels(EMBEDDING, cohere): %v", err)
	}
	var ids []string
	for _, m := range emb.ModelSummaries {
		ids = append(ids, aws.ToString(m.ModelId))
	}
	if want := []string{"cohere.embed-english-v3", "cohere.embed-multilingual-v3", "cohere.embed-v4:0"}; !slices.Equal(ids, want) {
		t.Errorf("EMBEDDING models by cohere = %v, want %v", ids, want)
	}

	got, err := c.GetFoundationModel(context.Background(), &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String("amazon.nova-pro-v1:0")})
	if err != nil || aws.ToString(got.ModelDetails.ModelName) != "Nova Pro" {
		t.Errorf("GetFoundationModel(nova-pro) = %+v, %v", got, err)
	}
	_, err = c.GetFoundationModel(context.Background(), &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String("acme.nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("GetFoundationModel(unknown) error = %v, want ResourceNotFoundException", err)
	}
}

func TestListInferenceProfilesPaginates(t *testing.T) {
	srv := NewServer(t)
	c := controlClient(t, srv)
	var (
		pages int
		ids   []string
	)
	p := bedrock.NewListInferenceProfilesPaginator(c, &bedrock.ListInferenceProfilesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		if len(page.InferenceProfileSummaries) > defaultPageSize {
			t.Errorf("page %d has %d profiles, want at most %d", pages+1, len(page.InferenceProfileSummaries), defaultPageSize)
		}
		for _, s := range page.InferenceProfileSummaries {
			ids = append(ids, aws.ToString(s.InferenceProfileId))
			if len(s.Models) == 0 || s.Status != types.InferenceProfileStatusActive || s.CreatedAt == nil {
				t.Errorf("profile %s = %+v, want models, ACTIVE and createdAt", aws.ToString(s.InferenceProfileId), s)
			}
			if s.Type == types.InferenceProfileTypeSystemDefined && len(s.Models) < 2 {
				t.Errorf("system profile %s lists %d regional models, want 2+", aws.ToString(s.InferenceProfileId), len(s.Models))
			}
		}
		pages++
	}
	want := len(New().catalogue().profiles())
	if len(ids) != want || pages != (want+defaultPageSize-1)/defaultPageSize {
		t.Errorf("got %d profiles in %d pages, want %d profiles in %d pages", len(ids), pages, want, (want+defaultPageSize-1)/defaultPageSize)
	}
	for _, id := range []string{"us.anthropic.claude-haiku-4-5-20251001-v1:0", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
		"apac.amazon.nova-pro-v1:0", "global.anthropic.claude-sonnet-4-6", "abc123"} {
		if !slices.Contains(ids, id) {
			t.Errorf("profiles lack %s", id)
		}
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != want {
		t.Errorf("profile ids repeat across pages")
	}

	apps, err := c.ListInferenceProfiles(context.Background(), &bedrock.ListInferenceProfilesInput{TypeEquals: types.InferenceProfileTypeApplication, MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatalf("ListInferenceProfiles(APPLICATION): %v", err)
	}
	if len(apps.InferenceProfileSummaries) != 2 || apps.NextToken != nil {
		t.Fatalf("APPLICATION profiles = %d (next %v), want 2 on one page", len(apps.InferenceProfileSummaries), apps.NextToken)
	}
	team := apps.InferenceProfileSummaries[0]
	if aws.ToString(team.InferenceProfileName) != "team-chat" ||
		aws.ToString(team.InferenceProfileArn) != "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123" || len(team.Models) != 3 {
		t.Errorf("team-chat profile = %+v", team)
	}

	got, err := c.GetInferenceProfile(context.Background(), &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: team.InferenceProfileArn})
	if err != nil || aws.ToString(got.InferenceProfileId) != "abc123" || got.Type != types.InferenceProfileTypeApplication {
		t.Errorf("GetInferenceProfile(team-chat ARN) = %+v, %v", got, err)
	}
	_, err = c.ListInferenceProfiles(context.Background(), &bedrock.ListInferenceProfilesInput{NextToken: aws.String("garbage")})
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Errorf("ListInferenceProfiles(bad token) error = %v, want ValidationException", err)
	}
}

func TestAddAndRemoveModel(t *testing.T) {
	srv := NewServer(t)
	c := controlClient(t, srv)
	rt := runtimeClient(t, srv)
	m := Model{ID: "acme.new-model-v1:0", Name: "New", Provider: "Acme", InputModalities: []string{"TEXT"},
		OutputModalities: []string{"TEXT"}, Streaming: true, Profiles: []string{"us"}}

	if _, err := converse(t, rt, "us.acme.new-model-v1:0", "hi"); err == nil {
		t.Fatalf("Converse on a model not yet added succeeded")
	}
	srv.AddModel(m)
	out, err := c.ListFoundationModels(context.Background(), &bedrock.ListFoundationModelsInput{ByProvider: aws.String("Acme")})
	if err != nil || len(out.ModelSummaries) != 1 || aws.ToString(out.ModelSummaries[0].ModelId) != m.ID {
		t.Fatalf("ListFoundationModels after AddModel = %+v, %v", out, err)
	}
	if _, err := c.GetInferenceProfile(context.Background(), &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String("us." + m.ID)}); err != nil {
		t.Errorf("GetInferenceProfile(us.%s) after AddModel: %v", m.ID, err)
	}
	if _, err := converse(t, rt, "us."+m.ID, "hi"); err != nil {
		t.Errorf("Converse after AddModel: %v", err)
	}

	srv.RemoveModel(m.ID)
	out, err = c.ListFoundationModels(context.Background(), &bedrock.ListFoundationModelsInput{ByProvider: aws.String("Acme")})
	if err != nil || len(out.ModelSummaries) != 0 {
		t.Errorf("ListFoundationModels after RemoveModel = %+v, %v", out, err)
	}
	_, err = converse(t, rt, "us."+m.ID, "hi")
	var ve *rttypes.ValidationException
	if !errors.As(err, &ve) {
		t.Errorf("Converse after RemoveModel error = %v, want ValidationException", err)
	}
}

// TestEndpointFromEnvironment reaches the emulator the way the gateway and
// the README demo do: through AWS_ENDPOINT_URL_BEDROCK and shared config.
func TestEndpointFromEnvironment(t *testing.T) {
	srv := NewServer(t)
	t.Setenv("AWS_CA_BUNDLE", "")
	t.Setenv("AWS_ENDPOINT_URL_BEDROCK", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	if _, err := bedrock.NewFromConfig(cfg).ListFoundationModels(context.Background(), nil); err != nil {
		t.Errorf("ListFoundationModels via AWS_ENDPOINT_URL_BEDROCK: %v", err)
	}
	if _, err := bedrockruntime.NewFromConfig(cfg).Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String(haiku), Messages: []rttypes.Message{userText("hi")},
	}); err != nil {
		t.Errorf("Converse via AWS_ENDPOINT_URL_BEDROCK_RUNTIME: %v", err)
	}
	ops := map[string]bool{}
	for _, r := range srv.Requests() {
		ops[r.Operation] = true
	}
	if !ops["ListFoundationModels"] || !ops["Converse"] {
		t.Errorf("emulator saw %v, want ListFoundationModels and Converse", ops)
	}
}

// TestRetiredModel checks the end-of-life answer Bedrock gives for a
// retired model, through its id, its profiles and GetFoundationModel.
func TestRetiredModel(t *testing.T) {
	srv := NewServer(t)
	rt := runtimeClient(t, srv)
	for _, id := range []string{"anthropic.claude-3-5-haiku-20241022-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0", "global.anthropic.claude-sonnet-4-20250514-v1:0"} {
		_, err := converse(t, rt, id, "hi")
		var nf *rttypes.ResourceNotFoundException
		if !errors.As(err, &nf) || nf.ErrorMessage() != EndOfLifeMessage {
			t.Errorf("Converse(%s) error = %v, want ResourceNotFoundException %q", id, err, EndOfLifeMessage)
		}
	}
	_, err := controlClient(t, srv).GetFoundationModel(context.Background(), &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String("anthropic.claude-3-5-haiku-20241022-v1:0")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != EndOfLifeMessage {
		t.Errorf("GetFoundationModel(retired) error = %v, want ResourceNotFoundException %q", err, EndOfLifeMessage)
	}
}
