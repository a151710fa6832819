package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

// discardWriter is a flushable http.ResponseWriter that drops the body.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkSSEChunk measures one streamed text delta from Bedrock event to
// flushed SSE bytes (Stream.Event, then sseWriter), against the floor of
// json.Marshal of the same chunk written with its SSE framing.
func BenchmarkSSEChunk(b *testing.B) {
	gin.SetMode(gin.ReleaseMode) // as the gateway command does
	const model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
	m, _ := bedrock.NewStaticCatalogue(model).Lookup(model)
	tr := &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{})}
	call, err := tr.Translate(context.Background(), &openai.ChatCompletionRequest{
		Model: model, Messages: []openai.Message{{Role: "user", Content: openai.Content{Text: "Hello"}}}}, m)
	if err != nil {
		b.Fatal(err)
	}
	ev := &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{
		ContentBlockIndex: aws.Int32(0), Delta: &types.ContentBlockDeltaMemberText{Value: "Emulated reply to: Hello"}}}

	b.Run("gateway", func(b *testing.B) {
		dw := &discardWriter{h: http.Header{}}
		c, _ := gin.CreateTestContext(dw)
		w := &sseWriter{w: c.Writer}
		conv := call.NewStream("chatcmpl-bench", model, 1700000000)
		b.ReportAllocs()
		for b.Loop() {
			if err := w.chunk(conv.Event(ev)); err != nil {
				b.Fatal(err)
			}
		}
		if dw.n == 0 {
			b.Fatal("nothing was written")
		}
	})
	b.Run("baseline-json.Marshal", func(b *testing.B) {
		dw := &discardWriter{h: http.Header{}}
		chunk := call.NewStream("chatcmpl-bench", model, 1700000000).Event(ev)
		b.ReportAllocs()
		for b.Loop() {
			body, err := json.Marshal(chunk)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = dw.Write([]byte("data: "))
			_, _ = dw.Write(body)
			_, _ = dw.Write([]byte("\n\n"))
			dw.Flush()
		}
	})
}

// TestSSEChunkMatchesMarshal checks that the benchmark's two paths produce
// the same event, so the comparison is fair.
func TestSSEChunkMatchesMarshal(t *testing.T) {
	gin.SetMode(gin.ReleaseMode) // as the gateway command does
	chunk := &openai.ChatCompletionChunk{ID: "x", Object: "chat.completion.chunk", Created: 1, Model: "m",
		Choices: []openai.ChunkChoice{{Delta: openai.Delta{Content: aws.String("a<b>&")}}}}
	dw := &discardWriter{h: http.Header{}}
	rec := &recordWriter{discardWriter: dw}
	c, _ := gin.CreateTestContext(rec)
	if err := (&sseWriter{w: c.Writer}).chunk(chunk); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(chunk)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal([]byte(rec.body[len("data: "):]), &got); err != nil {
		t.Fatalf("sseWriter wrote %q: %v", rec.body, err)
	}
	_ = json.Unmarshal(body, &want)
	if rec.body[:6] != "data: " || rec.body[len(rec.body)-2:] != "\n\n" || !jsonDeepEqual(got, want) {
		t.Errorf("sseWriter wrote %q; want data: %s followed by a blank line", rec.body, body)
	}
}

type recordWriter struct {
	*discardWriter
	body string
}

func (r *recordWriter) Write(p []byte) (int, error) { r.body += string(p); return len(p), nil }

func jsonDeepEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
