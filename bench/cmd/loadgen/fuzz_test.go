package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// FuzzReadSSE: the chat-stream reader never panics on any body, and only
// a stream that reached data: [DONE] with content is a success.
func FuzzReadSSE(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"error\":{\"message\":\"x\"}}\n\n"))
	f.Add([]byte(": comment\r\ndata: [DONE]\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := readSSE(bytes.NewReader(body), time.Now())
		if err == nil && !bytes.Contains(body, sseDone) {
			t.Fatal("success without data: [DONE]")
		}
	})
}

// FuzzReadEventStream: the event-stream reader never panics on any bytes
// (truncated frames, bad checksums, huge lengths), and only a stream with
// a messageStop event is a success.
func FuzzReadEventStream(f *testing.F) {
	var good bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, ev := range []string{"messageStart", "contentBlockDelta", "messageStop"} {
		_ = enc.Encode(&good, eventstream.Message{Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("event")},
			{Name: ":event-type", Value: eventstream.StringValue(ev)},
		}, Payload: []byte(`{"p":"x"}`)})
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()-7]) // truncated last frame
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := readEventStream(bytes.NewReader(body), time.Now())
		if err == nil && !bytes.Contains(body, []byte("messageStop")) {
			t.Fatal("success without messageStop")
		}
	})
}
