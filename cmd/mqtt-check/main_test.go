package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// call runs dispatch in-process and returns the exit code and both outputs.
func call(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = dispatch(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDispatch(t *testing.T) {
	versionRE := `^mqtt-check \S+ \(` + regexp.QuoteMeta(runtime.Version()) + `, ` +
		runtime.GOOS + `/` + runtime.GOARCH + `\)\n$`
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // regexp; "" means stdout must be empty
		wantStderr string // regexp; "" means stderr must be empty
	}{
		{"version", []string{"version"}, exitOK, versionRE, ""},
		{"version extra argument", []string{"version", "x"}, exitCannotRun, "", `version takes no arguments.*\n.*help version`},
		{"version unknown flag", []string{"version", "-x"}, exitCannotRun, "", `flag provided but not defined: -x`},
		{"version -h", []string{"version", "-h"}, exitOK, `^Usage: mqtt-check version\n`, ""},
		{"version --help", []string{"version", "--help"}, exitOK, `^Usage: mqtt-check version\n`, ""},
		{"help", []string{"help"}, exitOK, `(?m)^Commands:\n  help +\S.*\n  version +Print the version`, ""},
		{"-h", []string{"-h"}, exitOK, `(?m)^Commands:\n`, ""},
		{"--help", []string{"--help"}, exitOK, `(?m)^Commands:\n`, ""},
		{"help version", []string{"help", "version"}, exitOK, `^Usage: mqtt-check version\n`, ""},
		{"help help", []string{"help", "help"}, exitOK, `^Usage: mqtt-check help`, ""},
		{"help unknown", []string{"help", "nosuch"}, exitCannotRun, "", `unknown command "nosuch"`},
		{"help two commands", []string{"help", "help", "version"}, exitCannotRun, "", `at most one command`},
		{"unknown command", []string{"nosuch"}, exitCannotRun, "", `^mqtt-check: unknown command "nosuch"\n`},
		{"no command", nil, exitCannotRun, "", `(?m)^Commands:\n`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := call(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			checkOutput(t, "stdout", stdout, tt.wantStdout)
			checkOutput(t, "stderr", stderr, tt.wantStderr)
		})
	}
}

func checkOutput(t *testing.T, what, got, wantRE string) {
	t.Helper()
	if wantRE == "" {
		if got != "" {
			t.Errorf("%s: got %q, want nothing", what, got)
		}
		return
	}
	if !regexp.MustCompile(wantRE).MatchString(got) {
		t.Errorf("%s: got %q, want a match for %q", what, got, wantRE)
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	_, stdout, _ := call(t, "help")
	for _, c := range commandTable() {
		want := fmt.Sprintf("  %s ", c.name)
		if !strings.Contains(stdout, want) || !strings.Contains(stdout, c.summary) {
			t.Errorf("help does not list %q with its summary %q:\n%s", c.name, c.summary, stdout)
		}
	}
}

func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commandTable() {
		if c.name == "" || c.run == nil {
			t.Errorf("command %q: empty name or nil run", c.name)
		}
		if seen[c.name] {
			t.Errorf("command %q listed twice", c.name)
		}
		seen[c.name] = true
		if c.summary == "" || strings.HasSuffix(c.summary, ".") || strings.Contains(c.summary, "\n") {
			t.Errorf("command %q: summary %q should be one line without a final period", c.name, c.summary)
		}
		if prefix := "Usage: mqtt-check " + c.name; !strings.HasPrefix(c.usage, prefix) {
			t.Errorf("command %q: usage should start with %q", c.name, prefix)
		}
		if !strings.HasSuffix(c.usage, "\n") {
			t.Errorf("command %q: usage should end with a newline", c.name)
		}
	}
}

func TestVersionFromLinker(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })
	version = "v9.8.7-test"
	_, stdout, _ := call(t, "version")
	want := fmt.Sprintf("mqtt-check v9.8.7-test (%s, %s/%s)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if stdout != want {
		t.Errorf("got %q, want %q", stdout, want)
	}
}

func TestBuildVersion(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "dev"},
		{"devel", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "dev"},
		{"empty", &debug.BuildInfo{}, true, "dev"},
		{"tagged", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, true, "v1.2.3"},
		{"pseudo", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260101000000-abcdefabcdef+dirty"}}, true, "v0.0.0-20260101000000-abcdefabcdef+dirty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buildVersion(tt.info, tt.ok); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRunCommandExitCodes checks that the error a command returns, and
// nothing else, picks the exit code.
func TestRunCommandExitCodes(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		err        error
		wantCode   int
		wantStderr string
	}{
		{"ok", context.Background(), nil, exitOK, ""},
		{"check failed", context.Background(), checkFailed("%d MUST violations", 3), exitCheckFailed, `^mqtt-check fake: 3 MUST violations\n$`},
		{"check failed wrapped", context.Background(), fmt.Errorf("conformance: %w", checkFailed("1 MUST violation")), exitCheckFailed, `conformance: 1 MUST violation`},
		{"usage", context.Background(), usagef("missing target"), exitCannotRun, `missing target\nRun 'mqtt-check help fake' for usage\.\n$`},
		{"unreachable", context.Background(), &exitError{code: exitCannotRun, err: errors.New("dial tcp 127.0.0.1:1883: connection refused")}, exitCannotRun, `connection refused\n$`},
		{"other error", context.Background(), errors.New("boom"), exitCannotRun, `^mqtt-check fake: boom\n$`},
		{"interrupted", cancelled, fmt.Errorf("waiting for CONNACK: %w", context.Canceled), exitCannotRun, `^mqtt-check fake: interrupted\n$`},
		{"failed after interrupt", cancelled, checkFailed("2 MUST violations before interrupt"), exitCheckFailed, `2 MUST violations`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := command{
				name:  "fake",
				usage: "Usage: mqtt-check fake\n",
				run: func(context.Context, []string, io.Writer, io.Writer) error {
					return tt.err
				},
			}
			var stdout, stderr bytes.Buffer
			code := runCommand(tt.ctx, cmd, nil, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code: got %d, want %d", code, tt.wantCode)
			}
			checkOutput(t, "stderr", stderr.String(), tt.wantStderr)
			checkOutput(t, "stdout", stdout.String(), "")
		})
	}
}
