// Package cost prices what the gateway does: the Bedrock tokens of each
// response, and the monthly AWS bill of the two ways to run it.
//
// # Prices
//
// Prices is one versioned data file (prices.json, embedded) with the Bedrock
// on-demand token prices per foundation model and the AWS infrastructure
// prices the topology model needs, each with its source and date. PRICES_FILE
// names a file in the same format whose entries replace the embedded ones
// (private pricing, other regions). A model with no price is unknown cost:
// Cost reports it as such, never as zero.
//
// # Topologies
//
// Estimate models a month of a usage Profile on V1 (ALB, VPC pieces, Route 53,
// KMS, Secrets Manager, Lambda and its keep-warm canary, CloudWatch Logs) and
// V2 (an on-premises container reading its key from Secrets Manager through
// SSM, with the hardware and power as inputs), plus the Bedrock token spend,
// which is the same for both. A Report renders as Markdown, CSV and an SVG
// bar chart. Recycling reproduces the arithmetic of the chance that a request
// lands on a Lambda environment that is being recycled.
package cost
