package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"
)

// The chart: one row per upstream delay; columns are non-streaming chat
// throughput, its latency (bar p50, whisker p99) and streaming time to
// first token (bar p50, whisker p99), grouped by concurrency with one bar
// per target.
const (
	panelW, panelH = 300, 210
	marginL        = 48
	marginT        = 28
	marginB        = 34
	headerH        = 58
)

var chartTargets = []struct{ name, color string }{
	{targetDirect, "#9e9e9e"},
	{targetProxy, "#5c8dd6"},
	{targetGateway, "#e07b39"},
}

type bar struct {
	value, whisker float64 // whisker 0: none
}

type group struct {
	label string
	bars  []bar // one per chartTargets entry
}

type panel struct {
	title, unit string
	groups      []group
}

// chartSVG renders the chart as a standalone SVG document.
func (r *report) chartSVG() string {
	var rows [][]panel
	for _, lat := range r.latencies() {
		rows = append(rows, []panel{
			r.panelFor(lat, "chat", "throughput", "req/s", func(m *measurement) bar { return bar{value: m.Res.RPS} }),
			r.panelFor(lat, "chat", "latency p50 / p99", "ms", func(m *measurement) bar {
				return bar{value: m.Res.Latency.P50, whisker: m.Res.Latency.P99}
			}),
			r.panelFor(lat, "stream", "stream TTFT p50 / p99", "ms", func(m *measurement) bar {
				if m.Res.TTFT == nil {
					return bar{}
				}
				return bar{value: m.Res.TTFT.P50, whisker: m.Res.TTFT.P99}
			}),
		})
	}
	rowTitles := make([]string, len(rows))
	for i, lat := range r.latencies() {
		rowTitles[i] = "upstream delay " + fmtLatency(lat)
	}
	if slices.ContainsFunc(r.Runs, func(m measurement) bool { return m.Scenario == "mixed" || routeBaseline[m.Scenario] != "" }) {
		rps := func(m *measurement) bar { return bar{value: m.Res.RPS} }
		rows = append(rows, []panel{
			r.panelFor(0, "responses", "throughput", "req/s", rps),
			r.panelFor(0, "messages-stream", "throughput", "req/s", rps),
			r.panelFor(0, "mixed", "throughput", "req/s", rps),
		})
		rowTitles = append(rowTitles, "other routes, upstream delay 0 ms")
	}
	w := 3*panelW + 20
	h := headerH + len(rows)*(panelH+24) + 10
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="10" y="20" font-size="14" font-weight="bold">Bedrock gateway benchmark (%s, %d CPUs, %s)</text>`+"\n",
		html.EscapeString(r.Date.UTC().Format("2006-01-02")), r.Machine.NProc, html.EscapeString(r.Machine.Model))
	x := 10
	for _, t := range chartTargets {
		p(`<rect x="%d" y="32" width="12" height="12" fill="%s"/><text x="%d" y="42">%s</text>`+"\n", x, t.color, x+16, t.name)
		x += 16 + 8*len(t.name) + 14
	}
	p(`<text x="%d" y="42" fill="#555">clients per group; whiskers: p99</text>`+"\n", x+10)
	for i, row := range rows {
		y := headerH + i*(panelH+24)
		p(`<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+12, html.EscapeString(rowTitles[i]))
		for j, pn := range row {
			drawPanel(&b, 10+j*panelW, y+16, pn)
		}
	}
	p("</svg>\n")
	return b.String()
}

func (r *report) panelFor(lat time.Duration, sc, title, unit string, pick func(*measurement) bar) panel {
	pn := panel{title: scenarioTitle[sc] + ": " + title, unit: unit}
	for _, c := range r.concurrencies() {
		if !slices.ContainsFunc(r.Runs, func(m measurement) bool { return m.Latency == lat && m.Scenario == sc && m.Concurrency == c }) {
			continue
		}
		g := group{label: fmt.Sprint(c)}
		for _, t := range chartTargets {
			m := r.find(lat, sc, c, t.name)
			if m == nil || m.Err != "" || m.Res.Requests == 0 {
				g.bars = append(g.bars, bar{})
				continue
			}
			g.bars = append(g.bars, pick(m))
		}
		pn.groups = append(pn.groups, g)
	}
	return pn
}

func drawPanel(b *strings.Builder, x0, y0 int, pn panel) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	plotW, plotH := panelW-marginL-10, panelH-marginT-marginB
	top := 0.0
	for _, g := range pn.groups {
		for _, br := range g.bars {
			top = max(top, br.value, br.whisker)
		}
	}
	top = niceCeil(top)
	px, py := x0+marginL, y0+marginT
	p(`<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0+4, y0+14, html.EscapeString(pn.title))
	for k := 0; k <= 4; k++ {
		v := top * float64(k) / 4
		yy := py + plotH - int(float64(plotH)*float64(k)/4)
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e0e0e0"/>`+"\n", px, yy, px+plotW, yy)
		p(`<text x="%d" y="%d" text-anchor="end" fill="#555">%s</text>`+"\n", px-4, yy+4, fmtAxis(v))
	}
	p(`<text x="%d" y="%d" text-anchor="end" fill="#555">%s</text>`+"\n", px-4, py-8, pn.unit)
	if len(pn.groups) == 0 || top == 0 {
		p(`<text x="%d" y="%d" fill="#999">no data</text>`+"\n", px+10, py+plotH/2)
		return
	}
	gw := plotW / len(pn.groups)
	bw := max(4, (gw-16)/len(chartTargets))
	scale := func(v float64) int { return int(math.Round(float64(plotH) * v / top)) }
	for gi, g := range pn.groups {
		gx := px + gi*gw + 8
		for bi, br := range g.bars {
			if br.value <= 0 {
				continue
			}
			bx, bh := gx+bi*bw, scale(br.value)
			p(`<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %s %s</title></rect>`+"\n",
				bx, py+plotH-bh, bw-2, bh, chartTargets[bi].color, chartTargets[bi].name, fmtAxis(br.value), pn.unit)
			if br.whisker > br.value {
				wy := py + plotH - scale(br.whisker)
				cx := bx + (bw-2)/2
				p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n",
					cx, py+plotH-bh, cx, wy, cx-3, wy, cx+3, wy)
			}
		}
		p(`<text x="%d" y="%d" text-anchor="middle" fill="#333">%s</text>`+"\n", gx+len(g.bars)*bw/2, py+plotH+14, g.label)
	}
	p(`<text x="%d" y="%d" text-anchor="middle" fill="#555">clients</text>`+"\n", px+plotW/2, py+plotH+28)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}

func fmtAxis(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
