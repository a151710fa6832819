package topology

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
)

// Chart geometry, in SVG user units.
const (
	chartWidth = 720
	barLeft    = 230
	barMax     = 360 // longest bar
	barHeight  = 26
	// keyBarHeight is the height of a key storage option's bar per topology.
	keyBarHeight = 13
)

// Bar colours: the topologies' own items, and Bedrock's tokens.
const (
	colourV1     = "#e4572e"
	colourV2     = "#29a19c"
	colourTokens = "#b8b8b8"
)

// SVG writes a bar chart of the monthly cost per topology, like the daily
// cost charts drawn from Cost Explorer: one panel with each topology's own
// items, one with the token spend stacked on top, then the ways to keep
// the key and, when the profile has them, the token spend per key name.
func (r *Report) SVG(w io.Writer) error {
	infra := map[string]float64{V1: Total(r.V1), V2: Total(r.V2)}
	tokens := Total(r.Bedrock)
	maxInfra := max(infra[V1], infra[V2])
	maxTotal := maxInfra + tokens

	v1Keys, v2Keys := r.KeyStorage[V1].Options, r.KeyStorage[V2].Options
	var b bytes.Buffer
	height := 330
	if len(v1Keys) > 0 {
		height += 14 + len(v1Keys)*(2*keyBarHeight+14) // the panel, as drawn below
	}
	if len(r.KeyUsage) > 0 {
		height += 18 + len(r.KeyUsage)*(keyBarHeight+8)
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc("Monthly cost per topology: "+r.Profile.Name))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<text x="20" y="28" font-size="16" font-weight="bold">%s</text>`+"\n", esc("Monthly cost per topology (USD): "+r.Profile.Name))

	y := 60
	fmt.Fprintf(&b, `<text x="20" y="%d" font-weight="bold">Infrastructure and services</text>`+"\n", y)
	y += 12
	for _, t := range []string{V1, V2} {
		bar(&b, y, titles[t], []segment{{infra[t], colour(t), "infrastructure"}}, maxInfra, usd(infra[t]))
		y += barHeight + 12
	}
	y += 14
	fmt.Fprintf(&b, `<text x="20" y="%d" font-weight="bold">With Bedrock tokens</text>`+"\n", y)
	y += 12
	for _, t := range []string{V1, V2} {
		bar(&b, y, titles[t], []segment{{infra[t], colour(t), "infrastructure"}, {tokens, colourTokens, "Bedrock tokens"}},
			maxTotal, usd(infra[t]+tokens))
		y += barHeight + 12
	}
	if len(v1Keys) > 0 {
		y += 14
		fmt.Fprintf(&b, `<text x="20" y="%d" font-weight="bold">Keeping the key (storage and API calls)</text>`+"\n", y)
		y += 12
		var maxKeys float64
		for i := range v1Keys {
			maxKeys = max(maxKeys, v1Keys[i].Total(), v2Keys[i].Total())
		}
		for i, o := range v1Keys {
			fmt.Fprintf(&b, `<text x="20" y="%d" font-size="11">%s</text>`+"\n", y+keyBarHeight, esc(o.Short))
			for j, k := range []KeyStorage{o, v2Keys[i]} {
				t := []string{V1, V2}[j]
				thinBar(&b, y+j*keyBarHeight, keyBarHeight-2, segment{k.Total(), colour(t), t + ", " + o.Option}, maxKeys,
					fmt.Sprintf("%s (%s calls)", usd(k.Total()), qty(k.Calls)))
			}
			y += 2*keyBarHeight + 14
		}
		y -= 12
	}
	if len(r.KeyUsage) > 0 {
		y += 14
		fmt.Fprintf(&b, `<text x="20" y="%d" font-weight="bold">Usage per key (Bedrock tokens)</text>`+"\n", y)
		y += 12
		var maxKey float64
		for _, k := range r.KeyUsage {
			maxKey = max(maxKey, knownUSD(k))
		}
		for _, k := range r.KeyUsage {
			fmt.Fprintf(&b, `<text x="20" y="%d" font-size="11">%s</text>`+"\n", y+keyBarHeight-3, esc(k.Name))
			thinBar(&b, y, keyBarHeight-2, segment{knownUSD(k), colourTokens, "key " + k.Name + ", Bedrock tokens"}, maxKey,
				fmt.Sprintf("%s (%s requests)", usd(k.USD), qty(k.Requests)))
			y += keyBarHeight + 8
		}
		y -= 8
	}
	y += 16
	legend(&b, 20, y, colourV1, "V1 items")
	legend(&b, 160, y, colourV2, "V2 items")
	legend(&b, 300, y, colourTokens, "Bedrock tokens (same for both)")
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

type segment struct {
	usd    float64
	colour string
	what   string
}

// bar draws one labelled, stacked horizontal bar scaled to scale.
func bar(b *bytes.Buffer, y int, label string, segs []segment, scale float64, total string) {
	fmt.Fprintf(b, `<text x="20" y="%d">%s</text>`+"\n", y+barHeight-8, esc(label))
	x := float64(barLeft)
	for _, s := range segs {
		width := 0.0
		if scale > 0 {
			width = s.usd / scale * barMax
		}
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
			x, y, width, barHeight, s.colour, esc(fmt.Sprintf("%s: %s USD", s.what, usd(s.usd))))
		x += width
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%d">%s</text>`+"\n", x+8, y+barHeight-8, esc(total))
}

// thinBar draws one unlabelled bar of the key storage panel with its value.
func thinBar(b *bytes.Buffer, y, height int, s segment, scale float64, value string) {
	width := 0.0
	if scale > 0 {
		width = s.usd / scale * barMax
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
		barLeft, y, width, height, s.colour, esc(fmt.Sprintf("%s: %s USD", s.what, usd(s.usd))))
	fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="11">%s</text>`+"\n", float64(barLeft)+width+8, y+height-2, esc(value))
}

func legend(b *bytes.Buffer, x, y int, colour, label string) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
		x, y-11, colour, x+18, y, esc(label))
}

func colour(topology string) string {
	if topology == V1 {
		return colourV1
	}
	return colourV2
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to memory: no error
	return b.String()
}
