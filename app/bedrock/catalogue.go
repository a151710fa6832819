package bedrock

import (
	"slices"
	"strings"
	"time"
)

// StaticCatalogue serves a fixed list of models and passes any other id
// through to Bedrock, which validates it. It is the catalogue used when the
// control plane is not consulted (ENABLE_MODEL_DISCOVERY=false), and the
// state a Catalogue is in until its first successful discovery.
type StaticCatalogue struct {
	models []Model
	byID   map[string]Model
}

// NewStaticCatalogue lists the given model ids.
func NewStaticCatalogue(ids ...string) *StaticCatalogue {
	c := &StaticCatalogue{byID: make(map[string]Model, len(ids))}
	for _, id := range ids {
		if _, dup := c.byID[id]; dup || id == "" {
			continue
		}
		m := staticModel(id)
		c.models = append(c.models, m)
		c.byID[id] = m
	}
	return c
}

// Lookup returns the listed model, or a pass-through entry for any other id.
func (c *StaticCatalogue) Lookup(id string) (Model, bool) {
	if m, ok := c.byID[id]; ok {
		return m, true
	}
	if id == "" {
		return Model{}, false
	}
	return staticModel(id), true
}

// List returns the listed models.
func (c *StaticCatalogue) List() []Model { return c.models }

// Suggest returns up to n listed ids close to id among the models keep
// accepts (nil keeps all).
func (c *StaticCatalogue) Suggest(id string, n int, keep func(Model) bool) []string {
	return suggest(c.models, id, n, keep)
}

// Status reports a static list.
func (c *StaticCatalogue) Status() CatalogueStatus {
	return CatalogueStatus{Source: SourceStatic, Count: len(c.models)}
}

// staticModel describes an id the control plane did not describe. Its kind
// is guessed from the id (Bedrock's embedding model ids all contain
// "embed"); Bedrock itself rejects a wrong guess.
func staticModel(id string) Model {
	fm := FoundationModelOf(id)
	m := Model{ID: id, FoundationModelID: fm, Streaming: true, OutputModalities: outputText}
	if strings.Contains(fm, "embed") {
		m.Streaming, m.OutputModalities = false, outputEmbedding
	}
	return m
}

var (
	outputText      = []string{"TEXT"}
	outputEmbedding = []string{"EMBEDDING"}
)

// IsEmbedding reports whether the model produces embeddings (served by
// POST /embeddings) rather than text (served by POST /chat/completions).
func (m Model) IsEmbedding() bool { return slices.Contains(m.OutputModalities, "EMBEDDING") }

// ListedID is the id GET /models shows: the profile name for application
// inference profiles (their ARN is unwieldy in a model picker), else ID.
func (m Model) ListedID() string {
	if m.Name != "" && strings.HasPrefix(m.ID, "arn:") {
		return m.Name
	}
	return m.ID
}

// Where a catalogue's list came from.
const (
	SourceBedrock = "bedrock" // discovered from the Bedrock control plane
	SourceStatic  = "static"  // configured ids only; other ids pass through to Bedrock
)

// CatalogueStatus says where the model list came from and how refreshing it
// goes. GET /health shows it; the metrics exporter reads its counters.
type CatalogueStatus struct {
	// Source is SourceBedrock or SourceStatic.
	Source string `json:"source"`
	// Error is the error code of the last refresh when it failed, e.g.
	// AccessDeniedException; empty after a success.
	Error string `json:"error,omitempty"`
	// Count is the number of models listed.
	Count int `json:"count"`
	// RefreshedAt is when the list was last loaded from Bedrock.
	RefreshedAt *time.Time `json:"refreshed_at,omitempty"`
	// Refreshes and Failures count discovery attempts and failed ones.
	Refreshes int64 `json:"refreshes"`
	Failures  int64 `json:"refresh_failures"`
}
