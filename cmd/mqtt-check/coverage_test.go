package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateCoverage = flag.Bool("update-coverage", false, "rewrite docs/coverage.txt")

// TestCoverageListingIsCurrent keeps docs/coverage.txt, the committed
// statement coverage table, equal to what `mqtt-check coverage --all`
// prints, so a reviewer sees coverage change in the diff. Refresh it
// with: go test ./cmd/mqtt-check -run TestCoverageListing -update-coverage
func TestCoverageListingIsCurrent(t *testing.T) {
	var out bytes.Buffer
	if err := runCoverage(t.Context(), []string{"--all"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "coverage.txt")
	if *updateCoverage {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-coverage to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatal("docs/coverage.txt is stale: run go test ./cmd/mqtt-check -run TestCoverageListing -update-coverage")
	}
}
