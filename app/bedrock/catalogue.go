package bedrock

// StaticCatalogue serves a fixed list of models and passes any other id
// through to Bedrock, which validates it. It is the catalogue used when the
// control plane is not consulted.
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
		m := Model{ID: id, FoundationModelID: FoundationModelOf(id), Streaming: true}
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
	return Model{ID: id, FoundationModelID: FoundationModelOf(id), Streaming: true}, true
}

// List returns the listed models.
func (c *StaticCatalogue) List() []Model { return c.models }
