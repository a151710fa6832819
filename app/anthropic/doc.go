// Package anthropic holds the Anthropic Messages API wire types the gateway
// speaks: the request of POST /v1/messages and /v1/messages/count_tokens, the
// message it answers, the server-sent events of a stream, the model list and
// the error envelope. It depends on the standard library only and holds no
// logic beyond decoding the few fields Anthropic allows in more than one
// shape (a string or a list of blocks).
//
// Requests for Claude models are passed to Bedrock as they came (see
// app/bedrock); these types serve the translation onto Converse for other
// models, the responses built from Converse, and the emulator.
package anthropic
