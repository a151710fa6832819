package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// AppendEvent appends ev as one server-sent event, "event: <name>\ndata: <json>\n\n".
func AppendEvent(buf *bytes.Buffer, ev Event) error {
	buf.WriteString("event: ")
	buf.WriteString(ev.EventName())
	buf.WriteString("\ndata: ")
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil { // Encode ends the line
		return fmt.Errorf("encode %s event: %w", ev.EventName(), err)
	}
	buf.WriteByte('\n')
	return nil
}

// WriteEvents writes events as server-sent events, in one write.
func WriteEvents(w io.Writer, events ...Event) error {
	var buf bytes.Buffer
	for _, ev := range events {
		if err := AppendEvent(&buf, ev); err != nil {
			return err
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
