package bedrocktest_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

// The unmodified SDK client talks to the emulator; a prompt directive
// scripts the answer. In tests, prefer bedrocktest.NewServer(t).
func Example() {
	srv, err := bedrocktest.Start("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	client := bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	ask := func(prompt string) {
		out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
			ModelId: aws.String("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
			Messages: []types.Message{{
				Role:    types.ConversationRoleUser,
				Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: prompt}},
			}},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		text := out.Output.(*types.ConverseOutputMemberMessage).Value.Content[0].(*types.ContentBlockMemberText).Value
		fmt.Println(text, "|", out.StopReason, *out.Usage.InputTokens, *out.Usage.OutputTokens)
	}
	ask("Hello!")
	ask("@emulate {\"text\":[\"Bonjour\",\" !\"],\"usage\":{\"input_tokens\":7,\"output_tokens\":2}}")
	// Output:
	// Emulated reply to: Hello! | end_turn 2 7
	// Bonjour ! | end_turn 7 2
}
