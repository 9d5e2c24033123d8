package reports

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// A small SVG line-chart renderer for the load report. It is ours rather
// than a plotting library's because the page must be self-contained and
// byte-for-byte reproducible (golden files), and four kinds of line chart
// do not justify a dependency with its own fonts and rasterisers: the
// whole renderer is the two axis kinds the report needs (linear, and
// HdrHistogram's "1/(1-p)" percentile axis) and polylines.

// svgSeries is one line.
type svgSeries struct {
	name  string
	color string
	dash  bool
	xs    []float64
	ys    []float64
}

// svgChart is one chart.
type svgChart struct {
	title, xLabel, yLabel string
	// percentileX makes x the percentile axis: values are
	// log10(1/(1-p)), ticks labelled 0%, 90%, 99%...
	percentileX bool
	series      []svgSeries
}

const (
	chartW                         = 1080
	chartH                         = 340 // without the legend rows
	padL, padR, padT, padB         = 70, 20, 36, 78
	plotW                          = chartW - padL - padR
	plotH                          = chartH - padT - padB
	maxPercentileNines     float64 = 6
)

// niceStep returns a 1-2-5 step that cuts span into about n parts.
func niceStep(span float64, n int) float64 {
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// fmtTick formats an axis value.
func fmtTick(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// percentileLabel names the tick at log10(1/(1-p)) = k.
func percentileLabel(k int) string {
	switch k {
	case 0:
		return "0%"
	case 1:
		return "90%"
	}
	return "99." + strings.Repeat("9", k-2) + "%"
}

// render writes the chart as an <svg> element.
func (c *svgChart) render(b *strings.Builder) {
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymax := 0.0
	for _, s := range c.series {
		for i := range s.xs {
			xmin, xmax = math.Min(xmin, s.xs[i]), math.Max(xmax, s.xs[i])
			ymax = math.Max(ymax, s.ys[i])
		}
	}
	if c.percentileX {
		xmin, xmax = 0, math.Min(math.Max(math.Ceil(xmax), 2), maxPercentileNines)
	}
	if math.IsInf(xmin, 0) || xmax <= xmin {
		xmin, xmax = 0, math.Max(xmax, 1)
	}
	ystep := niceStep(ymax, 5)
	ytop := math.Max(ystep, math.Ceil(ymax/ystep)*ystep)
	if ymax == 0 {
		ytop = 1
		ystep = 0.2
	}
	px := func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*plotW }
	py := func(y float64) float64 { return padT + plotH - y/ytop*plotH }

	// Lay the legend out first: it decides the height.
	type legendItem struct {
		x, y float64
		s    svgSeries
	}
	var legend []legendItem
	lx, ly := float64(padL), float64(padT+plotH+56)
	for _, s := range c.series {
		w := 40 + 7*float64(len(s.name))
		if lx+w > chartW-padR && lx > padL {
			lx, ly = padL, ly+18
		}
		legend = append(legend, legendItem{lx, ly, s})
		lx += w
	}
	height := int(ly) + 12
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s">`+"\n", chartW, height, html.EscapeString(c.title))
	fmt.Fprintf(b, `<text x="%d" y="22" class="ct">%s</text>`+"\n", padL, html.EscapeString(c.title))
	// Grid and y ticks.
	for y := 0.0; y <= ytop*1.0000001; y += ystep {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, padL, padL+plotW, py(y), py(y))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" class="yt">%s</text>`+"\n", padL-6, py(y)+4, fmtTick(y))
	}
	// x ticks.
	if c.percentileX {
		for k := 0; k <= int(xmax); k++ {
			x := px(float64(k))
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/>`, x, x, padT, padT+plotH)
			anchor := ""
			if k == int(xmax) {
				anchor = ` style="text-anchor:end"`
			}
			fmt.Fprintf(b, `<text x="%.1f" y="%d" class="xt"%s>%s</text>`+"\n", x, padT+plotH+16, anchor, percentileLabel(k))
		}
	} else {
		step := niceStep(xmax-xmin, 8)
		for x := math.Ceil(xmin/step) * step; x <= xmax*1.0000001; x += step {
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/>`, px(x), px(x), padT, padT+plotH)
			fmt.Fprintf(b, `<text x="%.1f" y="%d" class="xt">%s</text>`+"\n", px(x), padT+plotH+16, fmtTick(x))
		}
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" class="frame"/>`+"\n", padL, padT, plotW, plotH)
	fmt.Fprintf(b, `<text x="%d" y="%d" class="xl">%s</text>`+"\n", padL+plotW/2, padT+plotH+36, html.EscapeString(c.xLabel))
	fmt.Fprintf(b, `<text transform="translate(16 %d) rotate(-90)" class="yl">%s</text>`+"\n", padT+plotH/2, html.EscapeString(c.yLabel))
	// Lines.
	for _, s := range c.series {
		if len(s.xs) == 0 {
			continue
		}
		var pts strings.Builder
		for i := range s.xs {
			x := math.Min(s.xs[i], xmax)
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(x), py(s.ys[i]))
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s><title>%s</title></polyline>`+"\n",
			strings.TrimSpace(pts.String()), s.color, dash, html.EscapeString(s.name))
	}
	// Legend under the axis label.
	for _, it := range legend {
		dash := ""
		if it.s.dash {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="%s" stroke-width="3"%s/>`, it.x, it.x+24, it.y-4, it.y-4, it.s.color, dash)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" class="lg">%s</text>`+"\n", it.x+30, it.y, html.EscapeString(it.s.name))
	}
	b.WriteString("</svg>\n")
}
