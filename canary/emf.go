package canary

import (
	"encoding/json"
	"fmt"
	"io"
)

// DefaultNamespace is the CloudWatch namespace of the canary's metrics.
const DefaultNamespace = "OpenBedrock/Canary"

// EMF writes results as CloudWatch Embedded Metric Format lines. In Lambda,
// a JSON line on stdout with an "_aws" member becomes metrics without any
// PutMetricData call (and without IAM permissions for it).
//
// Each line carries the dimensions Target and Probe and the metrics Success
// (1 or 0), ColdStart (1 or 0) and, for passed probes only, Latency in
// milliseconds; a failed probe's latency is the time to failure, which would
// distort latency alarms. InstanceId, Version, StatusCode and Error ride
// along as properties for CloudWatch Logs Insights.
type EMF struct {
	w         io.Writer
	namespace string
}

// NewEMF returns an EMF writer for namespace; empty means DefaultNamespace.
func NewEMF(w io.Writer, namespace string) *EMF {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &EMF{w: w, namespace: namespace}
}

// emfLine is one EMF log event. The field names of the metric and dimension
// members are the metric and dimension names.
type emfLine struct {
	AWS        emfMetadata `json:"_aws"`
	Target     string      `json:"Target"`
	Probe      string      `json:"Probe"`
	Success    int         `json:"Success"`
	ColdStart  int         `json:"ColdStart"`
	Latency    *float64    `json:"Latency,omitempty"`
	InstanceID string      `json:"InstanceId,omitempty"`
	Version    string      `json:"Version,omitempty"`
	StatusCode int         `json:"StatusCode,omitempty"`
	Error      string      `json:"Error,omitempty"`
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Write writes one EMF line per result.
func (e *EMF) Write(results []Result) error {
	enc := json.NewEncoder(e.w)
	for _, r := range results {
		metrics := []emfMetric{{Name: "Success", Unit: "Count"}, {Name: "ColdStart", Unit: "Count"}}
		line := emfLine{
			Target:     r.Target,
			Probe:      r.Probe,
			Success:    b2i(r.OK),
			ColdStart:  b2i(r.Cold),
			InstanceID: r.InstanceID,
			Version:    r.Version,
			StatusCode: r.StatusCode,
			Error:      r.Error,
		}
		if r.OK {
			ms := millis(r.Latency)
			line.Latency = &ms
			metrics = append(metrics, emfMetric{Name: "Latency", Unit: "Milliseconds"})
		}
		line.AWS = emfMetadata{
			Timestamp: r.Time.UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  e.namespace,
				Dimensions: [][]string{{"Target", "Probe"}},
				Metrics:    metrics,
			}},
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("write EMF line for %s %s: %w", r.Target, r.Probe, err)
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
