//go:build !lambda

package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

// checkEMF checks the CloudWatch Embedded Metric Format lines in a Lambda
// bootstrap's output (TestLambdaUnderRIE): one init line with ColdStart and
// InitDuration, and a line per request whose directives name dimensions
// present as strings and metrics present as numbers; a chat request's line
// carries its tokens and cost, also under its key's name ("default": the
// secret holds a key without a name).
func checkEMF(tb testing.TB, output string) {
	tb.Helper()
	type directive struct {
		Namespace  string
		Dimensions [][]string
		Metrics    []struct{ Name, Unit string }
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"_aws"`) {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			tb.Errorf("EMF line is not JSON: %v: %.200s", err, sc.Text())
			continue
		}
		raw, _ := json.Marshal(line["_aws"])
		var meta struct {
			Timestamp         int64
			CloudWatchMetrics []directive
		}
		if err := json.Unmarshal(raw, &meta); err != nil || meta.Timestamp == 0 || len(meta.CloudWatchMetrics) == 0 {
			tb.Errorf("bad _aws member: %s", raw)
			continue
		}
		for _, d := range meta.CloudWatchMetrics {
			for _, set := range d.Dimensions {
				for _, dim := range set {
					if s, _ := line[dim].(string); s == "" {
						tb.Errorf("dimension %s is %v in %.300s", dim, line[dim], sc.Text())
					}
				}
			}
			for _, m := range d.Metrics {
				if _, ok := line[m.Name].(float64); !ok {
					tb.Errorf("metric %s is %v in %.300s", m.Name, line[m.Name], sc.Text())
				}
			}
		}
		lines = append(lines, line)
	}
	var init, chat bool
	for _, l := range lines {
		if l["ColdStart"] == 1.0 && l["InitDuration"].(float64) > 0 {
			init = true
		}
		if l["Route"] == "/api/v1/chat/completions" && l["Status"] == "200" {
			in, _ := l["InputTokens"].(float64)
			_, priced := l["CostUSD"].(float64)
			if in > 0 && priced && l["Model"] != "" && l["KeyName"] == "default" && l["Requests"] == 1.0 {
				chat = true
			}
		}
	}
	if !init || !chat {
		tb.Errorf("EMF: init line %v, chat line with tokens and cost %v, in %d lines", init, chat, len(lines))
	}
}
