// Package bedrock translates between the OpenAI chat API (package openai) and
// Amazon Bedrock's Converse and ConverseStream APIs, and describes the models
// the gateway serves.
//
// # Requests
//
// Translate turns an OpenAI chat request into a ConverseInput. It repairs the
// histories agentic coding tools send (same-role runs, orphan tool calls and
// results, tool history without tools, empty blocks), maps reasoning, prompt
// caching, tools and response formats, and fetches remote images with an
// SSRF guard. Problems with the request come back as *RequestError.
//
// # Responses
//
// Completion turns a ConverseOutput into an OpenAI chat completion; Stream
// turns ConverseStream events into chat completion chunks one by one, so the
// server can forward each as soon as Bedrock sends it.
//
// The package never imports gin; it consumes the real aws-sdk-go-v2 types.
package bedrock
