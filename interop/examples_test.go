package interop_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The CI examples cannot run here (no Docker engine, no GitHub or GitLab),
// so these tests check what can be checked: that the files are YAML of
// the expected shape, and that every `mqtt-check ...` command in them uses
// only flags the real CLI defines.

const repoRoot = ".."

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cli builds cmd/mqtt-check once per test binary.
func cli(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mqtt-check-interop-cli")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "mqtt-check")
		cmd := exec.Command("go", "build", "-o", cliPath, "./cmd/mqtt-check")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = err
			cliPath = string(out)
		}
	})
	if cliErr != nil {
		t.Fatalf("go build ./cmd/mqtt-check: %v\n%s", cliErr, cliPath)
	}
	return cliPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cliPath != "" && cliErr == nil {
		os.RemoveAll(filepath.Dir(cliPath))
	}
	os.Exit(code)
}

// exampleFiles lists the YAML files under examples/.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(repoRoot, "examples"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want the GitHub Actions and GitLab CI examples under examples/, found %q", files)
	}
	return files
}

func parseYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: not valid YAML: %v", path, err)
	}
	if len(doc) == 0 {
		t.Fatalf("%s: empty document", path)
	}
	return doc
}

// strs collects every string scalar of a decoded YAML value.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, strs(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range v {
			out = append(out, strs(e)...)
		}
		return out
	}
	return nil
}

// command is one mqtt-check invocation found in a CI file.
type command struct {
	sub  string   // run, report, load...
	args []string // everything after the subcommand, up to a shell operator
	line string
}

var shellOps = map[string]bool{"|": true, "||": true, "&&": true, ";": true, ">": true, ">>": true, "2>&1": true, "&": true}

// commands finds the mqtt-check invocations in shell text: backslash
// continuations are joined, then each line is split on blanks (the
// examples quote nothing that holds a blank).
func commands(script string) []command {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []command
	for _, line := range strings.Split(script, "\n") {
		toks := strings.Fields(line)
		for i, tok := range toks {
			if tok != "mqtt-check" && !strings.HasSuffix(tok, "/mqtt-check") || i+1 >= len(toks) {
				continue
			}
			c := command{sub: toks[i+1], line: strings.TrimSpace(line)}
			for _, a := range toks[i+2:] {
				if shellOps[a] {
					break
				}
				c.args = append(c.args, a)
			}
			out = append(out, c)
		}
	}
	return out
}

var undefinedFlag = regexp.MustCompile(`flag provided but not defined`)

// checkFlags runs the CLI once per flag of c, as -flag=x -h: Go's flag
// package parses up to -h, so the only way to get "flag provided but not
// defined" is a flag the subcommand does not have. A value of the wrong
// type ("x" for a duration or a bool) fails differently and is fine here.
func checkFlags(t *testing.T, bin string, c command) {
	t.Helper()
	for _, a := range c.args {
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		out, _ := exec.Command(bin, c.sub, "--"+name+"=x", "-h").CombinedOutput()
		if undefinedFlag.Match(out) {
			t.Errorf("%q uses --%s, which `mqtt-check %s` does not define:\n%s", c.line, name, c.sub, out)
		}
	}
	// The subcommand itself must exist.
	out, err := exec.Command(bin, "help", c.sub).CombinedOutput()
	if err != nil {
		t.Errorf("%q: `mqtt-check help %s` failed: %v\n%s", c.line, c.sub, err, out)
	}
}

func TestExampleCommandsUseRealFlags(t *testing.T) {
	bin := cli(t)
	for _, f := range exampleFiles(t) {
		doc := parseYAML(t, f)
		var found []command
		for _, s := range strs(doc) {
			found = append(found, commands(s)...)
		}
		ran := false
		for _, c := range found {
			checkFlags(t, bin, c)
			if c.sub == "run" {
				ran = true
				if !strings.Contains(strings.Join(c.args, " "), "--target") {
					t.Errorf("%s: %q checks no --target", f, c.line)
				}
			}
		}
		if !ran {
			t.Errorf("%s: no `mqtt-check run` command in it", f)
		}
	}
}

func TestCommandsParser(t *testing.T) {
	got := commands("go install github.com/mqtt-check/mqtt-check/cmd/mqtt-check@latest\n" +
		"mqtt-check run --target a:1 \\\n  --report-dir out && echo ok\n/usr/local/bin/mqtt-check report matrix a.json -o m.md")
	if len(got) != 2 || got[0].sub != "run" || strings.Join(got[0].args, " ") != "--target a:1 --report-dir out" ||
		got[1].sub != "report" || strings.Join(got[1].args, " ") != "matrix a.json -o m.md" {
		t.Fatalf("commands: %+v", got)
	}
}

