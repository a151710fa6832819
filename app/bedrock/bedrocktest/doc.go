// Package bedrocktest emulates Amazon Bedrock in process, the way
// net/http/httptest emulates an HTTP server. It speaks Bedrock's real wire
// protocol (restJson1 and AWS event streams), so the unmodified aws-sdk-go-v2
// clients reach it through BaseEndpoint, AWS_ENDPOINT_URL_BEDROCK_RUNTIME or
// AWS_ENDPOINT_URL_BEDROCK, and it validates requests the way Bedrock does,
// so translation bugs fail locally.
//
// # Use
//
//	srv := bedrocktest.NewServer(t)             // 127.0.0.1:<free port>, closed by t.Cleanup
//	rt := bedrockruntime.New(bedrockruntime.Options{
//		Region:       "us-east-1",
//		BaseEndpoint: aws.String(srv.URL),
//		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
//		HTTPClient:   bedrock.ShieldBodies(awshttp.NewBuildableClient()),
//	})
//
// Outside tests, Start(addr) runs a server; cmd/bedrock-emulator wraps it.
// An Emulator is also a plain http.Handler.
//
// # Operations
//
// Runtime: Converse, ConverseStream, InvokeModel and
// InvokeModelWithResponseStream (Anthropic and embedding models) and
// CountTokens, at POST /model/{modelId}/converse, /converse-stream, /invoke,
// /invoke-with-response-stream and /count-tokens. The model id may be a
// foundation-model id or ARN, a system inference-profile id ("us.<model id>")
// or ARN, or an application inference-profile ARN.
//
// # Anthropic bodies
//
// InvokeModel on a Claude model takes the Anthropic Messages body as Bedrock
// does: anthropic_version "bedrock-2023-05-31" and max_tokens required, no
// model or stream member, anthropic_beta limited to AnthropicBetas, images
// and PDFs as base64. The body is checked like the equivalent Converse call
// (so thinking, tool pairing and caching rules, scripts, directives and usage
// are the same) and answered with an Anthropic message whose model is the
// Anthropic name ("claude-sonnet-4-5-20250929"), with the
// X-Amzn-Bedrock-Input-Token-Count and -Output-Token-Count headers.
// InvokeModelWithResponseStream sends each Anthropic stream event
// (message_start, content_block_start/delta/stop, message_delta,
// message_stop with amazon-bedrock-invocationMetrics) as the base64 "bytes"
// of a "chunk" event, padded with "p" as Bedrock does.
//
// CountTokens takes an InvokeModel body or Converse messages and answers the
// input tokens the same call would report; models other than Claude 3.5 and
// later get "The provided model doesn't support counting tokens."
//
// Control plane: ListFoundationModels, GetFoundationModel,
// ListInferenceProfiles (paginated, five per page unless maxResults says
// otherwise) and GetInferenceProfile. The catalogue is DefaultModels and
// DefaultApplicationProfiles unless WithModels / WithApplicationProfiles
// replace it; AddModel and RemoveModel change it while running.
//
// The default catalogue is Bedrock in us-east-1 as of late 2026. Models
// whose Status is StatusEOL are retired: neither they nor their profiles are
// listed, and Converse, ConverseStream and GetFoundationModel naming them
// answer 404 ResourceNotFoundException with EndOfLifeMessage, as Bedrock
// does. LEGACY models are listed with that lifecycle status and served.
//
// Other routes answer 404 UnknownOperationException.
//
// # Default answers
//
// Without a script or directive, Converse answers
//
//	Emulated reply to: <text of the last user message, cut to 200 bytes>
//
// in three stream chunks. A user turn holding only tool results is echoed
// through their text or JSON. The stop reason is end_turn, or max_tokens when
// the text would exceed inferenceConfig.maxTokens (it is then cut). With
// Anthropic extended thinking enabled, or on DeepSeek-R1, a reasoning block
// precedes the text (signed on Anthropic models).
//
// Usage is deterministic: inputTokens = characters of the prompt / 4 + 1,
// outputTokens = characters of the answer / 4 + 1, totalTokens = inputTokens
// + outputTokens. Text before the last cachePoint is reported as
// cacheWriteInputTokens the first time the emulator sees that prefix for the
// model and as cacheReadInputTokens afterwards; it is not counted in
// inputTokens. Writes are also reported in cacheDetails with the TTL of that
// cachePoint (5m unless it says 1h).
//
// # Scripting answers
//
// Emulator.Script installs a function that returns a *Reply for a Request;
// nil falls back to directives and the default. Reply scripts text chunks,
// reasoning, tool calls, stop reason, usage, delays, errors before the stream
// and exceptions in the middle of it.
//
// Through the gateway, which only forwards chat text, the last user message
// may instead carry a directive line:
//
//	@emulate {"text":["Hel","lo"],"stop_reason":"end_turn"}
//	@emulate {"tool_calls":[{"name":"get_weather","input":{"city":"Paris"}}]}
//	@emulate {"reasoning":"Let me think.","signature":"sig","text":"42"}
//	@emulate {"usage":{"input_tokens":10,"output_tokens":5,"cache_read":3,"cache_write":0}}
//	@emulate {"delay_ms":500,"chunk_delay_ms":50}
//	@emulate {"error":{"type":"ThrottlingException","message":"slow down"}}
//	@emulate {"stream_error":{"type":"modelStreamErrorException"},"stream_error_after":3}
//	@emulate {"fault":{"kind":"truncate","after":3}}
//	@emulate-error ThrottlingException optional message
//
// The JSON members are text (a string or a list of chunks), reasoning,
// signature, redacted_reasoning (base64), tool_calls [{id, name, input}]
// (input is an object or a string holding one), stop_reason, usage
// {input_tokens, output_tokens, cache_read, cache_write}, delay_ms,
// chunk_delay_ms, error {type, message}, stream_error {type, message},
// stream_error_after and fault {kind, after, stall_ms} (see Faults). Unknown members are a ValidationException, so typos show.
// Directive lines are left out of the echoed text.
//
// # Embeddings
//
// InvokeModel serves the embedding models with their native bodies and
// answers: amazon.titan-embed-text-v1 (1536 dimensions) and -v2:0
// (dimensions, normalize, embeddingTypes), cohere.embed-english-v3 and
// -multilingual-v3 (1024 dimensions; embeddings_floats, or
// embeddings_by_type with embedding_types), cohere.embed-v4:0
// (output_dimension, texts, images or inputs) and
// amazon.nova-2-multimodal-embeddings-v1:0 (SINGLE_EMBEDDING). Vectors are
// deterministic (seeded by a hash of the input) and unit length except for
// Titan v1 and Titan v2 with normalize false. Every answer carries
// X-Amzn-Bedrock-Input-Token-Count (characters / 4 + 1 per input); Titan
// also reports inputTextTokenCount. Each model's schema is enforced with
// "Malformed input request: #/...: ..." ValidationExceptions. A
// "@emulate-error <Type> [message]" or "@emulate {...}" line in an input
// text, or a Script reply, scripts an error or a delay.
//
// # Errors
//
// Errors carry the status of Bedrock's error table, the header
// X-Amzn-ErrorType: <Type>:http://internal.amazon.com/coral/com.amazon.bedrock/
// and the body {"message": ...} (ModelErrorException adds originalStatusCode
// and resourceName), so the SDK decodes them to its typed errors. Mid-stream
// exceptions use the lower-camel union member name (throttlingException,
// modelStreamErrorException, validationException,
// serviceUnavailableException, internalServerException) in :exception-type.
//
// # Validation
//
// Requests Bedrock would refuse get a 400 ValidationException with a message
// worded like Bedrock's: unknown model ids; unknown JSON members (matched
// case-sensitively against the SDK's schema); empty or non-alternating
// messages, a first message that is not from the user, unknown roles; blank
// text; empty content; blank system text; tool blocks without toolConfig;
// toolResults that do not answer the previous turn's toolUses one for one;
// tool specs without name or inputSchema; toolConfig without tools; image and
// document formats, empty bytes, document names; images sent to text-only
// models; temperature, topP and maxTokens ranges; temperature with topP on
// the Claude 4.5/4.6 models; Anthropic thinking budgets, thinking with
// temperature/topP/top_k or forced tool choice, and a final tool-calling
// assistant turn that does not start with its reasoning; reasoning sent back
// to Claude without a signature; cachePoint on models without prompt
// caching; embedding models on Converse. Per model family (features.go, Bedrock
// as of late 2026): outputConfig.textFormat and strict tool specs (Claude
// 4.5 and later, Nova 2 Lite, gpt-oss, DeepSeek V3.x, Mistral Large 3, Llama
// 4), outputConfig.effort and output_config.effort (Claude Opus 4.5 and 4.6
// and later; xhigh and max only with thinking), adaptive thinking (Claude 4.6
// and later; Opus 4.7, Opus 4.8 and Sonnet 5 refuse a budget), service tiers
// (priority on Claude 4.5 and later; priority and flex on Nova 2 Lite, gpt-oss
// and DeepSeek V3.x; default everywhere), and a cachePoint ttl of 1h (Claude
// 4.5 and later). Responses and the stream's metadata event report the
// serviceTier served.
//
// Guardrails: guardrailConfig must name GuardrailID (or its ARN) with a
// numeric version or DRAFT, a valid trace and, on ConverseStream only, a
// streamProcessingMode of sync or async. A prompt holding
// GuardrailBlockedWord gets GuardrailMessage with stopReason
// guardrail_intervened, and the trace when it is enabled.
//
// # Faults
//
// The emulator fails the way Bedrock and the network between do, on request
// (Reply.Fault, or a "fault" directive) or at random (WithFaults, the
// -faults flag of cmd/bedrock-emulator): FaultReset resets the connection
// (TCP RST) before any response byte; FaultResetStream resets it after
// Fault.After stream events, FaultTruncate sends half of the next frame and
// closes the connection (smithy-go then sees the stream end cleanly, without
// its metadata event); FaultStall sends nothing for Fault.Stall, before a
// plain answer or in the middle of a stream; FaultThrottle answers 429
// ThrottlingException "Too many requests, please wait before trying again.".
// Throttle(n, d) throttles the next n runtime requests and all of them for
// d, as a burst does; Faults.ThrottleBurst and ThrottleWindow make each
// drawn throttle one.
// Random draws are seeded (Faults.Seed). FaultsInjected counts the faults.
// Without faults configured or asked for, nothing changes.
//
// # Timing and cancellation
//
// Answers come at once unless WithLatency sets a delay. An instant answer
// can trip a race in aws-sdk-go-v2 (the SDK closes the request body as soon
// as response headers arrive, and net/http may then drop the connection a
// response stream is still being read from); wrap the client's HTTP client
// with bedrock.ShieldBodies, as the gateway does.
//
// When a client goes away before its answer is complete (during a delay, a
// chunk delay, or on a failed write), the emulator stops and counts it in
// Emulator.Cancellations.
package bedrocktest
