package canary

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// emfEvent is the EMF specification's view of a log event, decoded
// independently of the writer's own types.
type emfEvent struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
}

func TestEMF(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	results := []Result{
		{Time: at, Target: "https://gw.example.com", Probe: "health", OK: true, StatusCode: 200,
			Latency: 12345 * time.Microsecond, Cold: true, InstanceID: "abc", Version: "v0.1.0"},
		{Time: at, Target: "https://gw.example.com", Probe: "chat", StatusCode: 500,
			Latency: 3 * time.Second, Error: "status 500, want 200"},
	}
	var buf bytes.Buffer
	if err := NewEMF(&buf, "Test/Canary").Write(results); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		wantMetrics []string
		wantValues  map[string]any
	}{
		{
			name:        "passed cold probe",
			wantMetrics: []string{"Success", "ColdStart", "Latency"},
			wantValues: map[string]any{"Target": "https://gw.example.com", "Probe": "health",
				"Success": 1.0, "ColdStart": 1.0, "Latency": 12.345, "InstanceId": "abc", "Version": "v0.1.0"},
		},
		{
			name:        "failed probe has no latency metric",
			wantMetrics: []string{"Success", "ColdStart"},
			wantValues: map[string]any{"Target": "https://gw.example.com", "Probe": "chat",
				"Success": 0.0, "ColdStart": 0.0, "StatusCode": 500.0, "Error": "status 500, want 200"},
		},
	}
	sc := bufio.NewScanner(&buf)
	for i, tt := range tests {
		if !sc.Scan() {
			t.Fatalf("line %d missing", i+1)
		}
		t.Run(tt.name, func(t *testing.T) {
			line := sc.Bytes()
			var ev emfEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatalf("line %q is not JSON: %v", line, err)
			}
			var root map[string]any
			if err := json.Unmarshal(line, &root); err != nil {
				t.Fatal(err)
			}
			if ev.AWS.Timestamp != at.UnixMilli() {
				t.Errorf("got Timestamp %d, want %d", ev.AWS.Timestamp, at.UnixMilli())
			}
			if len(ev.AWS.CloudWatchMetrics) != 1 {
				t.Fatalf("got %d metric directives, want 1", len(ev.AWS.CloudWatchMetrics))
			}
			d := ev.AWS.CloudWatchMetrics[0]
			if d.Namespace != "Test/Canary" {
				t.Errorf("got namespace %q, want Test/Canary", d.Namespace)
			}
			if len(d.Dimensions) != 1 || !slices.Equal(d.Dimensions[0], []string{"Target", "Probe"}) {
				t.Errorf("got dimensions %v, want [[Target Probe]]", d.Dimensions)
			}
			var names []string
			for _, m := range d.Metrics {
				names = append(names, m.Name)
				// The specification requires every declared metric and
				// dimension to be a member of the root object.
				if _, ok := root[m.Name]; !ok {
					t.Errorf("metric %s declared but absent from the event", m.Name)
				}
				wantUnit := map[string]string{"Latency": "Milliseconds", "Success": "Count", "ColdStart": "Count"}[m.Name]
				if m.Unit != wantUnit {
					t.Errorf("metric %s: got unit %q, want %q", m.Name, m.Unit, wantUnit)
				}
			}
			if !slices.Equal(names, tt.wantMetrics) {
				t.Errorf("got metrics %v, want %v", names, tt.wantMetrics)
			}
			for k, want := range tt.wantValues {
				if root[k] != want {
					t.Errorf("member %s: got %v, want %v", k, root[k], want)
				}
			}
		})
	}
	if sc.Scan() {
		t.Errorf("unexpected extra line %q", sc.Text())
	}
}

func TestEMFDefaultNamespace(t *testing.T) {
	var buf bytes.Buffer
	if err := NewEMF(&buf, "").Write([]Result{{Target: "t", Probe: "health", OK: true}}); err != nil {
		t.Fatal(err)
	}
	var ev emfEvent
	if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	if got := ev.AWS.CloudWatchMetrics[0].Namespace; got != DefaultNamespace {
		t.Errorf("got namespace %q, want %q", got, DefaultNamespace)
	}
}
