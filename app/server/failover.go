package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/metrics"
)

// Headers naming where a request was served: the Bedrock region and the
// model id, which differ from the gateway's region and the requested
// model after a failover (FALLBACK_REGIONS, MODEL_FALLBACKS).
const (
	RegionHeader = "X-Gateway-Region"
	ModelHeader  = "X-Gateway-Model"
)

// ParseModelFallbacks reads MODEL_FALLBACKS: entries "model=fallback|fallback"
// separated by ";", each model and fallback a model id or alias as clients
// send it.
func ParseModelFallbacks(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, entry := range strings.Split(s, ";") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		model, list, ok := strings.Cut(entry, "=")
		model = strings.TrimSpace(model)
		if !ok || model == "" {
			return nil, fmt.Errorf("%q is not model=fallback|fallback", entry)
		}
		if _, dup := out[model]; dup {
			return nil, fmt.Errorf("%q is listed twice", model)
		}
		var fallbacks []string
		for _, f := range strings.Split(list, "|") {
			f = strings.TrimSpace(f)
			switch {
			case f == "":
				return nil, fmt.Errorf("%s: an empty fallback in %q", model, list)
			case f == model:
				return nil, fmt.Errorf("%s: falls back to itself", model)
			}
			fallbacks = append(fallbacks, f)
		}
		out[model] = fallbacks
	}
	return out, nil
}

// fallbackModels returns the MODEL_FALLBACKS of m (requested by the client
// as name), resolved with resolve when m has failed everywhere; fallbacks
// that do not resolve, or resolve to m, are left out with a warning. Nil resolve means none: the call keeps its
// model (embeddings, whose vectors from another model would not compare,
// and Bedrock's API, whose bodies are the model's own).
func (s *Server) fallbackModels(ctx context.Context, m bedrock.Model, name string, resolve func(string) (bedrock.Model, error)) []bedrock.Model {
	fb := s.opts.ModelFallbacks
	if len(fb) == 0 || resolve == nil {
		return nil
	}
	names, ok := fb[name]
	if !ok {
		names, ok = fb[m.ID]
	}
	if !ok {
		for key, list := range fb {
			if s.alias(key) == m.ID {
				names, ok = list, true
				break
			}
		}
	}
	var out []bedrock.Model
	for _, n := range names {
		f, err := resolve(n)
		if err != nil {
			s.log.WarnContext(ctx, "MODEL_FALLBACKS names a model the gateway cannot serve", "model", m.ID, "fallback", n, "err", err)
			continue
		}
		if f.ID != m.ID {
			out = append(out, f)
		}
	}
	return out
}

// withFailover makes a request's Bedrock call with call, through
// bedrock.Service.Failover: m (the client's name for it is name) in the
// gateway's region, then in the fallback regions, then its fallback models
// (resolved with resolve; nil: none) likewise. call must make its Bedrock
// calls with the context it is given and send nothing to the client. When
// a target serves, its region and model are set in RegionHeader and
// ModelHeader and on the exchange (a fallback model becomes the request's
// model for metrics and cost); the model that served is returned.
func (s *Server) withFailover(c *gin.Context, m bedrock.Model, name string, resolve func(string) (bedrock.Model, error),
	call func(ctx context.Context, m bedrock.Model) error) (bedrock.Model, error) {
	ex := exchange(c)
	ctx := bedrockContext(c, ex)
	models := []bedrock.Model{m}
	fallbacks := func() []string {
		models = append(models, s.fallbackModels(ctx, m, name, resolve)...)
		ids := make([]string, 0, len(models)-1)
		for _, fm := range models[1:] {
			ids = append(ids, fm.ID)
		}
		return ids
	}
	served := m
	t, err := s.bedrock.Failover(ctx, m.ID, fallbacks, func(ctx context.Context, t bedrock.Target) error {
		for _, fm := range models {
			if fm.ID == t.Model {
				served = fm
				break
			}
		}
		return call(ctx, served)
	})
	if err != nil {
		return m, err
	}
	c.Header(RegionHeader, t.Region)
	c.Header(ModelHeader, t.Model)
	ex.Region = t.Region
	ex.FailedOver = t.Region != s.region() || t.Model != m.ID
	if served.ID != m.ID {
		setModel(c, ex, served)
	}
	return served, nil
}

// logFailover is the service's OnFailover: each move to another region or
// model is logged with the error that made it.
func (s *Server) logFailover(ctx context.Context, from, to bedrock.Target, err error) {
	var id string
	if ex, _ := ctx.Value(exchangeKey{}).(*metrics.Exchange); ex != nil {
		id = ex.RequestID
	}
	s.log.WarnContext(ctx, "bedrock failover", "request_id", id, "from_region", from.Region, "from_model", from.Model,
		"to_region", to.Region, "to_model", to.Model, "code", bedrock.Classify(err).Code)
}
