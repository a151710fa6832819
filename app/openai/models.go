package openai

// Model is an entry of GET /v1/models and the body of GET /v1/models/{id}.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// Lifecycle is "LEGACY" for a model Bedrock still serves but has set an
	// end-of-life date for; absent for active models. Not an OpenAI field.
	Lifecycle string `json:"lifecycle,omitempty"`
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}
