package bedrocktest

import (
	"net/http"
	"net/url"
	"strings"
)

// routed is a matched operation and its unescaped path label.
type routed struct {
	op string
	id string
}

// route lists the whole API surface. It matches on the escaped path because
// model ids contain %3A and ARNs contain %2F, which must not split segments:
//
//	POST /model/{modelId}/converse           Converse
//	POST /model/{modelId}/converse-stream    ConverseStream
//	POST /model/{modelId}/invoke             InvokeModel
//	POST /model/{modelId}/invoke-with-response-stream  InvokeModelWithResponseStream
//	POST /model/{modelId}/count-tokens       CountTokens
//	GET  /foundation-models                  ListFoundationModels
//	GET  /foundation-models/{modelId}        GetFoundationModel
//	GET  /inference-profiles                 ListInferenceProfiles
//	GET  /inference-profiles/{profileId}     GetInferenceProfile
func route(method, escapedPath string) routed {
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	label := func(i int) (string, bool) {
		s, err := url.PathUnescape(segs[i])
		return s, err == nil && s != ""
	}
	switch {
	case method == http.MethodPost && len(segs) == 3 && segs[0] == "model":
		id, ok := label(1)
		if !ok {
			return routed{}
		}
		switch segs[2] {
		case "converse":
			return routed{"Converse", id}
		case "converse-stream":
			return routed{"ConverseStream", id}
		case "invoke":
			return routed{"InvokeModel", id}
		case "invoke-with-response-stream":
			return routed{"InvokeModelWithResponseStream", id}
		case "count-tokens":
			return routed{"CountTokens", id}
		}
	case method == http.MethodGet && len(segs) == 1 && segs[0] == "foundation-models":
		return routed{op: "ListFoundationModels"}
	case method == http.MethodGet && len(segs) == 2 && segs[0] == "foundation-models":
		if id, ok := label(1); ok {
			return routed{"GetFoundationModel", id}
		}
	case method == http.MethodGet && len(segs) == 1 && segs[0] == "inference-profiles":
		return routed{op: "ListInferenceProfiles"}
	case method == http.MethodGet && len(segs) == 2 && segs[0] == "inference-profiles":
		if id, ok := label(1); ok {
			return routed{"GetInferenceProfile", id}
		}
	}
	return routed{}
}
