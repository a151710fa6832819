package bedrock

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bedrockcp "github.com/aws/aws-sdk-go-v2/service/bedrock"
	cptypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ControlPlane is the part of the Bedrock control-plane client the
// catalogue calls; the real *bedrock.Client (service/bedrock) satisfies it.
type ControlPlane interface {
	ListFoundationModels(ctx context.Context, in *bedrockcp.ListFoundationModelsInput, opts ...func(*bedrockcp.Options)) (*bedrockcp.ListFoundationModelsOutput, error)
	ListInferenceProfiles(ctx context.Context, in *bedrockcp.ListInferenceProfilesInput, opts ...func(*bedrockcp.Options)) (*bedrockcp.ListInferenceProfilesOutput, error)
}

// CatalogueOptions configures a Catalogue.
type CatalogueOptions struct {
	// Client is the control-plane client.
	Client ControlPlane
	// CrossRegion lists SYSTEM_DEFINED inference profiles (us., eu., apac.,
	// global. ...); ENABLE_CROSS_REGION_INFERENCE.
	CrossRegion bool
	// ApplicationProfiles lists APPLICATION inference profiles under their
	// name; ENABLE_APPLICATION_INFERENCE_PROFILES.
	ApplicationProfiles bool
	// Static ids (MODELS) are always served, even when the control plane
	// cannot be reached. Those the control plane does not list (custom or
	// provisioned model ARNs) are served as they are.
	Static []string
	// DefaultModel and DefaultEmbeddingModel (DEFAULT_MODEL,
	// DEFAULT_EMBEDDING_MODEL) are served like Static ids until a discovery
	// succeeds. A default the discovered catalogue does not serve is then
	// replaced, with a warning, by the best current model for Region (see
	// Defaults), so a deployment whose default Bedrock retired keeps working.
	DefaultModel, DefaultEmbeddingModel string
	// Region is the Bedrock region, which decides the geographic profile a
	// replacement default goes through.
	Region string
	// PageSize is ListInferenceProfiles' maxResults; 0 leaves the service default.
	PageSize int32
	// Timeout bounds one refresh; default 30s.
	Timeout time.Duration
	// Tracer, when set, records each refresh as a span of its own trace.
	Tracer trace.TracerProvider
	// Logger receives refresh failures and warnings; nil discards them.
	Logger *slog.Logger
}

// Catalogue is the list of models discovered from the Bedrock control plane
// (foundation models and inference profiles), refreshed in the background.
// Lookups read an immutable snapshot through an atomic pointer: no lock and
// no I/O per request. Until the first successful discovery, and when
// discovery fails at start-up, it serves the static ids and passes any other
// id through to Bedrock like StaticCatalogue.
type Catalogue struct {
	opts   CatalogueOptions
	log    *slog.Logger
	static *StaticCatalogue

	snap      atomic.Pointer[snapshot]
	lastErr   atomic.Pointer[string]
	refreshes atomic.Int64
	failures  atomic.Int64
	loaded    chan struct{} // closed when the first discovery has ended

	refreshMu sync.Mutex // one discovery at a time
}

// snapshot is one immutable state of the catalogue.
type snapshot struct {
	models      []Model        // listed, in listing order
	index       map[string]int // every id that resolves -> models index
	defaults    [2]string      // chat and embedding defaults in effect
	fromBedrock bool
	refreshedAt time.Time
}

// NewCatalogue returns a catalogue serving the static ids; call Refresh or
// Run to discover the rest.
func NewCatalogue(o CatalogueOptions) *Catalogue {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	static := append([]string{o.DefaultModel, o.DefaultEmbeddingModel}, o.Static...)
	c := &Catalogue{opts: o, log: log, static: NewStaticCatalogue(static...), loaded: make(chan struct{})}
	c.snap.Store(&snapshot{defaults: [2]string{o.DefaultModel, o.DefaultEmbeddingModel}})
	return c
}

// Lookup resolves a model id, inference-profile id or ARN, foundation-model
// ARN, or application-profile name, ARN or id.
func (c *Catalogue) Lookup(id string) (Model, bool) {
	s := c.snap.Load()
	if i, ok := s.index[id]; ok {
		return s.models[i], true
	}
	if !s.fromBedrock {
		return c.static.Lookup(id)
	}
	return Model{}, false
}

// List returns the listed models. The slice is shared: do not modify it.
func (c *Catalogue) List() []Model {
	s := c.snap.Load()
	if !s.fromBedrock {
		return c.static.List()
	}
	return s.models
}

