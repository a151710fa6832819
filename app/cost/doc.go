// Package cost prices the Bedrock tokens of each response.
//
// Prices is one versioned data file (prices.json, embedded) with the Bedrock
// on-demand token prices per foundation model and the AWS infrastructure
// prices cmd/costreport's topology model needs, each with its source and
// date. PRICES_FILE names a file in the same format whose entries replace
// the embedded ones (private pricing, other regions). A model with no price
// is unknown cost: Token reports it as such, never as zero.
//
// The package is on every request's path (the metrics observers price each
// exchange), so it imports only the standard library: the topology
// estimate, its rendering and the metrics scraping live in
// cmd/costreport/topology.
package cost
