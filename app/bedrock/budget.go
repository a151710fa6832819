package bedrock

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// DefaultMaxInputTokens is the default per-request input budget: the
// estimated input tokens of a call times its n choices. It leaves room for
// the largest context windows (1M tokens) at n=1 and stops a 31 MiB prompt
// sent with n=8 (about 65M billed tokens) before Bedrock is called.
const DefaultMaxInputTokens = 2_000_000

// Flat estimates for blocks whose tokens do not follow their bytes.
const (
	imageTokens          = 1600 // a Claude image of about 1.15 megapixels
	documentBytesByToken = 32   // PDFs and office files are mostly markup and compression
	textBytesByToken     = 4
)

// checkInputBudget refuses a call whose estimated input tokens, times its
// n choices, exceed max (0 means DefaultMaxInputTokens).
func checkInputBudget(c *Call, max int64) error {
	if max <= 0 {
		max = DefaultMaxInputTokens
	}
	per := estimateInputTokens(c)
	if total := per * int64(c.N); total > max {
		return &RequestError{Param: "messages", Code: "input_too_large",
			Message: fmt.Sprintf("The request's input is about %d tokens (times n=%d: %d), over this gateway's per-request budget of %d tokens.", per, c.N, total, max)}
	}
	return nil
}

// estimateInputTokens estimates, without a tokenizer, the input tokens of a
// call: text at four bytes a token, images flat, documents by their bytes.
func estimateInputTokens(c *Call) int64 {
	var bytes, tokens int64
	for _, b := range c.Input.System {
		if t, ok := b.(*types.SystemContentBlockMemberText); ok {
			bytes += int64(len(t.Value))
		}
	}
	for _, m := range c.Input.Messages {
		for _, b := range m.Content {
			switch v := b.(type) {
			case *types.ContentBlockMemberText:
				bytes += int64(len(v.Value))
			case *types.ContentBlockMemberImage:
				tokens += imageTokens
			case *types.ContentBlockMemberDocument:
				if s, ok := v.Value.Source.(*types.DocumentSourceMemberBytes); ok {
					tokens += int64(len(s.Value)) / documentBytesByToken
				}
			case *types.ContentBlockMemberToolUse:
				if v.Value.Input != nil {
					if raw, err := v.Value.Input.MarshalSmithyDocument(); err == nil {
						bytes += int64(len(raw))
					}
				}
			case *types.ContentBlockMemberToolResult:
				for _, rc := range v.Value.Content {
					switch r := rc.(type) {
					case *types.ToolResultContentBlockMemberText:
						bytes += int64(len(r.Value))
					case *types.ToolResultContentBlockMemberJson:
						if raw, err := r.Value.MarshalSmithyDocument(); err == nil {
							bytes += int64(len(raw))
						}
					}
				}
			case *types.ContentBlockMemberReasoningContent:
				if r, ok := v.Value.(*types.ReasoningContentBlockMemberReasoningText); ok && r.Value.Text != nil {
					bytes += int64(len(*r.Value.Text))
				}
			}
		}
	}
	if tc := c.Input.ToolConfig; tc != nil {
		for _, t := range tc.Tools {
			if s, ok := t.(*types.ToolMemberToolSpec); ok {
				tokens += 100
				if s.Value.Description != nil {
					bytes += int64(len(*s.Value.Description))
				}
			}
		}
	}
	return tokens + (bytes+textBytesByToken-1)/textBytesByToken
}
