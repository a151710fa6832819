// Package bedrock is the gateway's one home for Amazon Bedrock: every call
// to Bedrock Runtime goes through a Service, and the translations between
// the wire APIs and Bedrock's Converse API live here. It also describes the
// models the gateway serves (the catalogue) and serves embeddings.
//
// # The path of a request
//
// Every wire API (OpenAI Chat Completions today; OpenAI Responses and
// Anthropic Messages next) is an adapter that follows one path:
//
//	wire request --decode--> ConverseInput --Service--> ConverseOutput / EventStream --encode--> wire response
//
// Step by step:
//
//  1. The HTTP handler (app/server) decodes the body into its wire type
//     (app/openai, or the API's own package) and resolves the model in the
//     catalogue.
//  2. A translator turns the wire request into a *bedrockruntime.ConverseInput
//     (for OpenAI chat: Translator.Translate, returning a Call; for OpenAI
//     Responses: ResponsesTranslator.Translate, which decodes the input items
//     into the chat form and reuses Translate, returning a ResponseCall). Problems with
//     the request are *RequestError. The steps are shared where they fit:
//     MediaFetcher fetches and checks images, and the inference, tool and
//     caching steps of Translate are small functions of their own.
//  3. The handler calls the Service: Converse, ConverseN (n choices) or
//     ConverseStream, which returns an EventStream whose first event has
//     already been read, so nothing is committed to the client before Bedrock
//     has answered; a retryable exception in the first frame reopens it.
//  4. An encoder turns the output into the wire response: for OpenAI chat,
//     Call.Choice per output, and Call.NewStream's Stream, one Event per
//     Bedrock event, written as server-sent events; for Responses,
//     ResponseCall.NewResponseStream's ResponseStream, a state machine with
//     one method per Bedrock event (ResponseCall.Complete replays a whole
//     Converse output through it, so both forms agree).
//  5. Any error, at any step, is rendered by the handler in the API's own
//     envelope. Bedrock failures arrive classified (*Error, with a Kind);
//     the server's one error table maps kinds to status, type and code, and
//     each route group renders them in its API's envelope.
//
// An adapter never calls the SDK, retries or classifies Bedrock errors; a
// new wire API adds a decoder, a translator, an encoder and an error
// envelope, and no Bedrock code. Calls other than Converse
// (InvokeModel, InvokeModelWithResponseStream, CountTokens) are added as
// Service methods in the same way: the observed runtime option, Classify on
// errors, and for streams the first event read before returning. Bedrock's
// own API passes through Raw and RawStream: the client's body sent byte for
// byte, Bedrock's answer and stream frames handed back as they came.
//
// # Failover
//
// The handler wraps step 3 (with the translation of step 2 for a fallback
// model) in Service.Failover, which makes the call again in the fallback
// regions and then with the fallback models while its error FailsOver.
// The Service methods call the region the context Failover gives them
// names (one client per region, built at start-up), so an adapter's call
// is the same with or without failover; a stream fails over only while it
// is opened, before step 4 sends anything.
//
// # Errors
//
// Classify is the one classification of Bedrock errors into kinds. An
// *Error's text is Bedrock's message, which can name the AWS account and
// role: it is logged, never sent; clients get the kind's clean message
// (Error.Message, with ARNs and account ids removed, only for validation
// errors, whose text says what to fix).
//
// The package never imports gin; it consumes the real aws-sdk-go-v2 types.
package bedrock
