package bedrock

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// CountConverseTokens asks Bedrock's CountTokens how many input tokens the
// Converse request in would use. Models that cannot count answer an error
// for which CountTokensUnsupported is true.
func (s *Service) CountConverseTokens(ctx context.Context, in *bedrockruntime.ConverseInput) (int, error) {
	ctx, span := s.startCall(ctx, "CountTokens", aws.ToString(in.ModelId))
	out, err := s.runtime(ctx).CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: in.ModelId,
		Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{
			Messages: in.Messages, System: in.System, ToolConfig: in.ToolConfig,
			AdditionalModelRequestFields: in.AdditionalModelRequestFields,
		}}}, s.observed)
	span.countTokens(out)
	span.end(err)
	if err != nil {
		return 0, Classify(err)
	}
	return int(aws.ToInt32(out.InputTokens)), nil
}
