package reports

// Browser tests: each HTML page is opened from disk (a file:// URL) in
// headless Chromium, driven with chromedp. They check what a person sees:
// the page loads with no console error and no request beyond the file
// itself, the filters show the right rows, each failure opens to its
// transcript; and they save screenshots.
//
// Chromium is the Debian package `chromium` (scripts/install-deps.sh
// installs it). Without it these tests skip, except under CI (CI=true),
// where they fail.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// artifactDir is where the browser tests leave their screenshots (its
// .gitignore keeps them out of version control; CI can upload it).
const artifactDir = "testdata/artifacts"

// readmeScreenshot is the screenshot the README shows, rewritten with
// -update.
const readmeScreenshot = "../docs/img/report-conformance.png"

// chromiumPath finds Chromium, or skips the test (fails it under CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium not found: CI must run the browser tests (scripts/install-deps.sh installs the Debian package chromium)")
	}
	t.Skip("Chromium not found (Debian: apt-get install chromium, or run scripts/install-deps.sh)")
	return ""
}

// browser starts one headless Chromium for a test, with a fresh profile
// and this machine's flags, and returns its context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// Start the browser with no deadline: a deadline on the first Run
	// would bind the browser's life to it. Two shared cores can make the
	// start slow.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return bctx
}

// pageEvents records what a tab did: every request and every console
// error, exception or log entry of level error.
type pageEvents struct {
	mu       sync.Mutex
	requests []string
	errors   []string
}

