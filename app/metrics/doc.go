// Package metrics measures the gateway: requests, latency, time to first
// token, Bedrock latency, errors and retries, tokens and their cost per model
// and key name, in-flight work, key and model-catalogue refreshes, and start
// up.
//
// The server fills an Exchange per request and reports it to an observer
// with four calls (Begin, Upstream, StreamStarted, End). Two observers exist:
//
//   - prom (app/metrics/prom) registers Prometheus collectors on a registry
//     it is given (never the global one) for the container build's
//     METRICS_ADDR listener.
//   - emf (app/metrics/emf) writes the same measurements as CloudWatch
//     Embedded Metric Format JSON lines, one per request and one at
//     start-up, for the Lambda build: CloudWatch turns the log lines into
//     metrics without PutMetricData.
//
// This package holds what both share (Exchange, Call, Options, Pricing,
// the label bounds) and imports no Prometheus code, so each build links
// only its own observer.
//
// # Labels
//
// Label values are bounded: model ids only as the catalogue lists them
// (any other id is "other"), key names (never keys), route patterns (never
// raw paths), HTTP statuses, Bedrock operations and exception types.
//
// Key names come from the API-key store (the names of a secret's keys,
// "default" for an unnamed key) and are re-read at each key refresh; the
// first MaxKeyNames of them (METRICS_MAX_KEY_NAMES, sorted) are labels of
// their own, the rest share "other", and usage with authentication off is
// "none". Requests, tokens and cost are counted per key name.
//
// # Cost
//
// End prices the exchange's tokens with cost.Prices. A model without a
// price counts in gateway_unknown_cost_requests_total and its cost is left
// out, never counted as zero.
package metrics
