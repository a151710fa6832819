// Package topology models the monthly AWS bill of the gateway's two ways to
// run, for cmd/costreport.
//
// Estimate models a month of a usage Profile on V1 (ALB, VPC pieces, Route 53,
// KMS, Secrets Manager, Lambda and its keep-warm canary, CloudWatch Logs) and
// V2 (an on-premises container reading its key from Secrets Manager through
// SSM, with the hardware and power as inputs), plus the Bedrock token spend,
// which is the same for both, priced with app/cost's Prices; it compares the
// ways to keep the API key (KeyStorage) on each and prices the profile's
// usage per key name (KeyUsage). A Report renders as Markdown, CSV and an SVG
// bar chart. ProfileFromMetrics derives the traffic, per key name too, from a
// gateway's /metrics scrape. Recycling reproduces the arithmetic of the
// chance that a request lands on a Lambda environment that is being recycled.
//
// It lives apart from app/cost so the gateway links none of its YAML, CSV,
// SVG or Prometheus-text code.
package topology