// A flag the CLI lacks must be caught: the check is not vacuous.
func TestCheckFlagsCatchesUnknownFlag(t *testing.T) {
	bin := cli(t)
	out, _ := exec.Command(bin, "run", "--no-such-flag=x", "-h").CombinedOutput()
	if !undefinedFlag.Match(out) {
		t.Fatalf("mqtt-check run --no-such-flag=x -h did not say the flag is undefined:\n%s", out)
	}
	out, _ = exec.Command(bin, "run", "--report-dir=x", "-h").CombinedOutput()
	if undefinedFlag.Match(out) {
		t.Fatalf("--report-dir reported undefined:\n%s", out)
	}
}

func reportDirOf(t *testing.T, f string, doc map[string]any) string {
	t.Helper()
	for _, s := range strs(doc) {
		for _, c := range commands(s) {
			if c.sub != "run" {
				continue
			}
			for i, a := range c.args {
				if a == "--report-dir" && i+1 < len(c.args) {
					return c.args[i+1]
				}
				if v, ok := strings.CutPrefix(a, "--report-dir="); ok {
					return v
				}
			}
		}
	}
	t.Fatalf("%s: `mqtt-check run` has no --report-dir", f)
	return ""
}

func TestGitHubActionsExample(t *testing.T) {
	f := filepath.Join(repoRoot, "examples", "github-actions", "mqtt-conformance.yml")
	doc := parseYAML(t, f)
	dir := reportDirOf(t, f, doc)
	jobs, _ := doc["jobs"].(map[string]any)
	if len(jobs) == 0 {
		t.Fatalf("%s: no jobs", f)
	}
	for name, j := range jobs {
		job, _ := j.(map[string]any)
		services, _ := job["services"].(map[string]any)
		image := ""
		for _, s := range services {
			svc, _ := s.(map[string]any)
			if img, _ := svc["image"].(string); strings.HasPrefix(img, "eclipse-mosquitto") {
				image = img
			}
		}
		if image == "" {
			t.Errorf("job %s: no eclipse-mosquitto service container", name)
		}
		steps, _ := job["steps"].([]any)
		var summary, upload bool
		for _, s := range steps {
			step, _ := s.(map[string]any)
			run, _ := step["run"].(string)
			if strings.Contains(run, "$GITHUB_STEP_SUMMARY") && strings.Contains(run, dir+"/summary.md") {
				summary = true
				if step["if"] != "always()" {
					t.Errorf("job %s: the step summary step must run when the gate fails (if: always())", name)
				}
			}
			if uses, _ := step["uses"].(string); strings.HasPrefix(uses, "actions/upload-artifact@") {
				with, _ := step["with"].(map[string]any)
				if p, _ := with["path"].(string); strings.TrimSuffix(p, "/") != dir {
					t.Errorf("job %s: the artifact uploads %q, not the report directory %q", name, p, dir)
				}
				upload = step["if"] == "always()"
			}
		}
		if !summary {
			t.Errorf("job %s: no step appends %s/summary.md to $GITHUB_STEP_SUMMARY", name, dir)
		}
		if !upload {
			t.Errorf("job %s: no upload-artifact step with if: always()", name)
		}
	}
	conf, err := os.ReadFile(filepath.Join(repoRoot, "examples", "mosquitto", "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listener 1883", "allow_anonymous true"} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Errorf("examples/mosquitto/mosquitto.conf lacks %q", want)
		}
	}
}

func TestGitLabExample(t *testing.T) {
	f := filepath.Join(repoRoot, "examples", "gitlab-ci", ".gitlab-ci.yml")
	doc := parseYAML(t, f)
	dir := reportDirOf(t, f, doc)
	var jobs int
	for name, v := range doc {
		job, ok := v.(map[string]any)
		if !ok || job["script"] == nil {
			continue
		}
		jobs++
		services, _ := job["services"].([]any)
		var mosq bool
		for _, s := range services {
			svc, _ := s.(map[string]any)
			if n, _ := svc["name"].(string); strings.HasPrefix(n, "eclipse-mosquitto") {
				mosq = true
				cmd := strings.Join(strs(svc["command"]), " ")
				if !strings.Contains(cmd, "allow_anonymous true") || !strings.Contains(cmd, "listener 1883") {
					t.Errorf("job %s: the mosquitto service does not allow anonymous clients on 1883: %q", name, cmd)
				}
			}
		}
		if !mosq {
			t.Errorf("job %s: no eclipse-mosquitto service", name)
		}
		art, _ := job["artifacts"].(map[string]any)
		rep, _ := art["reports"].(map[string]any)
		if j, _ := rep["junit"].(string); j != dir+"/junit.xml" {
			t.Errorf("job %s: artifacts:reports:junit is %q, want %s/junit.xml", name, j, dir)
		}
		if art["when"] != "always" {
			t.Errorf("job %s: artifacts must be kept when the gate fails (when: always)", name)
		}
	}
	if jobs == 0 {
		t.Fatalf("%s: no job", f)
	}
}