// Suggest returns up to n listed ids close to id among the models keep
// accepts (nil keeps all), for "did you mean" errors.
func (c *Catalogue) Suggest(id string, n int, keep func(Model) bool) []string {
	return suggest(c.List(), id, n, keep)
}

// Defaults returns the chat and embedding models used when a request names
// none: the configured ones, or the replacements chosen at the last
// discovery for those the catalogue does not serve.
func (c *Catalogue) Defaults() (chat, embedding string) {
	d := c.snap.Load().defaults
	return d[0], d[1]
}

// Status says where the list came from, how many models it has and how
// refreshing goes.
func (c *Catalogue) Status() CatalogueStatus {
	s := c.snap.Load()
	st := CatalogueStatus{Source: SourceStatic, Count: len(c.List()), Refreshes: c.refreshes.Load(), Failures: c.failures.Load()}
	if s.fromBedrock {
		st.Source = SourceBedrock
		t := s.refreshedAt
		st.RefreshedAt = &t
	}
	if e := c.lastErr.Load(); e != nil {
		st.Error = *e
	}
	return st
}

// Loaded is closed when Run's first discovery attempt has finished,
// whether or not it succeeded.
func (c *Catalogue) Loaded() <-chan struct{} { return c.loaded }

// Run discovers the models now, then again every interval (0 disables the
// refresh) until ctx is done. Failures are logged and counted; the last good
// list stays in use.
func (c *Catalogue) Run(ctx context.Context, interval time.Duration) {
	_ = c.Refresh(ctx) // logged and counted by Refresh
	close(c.loaded)
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = c.Refresh(ctx)
		}
	}
}

// Refresh discovers the models now and, on success, swaps the snapshot. On
// failure the previous list stays in use; the error is logged, counted and
// returned.
func (c *Catalogue) Refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	c.refreshes.Add(1)
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	span := trace.SpanFromContext(ctx) // non-recording unless traced
	if c.opts.Tracer != nil {
		ctx, span = c.opts.Tracer.Tracer(TracerName).Start(ctx, "refresh model catalogue", trace.WithNewRoot())
	}
	defer span.End()
	start := time.Now()
	snap, err := c.discover(ctx)
	if err != nil {
		c.failures.Add(1)
		code := Classify(err).Code
		span.SetAttributes(attrErrorType.String(code))
		span.SetStatus(codes.Error, code)
		c.lastErr.Store(&code)
		c.log.WarnContext(ctx, "model catalogue refresh failed; keeping the previous list",
			"err", err, "error_code", code, "source", c.Status().Source, "failures", c.failures.Load())
		return fmt.Errorf("refresh model catalogue: %w", err)
	}
	c.chooseDefaults(ctx, snap, c.snap.Load())
	c.snap.Store(snap)
	c.lastErr.Store(nil)
	span.SetAttributes(attribute.Int("gateway.models.count", len(snap.models)))
	c.log.InfoContext(ctx, "model catalogue refreshed", "models", len(snap.models), "keys", len(snap.index),
		"ms", time.Since(start).Milliseconds())
	return nil
}

// discover lists foundation models and inference profiles and builds a snapshot.
func (c *Catalogue) discover(ctx context.Context) (*snapshot, error) {
	fmOut, err := c.opts.Client.ListFoundationModels(ctx, &bedrockcp.ListFoundationModelsInput{})
	if err != nil {
		return nil, fmt.Errorf("list foundation models: %w", err)
	}
	b := newSnapshotBuilder()
	foundation := make(map[string]Model, len(fmOut.ModelSummaries))
	for _, s := range fmOut.ModelSummaries {
		m, ok := foundationModel(s)
		if !ok {
			continue
		}
		foundation[m.ID] = m
		if slices.Contains(s.InferenceTypesSupported, cptypes.InferenceTypeOnDemand) {
			b.add(m, m.ID, aws.ToString(s.ModelArn))
		}
	}
	var kinds []cptypes.InferenceProfileType
	if c.opts.CrossRegion {
		kinds = append(kinds, cptypes.InferenceProfileTypeSystemDefined)
	}
	if c.opts.ApplicationProfiles {
		kinds = append(kinds, cptypes.InferenceProfileTypeApplication)
	}
	for _, kind := range kinds {
		in := &bedrockcp.ListInferenceProfilesInput{TypeEquals: kind}
		if c.opts.PageSize > 0 {
			in.MaxResults = aws.Int32(c.opts.PageSize)
		}
		pages := bedrockcp.NewListInferenceProfilesPaginator(c.opts.Client, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list %s inference profiles: %w", kind, err)
			}
			for _, p := range page.InferenceProfileSummaries {
				c.addProfile(b, p, foundation)
			}
		}
	}
	for _, id := range c.opts.Static {
		if id == "" {
			continue
		}
		if _, ok := b.index[id]; !ok {
			c.log.WarnContext(ctx, "configured model is not in the Bedrock catalogue; serving it as configured", "model", id)
			b.add(staticModel(id), id)
		}
	}
	return &snapshot{models: b.models, index: b.index, fromBedrock: true, refreshedAt: time.Now()}, nil
}

