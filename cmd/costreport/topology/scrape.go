package topology

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metric names read from a scrape; app/metrics/prom registers them.
const (
	metricRequests  = "gateway_requests_total"
	metricKeyReqs   = "gateway_key_requests_total"
	metricDuration  = "gateway_request_duration_seconds"
	metricTokens    = "gateway_tokens_total"
	metricStartTime = "gateway_start_time_seconds"
)

// ProfileFromMetrics derives the traffic part of a profile (requests a day,
// mean duration, model mix, tokens per request, key count, and requests and
// tokens per key name) from a scrape of the gateway's /metrics, onto base. window is the time the counters cover;
// zero means since gateway_start_time_seconds, as of now.
func ProfileFromMetrics(r io.Reader, base Profile, now time.Time, window time.Duration) (Profile, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Profile{}, fmt.Errorf("parse metrics: %w", err)
	}
	if window <= 0 {
		start, ok := gauge(families[metricStartTime])
		if !ok {
			return Profile{}, fmt.Errorf("the scrape has no %s: give the window it covers", metricStartTime)
		}
		window = now.Sub(time.Unix(0, int64(start*1e9)))
	}
	days := window.Hours() / 24
	if days <= 0 {
		return Profile{}, errors.New("the window the metrics cover must be positive")
	}

	perModel := map[string]float64{}
	var total float64
	for _, m := range metricsOf(families[metricRequests]) {
		if !apiRoute(label(m, "route")) {
			continue
		}
		v := m.GetCounter().GetValue()
		total += v
		if model := label(m, "model"); model != "" {
			perModel[model] += v
		}
	}
	if total == 0 {
		return Profile{}, fmt.Errorf("the scrape has no requests that call Bedrock in %s", metricRequests)
	}
	var durSum, durCount float64
	for _, m := range metricsOf(families[metricDuration]) {
		if apiRoute(label(m, "route")) {
			durSum += m.GetHistogram().GetSampleSum()
			durCount += float64(m.GetHistogram().GetSampleCount())
		}
	}
	tokens := map[string]*ModelUse{}
	keys := map[string]*KeyUse{}
	keyUse := func(name string) *KeyUse {
		k := keys[name]
		if k == nil {
			k = &KeyUse{Name: name}
			keys[name] = k
		}
		return k
	}
	for _, m := range metricsOf(families[metricKeyReqs]) {
		keyUse(label(m, "key")).RequestsPerDay += m.GetCounter().GetValue() / days
	}
	keyTokens := map[string]map[string]*KeyTokens{} // by key, model
	for _, m := range metricsOf(families[metricTokens]) {
		model, key := label(m, "model"), label(m, "key")
		u := tokens[model]
		if u == nil {
			u = &ModelUse{Model: model}
			tokens[model] = u
		}
		if keyTokens[key] == nil {
			keyTokens[key] = map[string]*KeyTokens{}
		}
		kt := keyTokens[key][model]
		if kt == nil {
			kt = &KeyTokens{Model: model}
			keyTokens[key][model] = kt
		}
		keyUse(key)
		v := m.GetCounter().GetValue()
		switch label(m, "type") {
		case "input":
			u.InputTokens += v
			kt.InputTokens += v / days
		case "output":
			u.OutputTokens += v
			kt.OutputTokens += v / days
		case "cache_read":
			u.CacheReadTokens += v
			kt.CacheReadTokens += v / days
		case "cache_write":
			u.CacheWriteTokens += v
			kt.CacheWriteTokens += v / days
		}
	}

	p := base
	p.Name = fmt.Sprintf("%s (from /metrics over %.1f days)", base.Name, days)
	p.RequestsPerDay = total / days
	if durCount > 0 {
		p.AvgRequestSeconds = durSum / durCount
	}
	if len(keys) > 0 {
		p.APIKeys = float64(len(keys))
	}
	p.Keys = nil
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		k := *keys[name]
		for _, model := range slices.Sorted(maps.Keys(keyTokens[name])) {
			k.Models = append(k.Models, *keyTokens[name][model])
		}
		p.Keys = append(p.Keys, k)
	}
	p.Models = nil
	for _, id := range slices.Sorted(maps.Keys(perModel)) {
		n := perModel[id]
		u := ModelUse{Model: id, Share: n / total}
		if t := tokens[id]; t != nil && n > 0 {
			u.InputTokens, u.OutputTokens = t.InputTokens/n, t.OutputTokens/n
			u.CacheReadTokens, u.CacheWriteTokens = t.CacheReadTokens/n, t.CacheWriteTokens/n
		}
		p.Models = append(p.Models, u)
	}
	return p, p.Check()
}

// apiRoute reports whether a route label is one that calls Bedrock for
// tokens: chat, embeddings, Responses, Anthropic Messages and Bedrock's own
// API (not /models, /health, the token counts or stored responses).
func apiRoute(route string) bool {
	for _, suffix := range []string{"/chat/completions", "/embeddings", "/responses", "/messages", "/model/*rest"} {
		if strings.HasSuffix(route, suffix) {
			return true
		}
	}
	return false
}

func metricsOf(f *dto.MetricFamily) []*dto.Metric {
	if f == nil {
		return nil
	}
	return f.GetMetric()
}

func gauge(f *dto.MetricFamily) (float64, bool) {
	ms := metricsOf(f)
	if len(ms) == 0 {
		return 0, false
	}
	return ms[0].GetGauge().GetValue(), true
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
