package reports

import (
	"os/exec"
	"strings"
	"testing"
)

// forbiddenDeps are the module's protocol packages: reports renders
// documents and never depends, even indirectly, on how results are
// produced (the cmd package converts runs into documents).
var forbiddenDeps = []string{
	"github.com/mqtt-check/mqtt-check/codec",
	"github.com/mqtt-check/mqtt-check/conformance",
	"github.com/mqtt-check/mqtt-check/reference",
	"github.com/mqtt-check/mqtt-check/capture",
	"github.com/mqtt-check/mqtt-check/proxy",
}

func TestImportsNoProtocolCode(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range forbiddenDeps {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("reports depends on %s: it must not depend on protocol code", dep)
			}
		}
	}
}