// chooseDefaults sets the defaults of a discovered snapshot: the configured
// ones where served, else replacements, logged when they change.
func (c *Catalogue) chooseDefaults(ctx context.Context, snap, prev *snapshot) {
	serves := func(id string) bool { _, ok := snap.index[id]; return ok }
	for i, want := range [2]string{c.opts.DefaultModel, c.opts.DefaultEmbeddingModel} {
		got := chooseDefault(snap.models, serves, want, c.opts.Region, i == 1)
		snap.defaults[i] = got
		if got != want && got != prev.defaults[i] {
			name := [2]string{"DEFAULT_MODEL", "DEFAULT_EMBEDDING_MODEL"}[i]
			msg := "configured default model is not served by Bedrock; using another"
			if _, ok := Retired(want); ok {
				msg = "configured default model was retired by Bedrock; using another"
			}
			c.log.WarnContext(ctx, msg, "setting", name, "configured", want, "using", got)
		}
	}
}

// addProfile adds an inference profile if it resolves to a kept foundation model.
func (c *Catalogue) addProfile(b *snapshotBuilder, p cptypes.InferenceProfileSummary, foundation map[string]Model) {
	id, arn, name := aws.ToString(p.InferenceProfileId), aws.ToString(p.InferenceProfileArn), aws.ToString(p.InferenceProfileName)
	if len(p.Models) == 0 || id == "" {
		return
	}
	fmARN := aws.ToString(p.Models[0].ModelArn)
	fm, ok := foundation[fmARN[strings.LastIndexByte(fmARN, '/')+1:]]
	if !ok {
		return // an image or video model, or one the account cannot see
	}
	m := fm
	m.FoundationModelID = fm.ID
	if p.CreatedAt != nil {
		m.Created = p.CreatedAt.Unix()
	}
	if p.Type == cptypes.InferenceProfileTypeApplication {
		// Runtime calls take the ARN; clients pick it by name.
		m.ID, m.Name = arn, name
		b.add(m, arn, name, id)
		return
	}
	m.ID, m.Name = id, name
	b.add(m, id, arn)
}

// foundationModel converts a summary; it keeps ACTIVE and LEGACY models
// that produce text or embeddings.
func foundationModel(s cptypes.FoundationModelSummary) (Model, bool) {
	if s.ModelLifecycle != nil {
		switch s.ModelLifecycle.Status {
		case cptypes.FoundationModelLifecycleStatusActive, cptypes.FoundationModelLifecycleStatusLegacy:
		default:
			return Model{}, false
		}
	}
	m := Model{
		Legacy:            s.ModelLifecycle != nil && s.ModelLifecycle.Status == cptypes.FoundationModelLifecycleStatusLegacy,
		ID:                aws.ToString(s.ModelId),
		Name:              aws.ToString(s.ModelName),
		FoundationModelID: aws.ToString(s.ModelId),
		Provider:          aws.ToString(s.ProviderName),
		InputModalities:   modalities(s.InputModalities),
		OutputModalities:  modalities(s.OutputModalities),
		Streaming:         aws.ToBool(s.ResponseStreamingSupported),
	}
	if m.ID == "" || !(slices.Contains(m.OutputModalities, "TEXT") || m.IsEmbedding()) {
		return Model{}, false
	}
	if s.ModelLifecycle != nil && s.ModelLifecycle.StartOfLifeTime != nil {
		m.Created = s.ModelLifecycle.StartOfLifeTime.Unix()
	}
	return m, true
}

func modalities(ms []cptypes.ModelModality) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

// snapshotBuilder collects models and their lookup keys; the first model
// to claim a key keeps it.
type snapshotBuilder struct {
	models []Model
	index  map[string]int
}

func newSnapshotBuilder() *snapshotBuilder {
	return &snapshotBuilder{index: make(map[string]int)}
}

func (b *snapshotBuilder) add(m Model, keys ...string) {
	if _, dup := b.index[m.ID]; dup {
		return
	}
	i := len(b.models)
	b.models = append(b.models, m)
	for _, k := range keys {
		if _, taken := b.index[k]; k != "" && !taken {
			b.index[k] = i
		}
	}
}
