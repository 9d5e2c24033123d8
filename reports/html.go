package reports

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"strings"
)

// assets are the CSS, JavaScript and templates of the HTML reports. They
// are inlined into every page: a report is one file that opens from disk
// and loads nothing from anywhere.
//
//go:embed assets
var assets embed.FS

func asset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic("reports: missing embedded asset " + name) // caught by every test
	}
	return string(b)
}

// pageCSS and pageJS are inlined in every HTML report.
var (
	pageCSS = asset("report.css")
	pageJS  = asset("report.js")
)

// contentSecurityPolicy forbids every fetch: the page may run only its own
// inline script and style (pinned by hash), and show only data: images.
// A report that tried to load anything would be blocked, and the browser
// tests would see the violation on the console.
func contentSecurityPolicy(css, js string) string {
	return "default-src 'none'; style-src " + cspHash(css) + "; script-src " + cspHash(js) +
		"; img-src data:; base-uri 'none'; form-action 'none'"
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// pageAssets are the inline parts every page template takes.
type pageAssets struct {
	CSP string
	CSS template.CSS
	JS  template.JS
}

func newPageAssets() pageAssets {
	return pageAssets{CSP: contentSecurityPolicy(pageCSS, pageJS), CSS: template.CSS(pageCSS), JS: template.JS(pageJS)}
}

// mustTemplate parses an embedded template.
func mustTemplate(name string) *template.Template {
	return template.Must(template.New(name).Parse(asset(name)))
}

// filterOption is one toggle button of a filter bar.
type filterOption struct {
	Key, Value string
	N          int
}

// filterGroup is one group of toggle buttons.
type filterGroup struct {
	Key, Title string
	Options    []filterOption
}

// countOptions returns one option per value in order, with its count.
func countOptions(key string, order []string, counts map[string]int) []filterOption {
	var out []filterOption
	for _, v := range order {
		if counts[v] > 0 {
			out = append(out, filterOption{Key: key, Value: v, N: counts[v]})
		}
	}
	return out
}

// lineCount counts the lines of s.
func lineCount(s string) int {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}
