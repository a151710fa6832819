// Package sdktest holds end-to-end tests of the gateway's Anthropic
// Messages API (POST /v1/messages, count_tokens, GET /v1/models) driven by
// the official Anthropic Go SDK against the Bedrock emulator. It has no
// non-test code.
package sdktest
