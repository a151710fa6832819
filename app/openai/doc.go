// Package openai holds the OpenAI API wire types the gateway speaks: chat
// completions (request, response, stream chunk), models, embeddings and the
// error envelope. It depends on the standard library only and holds no logic
// beyond decoding the few fields OpenAI allows in more than one shape.
//
// The shapes follow the official OpenAI OpenAPI document; tests validate
// encoded values against the vendored copy of it.
package openai
