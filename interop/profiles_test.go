package interop_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqtt-check/mqtt-check/conformance"
	"github.com/mqtt-check/mqtt-check/conformance/catalogue"
)

// Every profile is a claim about a broker that the gate acts on, so each
// accepted deviation must name one spec that exists and one statement
// that spec checks, with evidence: no blanket skips.
func TestProfiles(t *testing.T) {
	specs := map[string][]string{}
	for _, s := range conformance.Specs() {
		specs[s.FullName()] = s.IDs
	}
	known := map[string]bool{}
	for _, st := range catalogue.MQTT311().Statements {
		known[st.ID] = true
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "conformance", "profiles", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no profiles: %v", err)
	}
	for _, f := range files {
		p, err := conformance.LoadProfile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if _, err := os.Stat(filepath.Join(repoRoot, "scripts", "brokers", name+".sh")); err != nil {
			t.Errorf("%s: no scripts/brokers/%s.sh starts the broker it describes", f, name)
		}
		if p.Name == "" {
			t.Errorf("%s: no name (broker and version)", f)
		}
		for c, why := range p.Reasons {
			if v, ok := p.Capabilities[c]; !ok || v {
				t.Errorf("%s: a reason for %q, which the profile does not declare absent", f, c)
			}
			if strings.TrimSpace(why) == "" {
				t.Errorf("%s: empty reason for %q", f, c)
			}
		}
		seen := map[string]bool{}
		for _, d := range p.Deviations {
			ids, ok := specs[d.Spec]
			if !ok {
				t.Errorf("%s: deviation for %q: no such spec (names are `mqtt-check run --list` full names)", f, d.Spec)
				continue
			}
			if seen[d.Spec] {
				t.Errorf("%s: two deviations for %q", f, d.Spec)
			}
			seen[d.Spec] = true
			if !known[d.Statement] {
				t.Errorf("%s: %q: statement %q is not in the MQTT 3.1.1 catalogue", f, d.Spec, d.Statement)
			}
			in := false
			for _, id := range ids {
				in = in || id == d.Statement
			}
			if !in {
				t.Errorf("%s: %q: statement %s is not one the spec checks (%v)", f, d.Spec, d.Statement, ids)
			}
			if len(d.Evidence) < 80 {
				t.Errorf("%s: %q: evidence too thin to defend: %q", f, d.Spec, d.Evidence)
			}
		}
	}
}

// The profiles are hand-edited JSON: keep them in the layout they are
// reviewed in (two-space indent, one field per line), so a diff shows
// exactly the deviation that changed.
func TestProfilesAreIndented(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "conformance", "profiles", "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !strings.HasPrefix(string(data), "{\n  \"") {
			t.Errorf("%s: not indented with two spaces", f)
		}
	}
}

// Every broker script parses, and takes the common commands.
func TestBrokerScriptsParse(t *testing.T) {
	scripts, _ := filepath.Glob(filepath.Join(repoRoot, "scripts", "brokers", "*.sh"))
	scripts = append(scripts, filepath.Join(repoRoot, "scripts", "interop.sh"))
	var brokers int
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
		base := filepath.Base(s)
		if base == "lib.sh" || base == "interop.sh" {
			continue
		}
		brokers++
		st, err := os.Stat(s)
		if err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
		out, err := exec.Command("bash", s, "no-such-command").CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "start|status|stop") {
			t.Errorf("%s no-such-command: exit %d, want 2 and the usage:\n%s", s, code, out)
		}
	}
	if brokers < 6 {
		t.Errorf("want scripts for the six interop targets, found %d", brokers)
	}
	// shellcheck, where installed (Debian package shellcheck).
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		dir := filepath.Join(repoRoot, "scripts", "brokers")
		args := []string{"-x"}
		for _, s := range scripts {
			r, _ := filepath.Rel(dir, s)
			args = append(args, r)
		}
		cmd := exec.Command(sc, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
