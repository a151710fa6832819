// Package canary is the keep-warm prober of the gateway: a small black-box
// HTTP client that calls a deployed gateway the way a user would and records
// what it saw. It imports no app/ package, so it tests the wire contract and
// nothing else.
//
// # Probes
//
// Probes are data (see [Probe]); each has its own timeout and produces one
// [Result]. A probe never panics: every failure, including a timeout, a
// non-200 status or a malformed body, is a Result with OK false and the error
// text.
//
//   - health (always): GET {target}/health, unauthenticated and free. It must
//     answer 200 with JSON status "ok". The answer's instance_id, version and
//     first_request (or cold_start) fields tell one execution environment
//     from another and a cold start from a warm one.
//   - chat (optional, off by default): POST {target}{prefix}/chat/completions
//     with a cheap model and max_tokens 1, authenticated with a bearer key.
//     It exercises the whole path to Bedrock and therefore COSTS MONEY on
//     every run (one tiny model invocation per target per run).
//
// # Targets
//
// A target is a base URL (https://gw.example.com) or lambda://FUNCTION-NAME.
// The latter sends the same requests to the gateway function as ALB events
// through the Lambda Invoke API (see [InvokeTransport]). The template's
// scheduled canary uses it because the ALB admits only the allowed CIDRs and
// a Lambda function has no fixed address to admit; invoking the function
// still reaches, and keeps warm, the execution environments the ALB uses.
// Probe the https:// URL from an allowed network (the CLI) to test the ALB,
// TLS and DNS as well.
//
// # Outputs
//
// Each result is one JSON log line (log/slog), one line of a JSONL results
// file (for the report), and metrics: CloudWatch Embedded Metric Format lines
// on stdout when running as a Lambda function (no PutMetricData calls), or a
// Prometheus text file for node_exporter's textfile collector when running as
// a CLI or loop.
//
// # Report
//
// [Summarize] and [Summary.WriteMarkdown] turn a results file into a table
// of failure rate, cold-start rate, warm vs cold latency percentiles and
// instance lifetimes; this is how a V1 (Lambda) and a V2 deployment are
// compared.
package canary
