package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Helpers every golden test of the package shares (conformance and load).

// update rewrites the golden files: go test ./reports -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares got with testdata/name, or rewrites the file.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (-want +got); if the change is intended, run go test ./reports -update\n%s",
			path, cmp.Diff(string(want), string(got)))
	}
}

var (
	inlineStyle  = regexp.MustCompile(`(?s)<style>.*?</style>`)
	inlineScript = regexp.MustCompile(`(?s)<script>.*?</script>`)
	cspMeta      = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="[^"]*">`)
)

// htmlStructure drops the inline CSS, JavaScript and their hashes from a
// page: the golden file holds the page's structure and content, and a
// change of style alone does not touch it.
func htmlStructure(page []byte) []byte {
	page = inlineStyle.ReplaceAll(page, []byte("<style>/* report.css */</style>"))
	page = inlineScript.ReplaceAll(page, []byte("<script>/* report.js */</script>"))
	return cspMeta.ReplaceAll(page, []byte(`<meta http-equiv="Content-Security-Policy" content="(hashes of the inline style and script)">`))
}