func (e *pageEvents) add(ev any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		e.requests = append(e.requests, ev.Request.URL)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, a.Description+string(a.Value))
			}
			e.errors = append(e.errors, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		e.errors = append(e.errors, fmt.Sprintf("exception at %d:%d: %s", d.LineNumber, d.ColumnNumber, msg))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			e.errors = append(e.errors, fmt.Sprintf("log %s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

func (e *pageEvents) snapshot() (requests, errors []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.requests...), append([]string(nil), e.errors...)
}

// tab is one page opened from disk.
type tab struct {
	t      *testing.T
	ctx    context.Context
	url    string
	events *pageEvents
}

// openPage writes the page to a file, opens it in a new tab of the
// browser and waits until sel is visible.
func openPage(t *testing.T, bctx context.Context, name string, write func(io.Writer) error, sel string) *tab {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	u := (&url.URL{Scheme: "file", Path: path}).String()
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	tb := &tab{t: t, url: u, events: &pageEvents{}}
	if err := chromedp.Listen(ctx, tb.events.add); err != nil {
		t.Fatal(err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelT)
	tb.ctx = tctx
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("opening %s: %v", u, err)
	}
	return tb
}

// do runs actions or fails the test.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// visibleRows counts the rows of a table a person can see: rendered, not
// just present.
func (tb *tab) visibleRows(table string) int {
	tb.t.Helper()
	return eval[int](tb, `Array.from(document.querySelectorAll(`+jsString(table+" tbody tr")+`)).filter(r => r.checkVisibility()).length`)
}

// visible reports whether an element is rendered with a size (inside a
// closed <details>, content has a box but is not rendered: checkVisibility
// tells).
func (tb *tab) visible(sel string) bool {
	tb.t.Helper()
	return eval[bool](tb, `(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e || !e.checkVisibility({visibilityProperty: true})) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })()`)
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// checkClean checks that the page made no request but for its own file
// and logged no error. Call it after interacting with the page.
func (tb *tab) checkClean() {
	tb.t.Helper()
	// Let late events (a blocked fetch, an error in a handler) arrive.
	tb.do("settling", chromedp.Sleep(200*time.Millisecond))
	requests, errs := tb.events.snapshot()
	for _, e := range errs {
		tb.t.Errorf("console: %s", e)
	}
	if len(requests) == 0 {
		tb.t.Errorf("no request seen at all: is the network listener working?")
	}
	for _, r := range requests {
		if r != tb.url {
			tb.t.Errorf("the page requested %s; a report must load nothing but itself (%s)", r, tb.url)
		}
	}
}

// screenshot saves a PNG of the viewport under testdata/artifacts and
// returns it.
func (tb *tab) screenshot(name string) []byte {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	path := filepath.Join(artifactDir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	tb.t.Logf("screenshot: %s", abs)
	return png
}

func TestBrowserConformanceReport(t *testing.T) {
	bctx := browser(t)
	doc := sampleDoc()
	tb := openPage(t, bctx, "report.html", func(w io.Writer) error { return WriteConformanceHTML(w, doc) }, "#headline")

	if got := eval[string](tb, `document.getElementById('headline').textContent`); got != "FAIL - 2 MUST statements violated on reference+faults" {
		t.Errorf("headline = %q", got)
	}
	if got := eval[string](tb, `document.querySelector('#results .count').textContent`); got != fmt.Sprintf("showing %d of %d", len(doc.Results), len(doc.Results)) {
		t.Errorf("count = %q: the script did not run", got)
	}

	const results = "#results-table"
	count := func(pred func(Result) bool) int {
		n := 0
		for _, r := range doc.Results {
			if pred(r) {
				n++
			}
		}
		return n
	}
	click := func(group, value string) {
		t.Helper()
		tb.do("clicking "+group+"="+value, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#results button[data-filter=%q][data-value=%q]`, group, value))))
	}
	clear := func() {
		t.Helper()
		tb.do("clearing the filters", chromedp.Click(chromedp.CSS(`#results button[data-reset]`)))
	}
	if got := tb.visibleRows(results); got != len(doc.Results) {
		t.Errorf("%d rows visible before filtering, want %d", got, len(doc.Results))
	}
	steps := []struct {
		name  string
		act   func()
		want  int
		label string
	}{
		{"verdict fail", func() { click("verdict", VerdictFail) }, count(func(r Result) bool { return r.Verdict == VerdictFail }), "showing 2 of 26"},
		{"and verdict deviation", func() { click("verdict", VerdictDeviation) },
			count(func(r Result) bool { return r.Verdict == VerdictFail || r.Verdict == VerdictDeviation }), ""},
		{"and target mosquitto", func() { click("target", "mosquitto") }, 0, "showing 0 of 26"},
		{"clear", clear, len(doc.Results), ""},
		{"area connect", func() { click("area", "connect") }, count(func(r Result) bool { return r.Area == "connect" }), ""},
		{"and target reference", func() { click("target", "reference+faults") },
			count(func(r Result) bool { return r.Area == "connect" && r.Target == "reference+faults" }), ""},
		{"clear again", clear, len(doc.Results), ""},
		{"level should", func() { click("level", "should") }, count(func(r Result) bool { return r.Level == "should" }), ""},
		{"level should off", func() { click("level", "should") }, len(doc.Results), ""},
		{"search a statement", func() {
			tb.do("typing", chromedp.SendKeys(chromedp.CSS(`#results input[type=search]`), "MQTT-3.1.2-24"))
		}, count(func(r Result) bool { return strings.Contains(r.Spec, "MQTT-3.1.2-24") }), ""},
	}
	for _, s := range steps {
		s.act()
		if got := tb.visibleRows(results); got != s.want {
			t.Errorf("after %s: %d rows visible, want %d", s.name, got, s.want)
		}
		if s.label != "" {
			if got := eval[string](tb, `document.querySelector('#results .count').textContent`); got != s.label {
				t.Errorf("after %s: count says %q, want %q", s.name, got, s.label)
			}
		}
	}
	clear()

	// Coverage filter: the missing statements.
	tb.do("filtering coverage", chromedp.Click(chromedp.CSS(`#coverage button[data-filter="coverage"][data-value="missing"]`)))
	if got := tb.visibleRows("#coverage-table"); got != 1 {
		t.Errorf("%d missing statements visible, want 1", got)
	}

	// Every failure opens to its statement, expected and observed
	// behaviour and its wire transcript.
	var fails []Result
	for _, r := range doc.Results {
		if r.Verdict == VerdictFail {
			fails = append(fails, r)
		}
	}
	if n := eval[int](tb, `document.querySelectorAll('details.failure').length`); n != len(fails) {
		t.Fatalf("%d failures on the page, want %d", n, len(fails))
	}
	for i, f := range fails {
		id := fmt.Sprintf("#failure-%d", i+1)
		if tb.visible(id + " pre.transcript") {
			t.Errorf("%s: the transcript shows before the failure is opened", id)
		}
		tb.do("opening "+id, chromedp.Click(chromedp.CSS(id+" > summary")))
		if !eval[bool](tb, `document.querySelector('`+id+`').open`) {
			t.Errorf("%s did not open", id)
		}
		if !tb.visible(id + " pre.transcript") {
			t.Errorf("%s: transcript not visible after opening", id)
		}
		got := eval[string](tb, `document.querySelector('`+id+` pre.transcript').textContent`)
		if got != f.Transcript {
			t.Errorf("%s: transcript = %q, want %q", id, got, f.Transcript)
		}
		body := eval[string](tb, `document.querySelector('`+id+`').innerText`)
		for _, want := range []string{f.Statements[0], f.Expected, f.Happened} {
			if !strings.Contains(body, want) {
				t.Errorf("%s does not show %q:\n%s", id, want, body)
			}
		}
	}
	tb.checkClean()

	// The screenshot: the top of the page with the first failure open.
	tb.do("closing the second failure", chromedp.Click(chromedp.CSS("#failure-2 > summary")))
	tb.do("sizing the viewport", chromedp.EmulateViewport(1280, 1500))
	tb.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png := tb.screenshot("report-conformance.png")
	if *update {
		if err := os.MkdirAll(filepath.Dir(readmeScreenshot), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(readmeScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", readmeScreenshot)
	}
}

func TestBrowserMatrix(t *testing.T) {
	bctx := browser(t)
	old, doc := sampleOldDoc(), sampleDoc()
	tb := openPage(t, bctx, "matrix.html", func(w io.Writer) error { return WriteMatrixHTML(w, old, doc) }, "#matrix-table")
	m := BuildMatrix(old, doc)
	differ := 0
	for _, r := range m.Rows {
		if r.Differs {
			differ++
		}
	}
	if got := tb.visibleRows("#matrix-table"); got != len(m.Rows) {
		t.Errorf("%d rows visible, want %d", got, len(m.Rows))
	}
	tb.do("filtering", chromedp.Click(chromedp.CSS(`button[data-filter="differs"][data-value="yes"]`)))
	if got := tb.visibleRows("#matrix-table"); got != differ {
		t.Errorf("%d rows visible with differing verdicts, want %d", got, differ)
	}
	tb.do("filtering", chromedp.Click(chromedp.CSS(`button[data-filter="verdicts"][data-value="fail"]`)))
	if got := tb.visibleRows("#matrix-table"); got != 3 {
		t.Errorf("%d rows differ and fail somewhere, want 3 (MQTT-3.1.0-2, MQTT-3.1.2-1, MQTT-4.3.3-2)", got)
	}
	tb.checkClean()
	tb.screenshot("report-matrix.png")
}

// TestBrowserSeesViolations checks the checks: a page that fetches
// something and throws is caught, so a clean result above means
// something.
func TestBrowserSeesViolations(t *testing.T) {
	bctx := browser(t)
	bad := `<!DOCTYPE html><html><head><title>bad</title></head><body><p id="p">x</p>
<img src="http://127.0.0.1:9/pixel.png"><script>console.error("boom"); undefinedFunction();</script></body></html>`
	tb := openPage(t, bctx, "bad.html", func(w io.Writer) error { _, err := io.WriteString(w, bad); return err }, "#p")
	tb.do("settling", chromedp.Sleep(300*time.Millisecond))
	requests, errs := tb.events.snapshot()
	foreign := false
	for _, r := range requests {
		foreign = foreign || strings.HasPrefix(r, "http://127.0.0.1:9/")
	}
	if !foreign {
		t.Errorf("the image request was not seen: %q", requests)
	}
	joined := strings.Join(errs, "\n")
	if !strings.Contains(joined, "boom") || !strings.Contains(joined, "undefinedFunction") {
		t.Errorf("console errors not seen: %q", errs)
	}
}
