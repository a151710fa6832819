package bedrock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Claude models take the Anthropic Messages body natively through
// InvokeModel and InvokeModelWithResponseStream, so everything the client
// sends (cache_control with ttl, thinking, tools, documents, citations,
// system blocks, metadata) reaches the model unchanged. Bedrock wants the
// body without "model" and "stream", with "anthropic_version" set to
// AnthropicBedrockVersion, and the betas in "anthropic_beta".

// AnthropicBedrockVersion is the anthropic_version Bedrock accepts.
const AnthropicBedrockVersion = "bedrock-2023-05-31"

// bedrockBetas are the anthropic-beta values Bedrock accepts for Claude;
// claude4Only marks those that Claude 3 models refuse.
var bedrockBetas = map[string]struct{ claude4Only bool }{
	"computer-use-2024-10-22":          {},
	"computer-use-2025-01-24":          {},
	"computer-use-2025-11-24":          {true},
	"token-efficient-tools-2025-02-19": {},
	"output-128k-2025-02-19":           {},
	"interleaved-thinking-2025-05-14":  {true},
	"dev-full-thinking-2025-05-14":     {true},
	"context-1m-2025-08-07":            {true},
	"context-management-2025-06-27":    {true},
	"effort-2025-11-24":                {true},
	"tool-search-tool-2025-10-19":      {true},
	"tool-examples-2025-10-29":         {true},
}

// IsClaude reports whether the model is an Anthropic Claude model, served
// natively through InvokeModel.
func (m Model) IsClaude() bool { return AnthropicName(m) != "" }

// BedrockBetas splits the betas a client asked for (anthropic-beta header
// values, comma-separated) into those Bedrock accepts for m and those it
// would refuse, each without duplicates, in the order given.
func BedrockBetas(requested []string, m Model) (kept, dropped []string) {
	claude3 := strings.HasPrefix(AnthropicName(m), "claude-3")
	for _, h := range requested {
		for b := range strings.SplitSeq(h, ",") {
			b = strings.TrimSpace(b)
			if b == "" || slices.Contains(kept, b) || slices.Contains(dropped, b) {
				continue
			}
			if info, ok := bedrockBetas[b]; ok && !(info.claude4Only && claude3) {
				kept = append(kept, b)
			} else {
				dropped = append(dropped, b)
			}
		}
	}
	return kept, dropped
}

// AnthropicInvokeBody turns an Anthropic Messages request body into the
// InvokeModel body of a Claude model: "model" and "stream" removed,
// "anthropic_version" set, and "anthropic_beta" holding betas (the header's,
// already filtered by BedrockBetas) or removed when there are none. Every
// other member passes byte for byte.
func AnthropicInvokeBody(raw []byte, betas []string) ([]byte, error) {
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&members); err != nil || members == nil {
		return nil, badRequest("", "The request body is not a JSON object: %v", err)
	}
	delete(members, "model")
	delete(members, "stream")
	if msgs, ok := members["messages"]; ok && !slices.Contains(betas, midConversationSystem) {
		folded, err := foldSystemMessages(msgs)
		if err != nil {
			return nil, err
		}
		members["messages"] = folded
	}
	members["anthropic_version"] = json.RawMessage(`"` + AnthropicBedrockVersion + `"`)
	delete(members, "anthropic_beta")
	if len(betas) > 0 {
		b, err := json.Marshal(betas)
		if err != nil {
			return nil, fmt.Errorf("encode anthropic_beta: %w", err)
		}
		members["anthropic_beta"] = b
	}
	body, err := json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("encode invoke body: %w", err)
	}
	return body, nil
}

// midConversationSystem is the beta that lets "system" messages stand in
// the conversation (Claude Code sends them with it); Bedrock does not take it.
const midConversationSystem = "mid-conversation-system-2026-04-07"

// foldSystemMessages rewrites the "system" messages of a conversation,
// which Bedrock refuses, as text of the user turn they stand next to:
// appended to the user message before them, or opening the next one.
// Messages without a system message pass byte for byte.
func foldSystemMessages(raw json.RawMessage) (json.RawMessage, error) {
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return raw, nil // not a list of objects: Bedrock words the error
	}
	role := func(m map[string]json.RawMessage) string {
		var r string
		_ = json.Unmarshal(m["role"], &r)
		return r
	}
	if !slices.ContainsFunc(msgs, func(m map[string]json.RawMessage) bool { return role(m) == "system" }) {
		return raw, nil
	}
	blocks := func(m map[string]json.RawMessage) []json.RawMessage {
		c := bytes.TrimSpace(m["content"])
		if len(c) > 0 && c[0] == '"' {
			b, _ := json.Marshal(map[string]json.RawMessage{"type": json.RawMessage(`"text"`), "text": c})
			return []json.RawMessage{b}
		}
		var out []json.RawMessage
		_ = json.Unmarshal(c, &out)
		return out
	}
	var out []map[string]json.RawMessage
	for _, m := range msgs {
		if role(m) == "system" {
			m = map[string]json.RawMessage{"role": json.RawMessage(`"user"`), "content": m["content"]}
		}
		if n := len(out); n > 0 && role(out[n-1]) == "user" && role(m) == "user" {
			merged, err := json.Marshal(append(blocks(out[n-1]), blocks(m)...))
			if err != nil {
				return nil, fmt.Errorf("merge a system message: %w", err)
			}
			out[n-1] = maps.Clone(out[n-1])
			out[n-1]["content"] = merged
			continue
		}
		out = append(out, m)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode messages: %w", err)
	}
	return b, nil
}
