// Package grafana holds the Grafana dashboard of the gateway's Prometheus
// metrics (gateway-dashboard.json) and the test that keeps its queries
// valid: every PromQL expression parses and names only metrics the gateway
// registers.
package grafana
