package reports

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// loadPalette colours the runs of a comparison, in order.
var loadPalette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"}

const loadCSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1120px;color:#222;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.sub{color:#666;margin:0 0 16px}
table{border-collapse:collapse;margin:6px 0 10px;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f6f6f6;font-weight:600}.run{border-left:6px solid #999;padding:4px 0 4px 14px;margin:18px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;margin-left:6px}
.ok{background:#2e7d32}.bad{background:#c62828}.warn{background:#ef6c00}.note{color:#8a4b00}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
svg{background:#fff;border:1px solid #e4e4e4;margin:4px 0 8px}
svg .ct{font-size:15px;font-weight:600}svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#999}
svg text{font-family:system-ui,sans-serif;font-size:12px;fill:#333}svg .yt{text-anchor:end}svg .xt{text-anchor:middle}
svg .xl,svg .yl{text-anchor:middle;font-size:13px}svg .lg{font-size:12px}
`

// WriteLoadHTML writes a self-contained HTML page (inline CSS and SVG,
// no script, nothing fetched) for one run or several runs overlaid for
// comparison: each run's summary, then latency by percentile on the
// HdrHistogram "1/(1-p)" axis, throughput, latency and connected clients
// over time.
func WriteLoadHTML(w io.Writer, runs []*LoadResult) error {
	var b strings.Builder
	title := "mqtt-check load report"
	if len(runs) == 1 {
		title += ": " + LoadTitle(runs[0])
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", html.EscapeString(title), loadCSS)
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(title))
	if len(runs) > 1 {
		fmt.Fprintf(&b, "<p class=\"sub\">%d runs compared. Solid lines: end-to-end latency from the intended send time; dashed: service time (actual send to receipt).</p>\n", len(runs))
		b.WriteString("<h2>Comparison</h2>\n")
		writeComparisonTable(&b, runs)
	} else if len(runs) == 1 {
		r := runs[0]
		fmt.Fprintf(&b, "<p class=\"sub\">%s against %s, %s. Latency is measured from each message's intended send time (open loop, no coordinated omission); the service time is beside it.</p>\n",
			html.EscapeString(r.Scenario), html.EscapeString(r.Target), r.Start.UTC().Format(time.RFC3339))
	}
	// Charts first: they are what a reader compares; the details of
	// each run follow.
	b.WriteString("<h2>Charts</h2>\n")
	for _, c := range loadCharts(runs) {
		c.render(&b)
	}
	b.WriteString("<h2>Runs</h2>\n")
	for i, r := range runs {
		writeRunSection(&b, r, loadPalette[i%len(loadPalette)])
	}
	b.WriteString("<p class=\"sub\">Written by mqtt-check. HdrHistogram data: result.json (base64 V2 histograms), latency.hlog (interval log for HistogramLogProcessor), latency.hgrm (percentile distribution).</p>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeComparisonTable(b *strings.Builder, runs []*LoadResult) {
	b.WriteString("<table>\n<tr><th>Run</th><th>clients</th><th>sent/s</th><th>received/s</th><th>lost</th><th>dup</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>service p99 ms</th><th>CPU s / M msgs</th></tr>\n")
	for i, r := range runs {
		e2e, svc := r.Latency[MetricE2E], r.Latency[MetricService]
		cell := func(h *LatencyHistogram, v func(*LatencyHistogram) float64) string {
			if h == nil || h.Count == 0 {
				return "-"
			}
			return fmtMsCell(v(h))
		}
		fmt.Fprintf(b, "<tr><td><span style=\"color:%s\">&#9632;</span> %s</td><td>%d</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.2f</td></tr>\n",
			loadPalette[i%len(loadPalette)], html.EscapeString(LoadTitle(r)), r.Config.Clients,
			fmtCount(round1(r.Throughput.SentPerS)), fmtCount(round1(r.Throughput.ReceivedPerS)), r.Counters.Lost, r.Counters.Duplicated,
			cell(e2e, func(h *LatencyHistogram) float64 { return h.P50Ms }), cell(e2e, func(h *LatencyHistogram) float64 { return h.P99Ms }),
			cell(e2e, func(h *LatencyHistogram) float64 { return h.P999Ms }), cell(e2e, func(h *LatencyHistogram) float64 { return h.MaxMs }),
			cell(svc, func(h *LatencyHistogram) float64 { return h.P99Ms }), r.Resources.CPUPerMillion)
	}
	b.WriteString("</table>\n")
}

func writeRunSection(b *strings.Builder, r *LoadResult, color string) {
	fmt.Fprintf(b, "<div class=\"run\" style=\"border-color:%s\">\n<h2 style=\"border:0;margin-top:0\">%s", color, html.EscapeString(LoadTitle(r)))
	if r.SLO != nil {
		if r.SLO.Passed {
			fmt.Fprintf(b, "<span class=\"badge ok\">SLO met</span>")
		} else {
			fmt.Fprintf(b, "<span class=\"badge bad\">SLO broken</span>")
		}
	}
	if r.Counters.Lost > 0 {
		fmt.Fprintf(b, "<span class=\"badge bad\">%d lost</span>", r.Counters.Lost)
	}
	if r.Counters.Unsent > 0 {
		fmt.Fprintf(b, "<span class=\"badge warn\">rate not reached</span>")
	}
	b.WriteString("</h2>\n")
	c := r.Config
	fmt.Fprintf(b, "<p>%s against <span class=\"mono\">%s</span> (MQTT %s over %s), run <span class=\"mono\">%s</span>", html.EscapeString(r.Scenario),
		html.EscapeString(r.Target), html.EscapeString(c.Protocol), html.EscapeString(c.Transport), html.EscapeString(r.RunID))
	if len(r.MergedShards) > 0 {
		fmt.Fprintf(b, ", merged from %d shards", len(r.MergedShards))
	} else if r.Shard.Count > 1 {
		fmt.Fprintf(b, ", shard %d/%d", r.Shard.Index, r.Shard.Count)
	}
	fmt.Fprintf(b, ".<br>%s.</p>\n", html.EscapeString(shapeLine(r)))

	if r.Counters.Sent+r.Counters.Received+r.Counters.Expected > 0 {
		b.WriteString("<table>\n<tr><th>Messages</th><th>sent</th><th>acked</th><th>failed</th><th>unsent</th><th>expected</th><th>received</th><th>lost</th><th>dup</th><th>out of order</th><th>unexpected</th></tr>\n")
		row := func(name string, k LoadCounters) {
			fmt.Fprintf(b, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td></tr>\n",
				name, k.Sent, k.Acked, k.Failed, k.Unsent, k.Expected, k.Received, k.Lost, k.Duplicated, k.OutOfOrder, k.Unexpected)
		}
		for _, q := range r.ByQoS {
			row(fmt.Sprintf("QoS %d", q.QoS), q.LoadCounters)
		}
		row("<b>total</b>", r.Counters)
		b.WriteString("</table>\n")
		fmt.Fprintf(b, "<p>Throughput: sent %s msg/s, received %s msg/s.</p>\n", fmtCount(round1(r.Throughput.SentPerS)), fmtCount(round1(r.Throughput.ReceivedPerS)))
	}
	if len(r.Latency) > 0 {
		b.WriteString("<table>\n<tr><th>Latency (ms)</th><th>count</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th><th>mean</th></tr>\n")
		for _, m := range LatencyMetrics {
			h := r.Latency[m]
			if h == nil || h.Count == 0 {
				continue
			}
			fmt.Fprintf(b, "<tr><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				html.EscapeString(metricTitle(r, m)), h.Count, fmtMsCell(h.MinMs), fmtMsCell(h.P50Ms), fmtMsCell(h.P90Ms), fmtMsCell(h.P99Ms),
				fmtMsCell(h.P999Ms), fmtMsCell(h.P9999Ms), fmtMsCell(h.MaxMs), fmtMsCell(h.MeanMs))
		}
		b.WriteString("</table>\n")
	}
	k, res := r.Connections, r.Resources
	fmt.Fprintf(b, "<p>Connections: %d attempted, %d succeeded, %d failed, %d lost, peak %d open.", k.Attempted, k.Succeeded, k.Failed, k.Lost, k.Peak)
	if k.Reconnects > 0 {
		fmt.Fprintf(b, " %d reconnects (%d without their session).", k.Reconnects, k.SessionLost)
	}
	fmt.Fprintf(b, "<br>Harness: CPU %.2fs (%.2f cores", res.CPUUserS+res.CPUSystemS, res.CPUCores)
	if res.CPUPerMillion > 0 {
		fmt.Fprintf(b, ", %.2f s per million messages", res.CPUPerMillion)
	}
	fmt.Fprintf(b, "), max RSS %s", fmtBytes(res.MaxRSSBytes))
	if res.KBPerConnection > 0 {
		fmt.Fprintf(b, ", %.1f KB per connection", res.KBPerConnection)
	}
	b.WriteString(".</p>\n")
	if len(r.Errors) > 0 {
		b.WriteString("<table>\n<tr><th>Error</th><th>count</th><th>example</th></tr>\n")
		for _, e := range r.Errors {
			fmt.Fprintf(b, "<tr><td>%s</td><td>%d</td><td class=\"mono\" style=\"text-align:left\">%s</td></tr>\n", html.EscapeString(e.Kind), e.Count, html.EscapeString(e.Example))
		}
		b.WriteString("</table>\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(b, "<p class=\"note\">Note: %s</p>\n", html.EscapeString(n))
	}
	if r.SLO != nil {
		fmt.Fprintf(b, "<table>\n<tr><th>SLO %s</th><th>measured</th><th>verdict</th></tr>\n", html.EscapeString(r.SLO.Expr))
		for _, t := range r.SLO.Terms {
			v := "<span class=\"badge ok\">met</span>"
			if !t.Passed {
				v = "<span class=\"badge bad\">broken</span>"
			}
			fmt.Fprintf(b, "<tr><td class=\"mono\">%s</td><td>%s</td><td>%s</td></tr>\n", html.EscapeString(t.Term), html.EscapeString(t.Measured), v)
		}
		b.WriteString("</table>\n")
	}
	if fm := r.FindMax; fm != nil {
		fmt.Fprintf(b, "<h3>Find-max: highest rate that held %s msg/s</h3>\n<table>\n<tr><th>rate</th><th>received/s</th><th>p99 ms</th><th>lost</th><th>verdict</th></tr>\n", fmtCount(round1(fm.MaxRate)))
		for _, s := range fm.Steps {
			v := "<span class=\"badge ok\">held</span>"
			if !s.Passed {
				v = "<span class=\"badge bad\">broke</span> " + html.EscapeString(s.Why)
			}
			fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td style=\"text-align:left\">%s</td></tr>\n", fmtCount(round1(s.Rate)), fmtCount(round1(s.ReceivedPerS)), fmtMsCell(s.P99Ms), s.Lost, v)
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</div>\n")
}

// headline picks the latency metric a run is about: end-to-end for
// message scenarios, retained delivery, or connect.
func headline(r *LoadResult) (metric, second string) {
	for _, m := range []string{MetricE2E, MetricRetained, MetricConnect} {
		if h := r.Latency[m]; h != nil && h.Count > 0 {
			if m == MetricE2E {
				if s := r.Latency[MetricService]; s != nil && s.Count > 0 {
					return m, MetricService
				}
			}
			return m, ""
		}
	}
	return "", ""
}

// loadCharts builds the report's charts from the runs.
func loadCharts(runs []*LoadResult) []*svgChart {
	pct := &svgChart{title: "Latency by percentile", xLabel: "percentile (HdrHistogram 1/(1-p) axis)", yLabel: "latency (ms)", percentileX: true}
	thr := &svgChart{title: "Throughput over time", xLabel: "seconds since the start of the run", yLabel: "messages per second"}
	lat := &svgChart{title: "Latency over time (per interval)", xLabel: "seconds since the start of the run", yLabel: "latency (ms)"}
	con := &svgChart{title: "Connected clients over time", xLabel: "seconds since the start of the run", yLabel: "connections"}
	haveThr := false
	for i, r := range runs {
		color := loadPalette[i%len(loadPalette)]
		name := LoadTitle(r)
		if len(runs) == 1 {
			name = ""
		}
		label := func(s string) string { return strings.TrimSpace(name + " " + s) }
		m, second := headline(r)
		for _, mm := range []string{m, second} {
			if mm == "" {
				continue
			}
			if d, err := r.Latency[mm].Decode(); err == nil {
				s := svgSeries{name: label(metricShort(mm)), color: color, dash: mm == MetricService}
				// The last point (100%) is drawn where the data runs
				// out of resolution: 1/(1-p) = the number of values.
				top := math.Min(math.Ceil(math.Log10(float64(max(d.TotalCount(), 10)))), maxPercentileNines)
				for _, br := range d.CumulativeDistributionWithTicks(5) {
					q := br.Quantile / 100
					x := top
					if q < 1 {
						x = math.Min(math.Log10(1/(1-q)), top)
					}
					s.xs = append(s.xs, x)
					s.ys = append(s.ys, float64(br.ValueAt)/1e6)
				}
				pct.series = append(pct.series, s)
			}
		}
		start := r.Start.UnixMilli()
		var sent, recv, p50, p99, conn svgSeries
		sent = svgSeries{name: label("sent/s"), color: color, dash: true}
		recv = svgSeries{name: label("received/s"), color: color}
		p99 = svgSeries{name: label(metricShort(m) + " p99"), color: color}
		p50 = svgSeries{name: label(metricShort(m) + " p50"), color: color, dash: true}
		conn = svgSeries{name: label("connected"), color: color}
		for _, iv := range r.Intervals {
			secs := float64(iv.EndMs-iv.StartMs) / 1000
			x := float64(iv.EndMs-start) / 1000
			if secs > 0 {
				sent.xs, sent.ys = append(sent.xs, x), append(sent.ys, float64(iv.Sent)/secs)
				recv.xs, recv.ys = append(recv.xs, x), append(recv.ys, float64(iv.Received)/secs)
				haveThr = haveThr || iv.Sent+iv.Received > 0
			}
			conn.xs, conn.ys = append(conn.xs, x), append(conn.ys, float64(iv.Connected))
			if enc, ok := iv.Latency[m]; ok && m != "" {
				if h, err := DecodeLatency(enc); err == nil && h.TotalCount() > 0 {
					p50.xs, p50.ys = append(p50.xs, x), append(p50.ys, float64(h.ValueAtQuantile(50))/1e6)
					p99.xs, p99.ys = append(p99.xs, x), append(p99.ys, float64(h.ValueAtQuantile(99))/1e6)
				}
			}
		}
		thr.series = append(thr.series, recv, sent)
		lat.series = append(lat.series, p99, p50)
		con.series = append(con.series, conn)
	}
	var out []*svgChart
	if len(pct.series) > 0 {
		out = append(out, pct)
	}
	if haveThr {
		out = append(out, thr)
	}
	if len(lat.series) > 0 && len(lat.series[0].xs)+len(lat.series[len(lat.series)-1].xs) > 0 {
		out = append(out, lat)
	}
	out = append(out, con)
	return out
}

func metricShort(m string) string {
	switch m {
	case MetricE2E:
		return "end-to-end"
	case MetricService:
		return "service"
	case MetricConnect:
		return "connect"
	case MetricRetained:
		return "retained"
	}
	return m
}
