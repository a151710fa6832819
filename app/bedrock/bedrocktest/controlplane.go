package bedrocktest

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
)

// Control-plane wire types (protocols.md §4).

type modelSummary struct {
	ModelArn                   string        `json:"modelArn"`
	ModelID                    string        `json:"modelId"`
	ModelName                  string        `json:"modelName"`
	ProviderName               string        `json:"providerName"`
	InputModalities            []string      `json:"inputModalities"`
	OutputModalities           []string      `json:"outputModalities"`
	ResponseStreamingSupported bool          `json:"responseStreamingSupported"`
	CustomizationsSupported    []string      `json:"customizationsSupported"`
	InferenceTypesSupported    []string      `json:"inferenceTypesSupported"`
	ModelLifecycle             lifecycleJSON `json:"modelLifecycle"`
}

type lifecycleJSON struct {
	Status string `json:"status"`
}

type profileSummary struct {
	InferenceProfileName string         `json:"inferenceProfileName"`
	InferenceProfileID   string         `json:"inferenceProfileId"`
	InferenceProfileArn  string         `json:"inferenceProfileArn"`
	Description          string         `json:"description"`
	Models               []profileModel `json:"models"`
	Status               string         `json:"status"`
	Type                 string         `json:"type"`
	CreatedAt            string         `json:"createdAt"`
	UpdatedAt            string         `json:"updatedAt"`
}

type profileModel struct {
	ModelArn string `json:"modelArn"`
}

// profileTimestamp is the fixed creation time of every emulated profile.
const profileTimestamp = "2024-11-04T00:00:00Z"

// defaultPageSize is ListInferenceProfiles' page size without maxResults;
// small so that clients exercise pagination.
const defaultPageSize = 5

func summaryOf(m Model) modelSummary {
	return modelSummary{
		ModelArn:                   m.ARN(),
		ModelID:                    m.ID,
		ModelName:                  m.Name,
		ProviderName:               m.Provider,
		InputModalities:            nonNil(m.InputModalities),
		OutputModalities:           nonNil(m.OutputModalities),
		ResponseStreamingSupported: m.Streaming,
		CustomizationsSupported:    []string{},
		InferenceTypesSupported:    m.inferenceTypes(),
		ModelLifecycle:             lifecycleJSON{Status: m.status()},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func profileSummaryOf(p profile) profileSummary {
	s := profileSummary{
		InferenceProfileName: p.name,
		InferenceProfileID:   p.id,
		InferenceProfileArn:  p.arn,
		Description:          p.description,
		Status:               "ACTIVE",
		Type:                 p.kind,
		CreatedAt:            profileTimestamp,
		UpdatedAt:            profileTimestamp,
	}
	for _, arn := range p.models {
		s.Models = append(s.Models, profileModel{ModelArn: arn})
	}
	return s
}

// listFoundationModels serves GET /foundation-models with its filters.
func (e *Emulator) listFoundationModels(x *exchange) {
	q := x.r.URL.Query()
	if v := q.Get("byCustomizationType"); v != "" && !slices.Contains([]string{"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"}, v) {
		writeError(x.w, constraint(v, "byCustomizationType", "Member must satisfy enum value set: [FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION]"))
		return
	}
	if v := q.Get("byOutputModality"); v != "" && !slices.Contains([]string{"TEXT", "IMAGE", "EMBEDDING"}, v) {
		writeError(x.w, constraint(v, "byOutputModality", "Member must satisfy enum value set: [TEXT, IMAGE, EMBEDDING]"))
		return
	}
	if v := q.Get("byInferenceType"); v != "" && !slices.Contains([]string{"ON_DEMAND", "PROVISIONED"}, v) {
		writeError(x.w, constraint(v, "byInferenceType", "Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]"))
		return
	}
	out := []modelSummary{}
	for _, m := range e.catalogue().models {
		switch {
		case m.retired():
		case q.Get("byProvider") != "" && !strings.EqualFold(q.Get("byProvider"), m.Provider):
		case q.Get("byOutputModality") != "" && !slices.Contains(m.OutputModalities, q.Get("byOutputModality")):
		case q.Get("byInferenceType") != "" && !slices.Contains(m.inferenceTypes(), q.Get("byInferenceType")):
		case q.Get("byCustomizationType") != "": // no emulated model is customizable
		default:
			out = append(out, summaryOf(m))
		}
	}
	e.finish(x, map[string]any{"modelSummaries": out})
}

// getFoundationModel serves GET /foundation-models/{modelIdentifier}, which
// takes a model id or a foundation-model ARN.
func (e *Emulator) getFoundationModel(x *exchange) {
	cat := e.catalogue()
	for _, m := range cat.models {
		if m.ID == x.req.ModelID || strings.HasPrefix(x.req.ModelID, "arn:") && strings.HasSuffix(x.req.ModelID, ":foundation-model/"+m.ID) {
			if m.retired() {
				writeError(x.w, &apiError{Type: "ResourceNotFoundException", Message: EndOfLifeMessage})
				return
			}
			e.finish(x, map[string]any{"modelDetails": summaryOf(m)})
			return
		}
	}
	writeError(x.w, &apiError{Type: "ResourceNotFoundException", Message: "Could not resolve the foundation model from the provided model identifier."})
}

// listInferenceProfiles serves GET /inference-profiles with maxResults,
// nextToken and type; the token is an opaque, type-bound offset.
func (e *Emulator) listInferenceProfiles(x *exchange) {
	q := x.r.URL.Query()
	kind := q.Get("type")
	if kind != "" && kind != "SYSTEM_DEFINED" && kind != "APPLICATION" {
		writeError(x.w, constraint(kind, "typeEquals", "Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]"))
		return
	}
	size := defaultPageSize
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(x.w, constraint(v, "maxResults", "Member must have value between 1 and 1000"))
			return
		}
		size = n
	}
	offset := 0
	if tok := q.Get("nextToken"); tok != "" {
		n, ok := parsePageToken(tok, kind)
		if !ok {
			writeError(x.w, validation("The provided pagination token is invalid."))
			return
		}
		offset = n
	}
	var all []profile
	for _, p := range e.catalogue().profiles() {
		if kind == "" || p.kind == kind {
			all = append(all, p)
		}
	}
	page := []profileSummary{}
	for _, p := range all[min(offset, len(all)):min(offset+size, len(all))] {
		page = append(page, profileSummaryOf(p))
	}
	out := map[string]any{"inferenceProfileSummaries": page}
	if offset+size < len(all) {
		out["nextToken"] = pageToken(offset+size, kind)
	}
	e.finish(x, out)
}

func pageToken(offset int, kind string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + kind + ":" + strconv.Itoa(offset)))
}

func parsePageToken(tok, kind string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "v1" || parts[1] != kind {
		return 0, false
	}
	n, err := strconv.Atoi(parts[2])
	return n, err == nil && n >= 0
}

// getInferenceProfile serves GET /inference-profiles/{id}, by id or ARN.
func (e *Emulator) getInferenceProfile(x *exchange) {
	for _, p := range e.catalogue().profiles() {
		if p.id == x.req.ModelID || p.arn == x.req.ModelID {
			e.finish(x, profileSummaryOf(p))
			return
		}
	}
	writeError(x.w, &apiError{Type: "ResourceNotFoundException", Message: "The specified inference profile " + x.req.ModelID + " does not exist."})
}

// finish writes a control-plane answer unless the client has gone.
func (e *Emulator) finish(x *exchange, v any) {
	if x.r.Context().Err() != nil {
		e.cancellations.Add(1)
		return
	}
	if err := writeJSON(x.w, v); err != nil {
		e.cancellations.Add(1)
	}
}
