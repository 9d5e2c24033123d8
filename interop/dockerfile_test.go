package interop_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, USER...
	args string
	line int
}

// parseDockerfile splits a Dockerfile into instructions: comments and
// blank lines are dropped, lines ending in a backslash are joined.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " "), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: the last instruction ends in a backslash", path)
	}
	return out
}

var dockerInstructions = map[string]bool{"FROM": true, "RUN": true, "CMD": true, "LABEL": true, "EXPOSE": true, "ENV": true,
	"ADD": true, "COPY": true, "ENTRYPOINT": true, "VOLUME": true, "USER": true, "WORKDIR": true, "ARG": true,
	"ONBUILD": true, "STOPSIGNAL": true, "HEALTHCHECK": true, "SHELL": true}

func TestDockerfile(t *testing.T) {
	path := filepath.Join(repoRoot, "Dockerfile")
	ins := parseDockerfile(t, path)

	type stage struct {
		image, name string
		ins         []instruction
	}
	var stages []*stage
	for _, in := range ins {
		if !dockerInstructions[in.cmd] {
			t.Errorf("Dockerfile:%d: unknown instruction %q", in.line, in.cmd)
		}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := &stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else if len(f) != 1 {
				t.Errorf("Dockerfile:%d: FROM %q: want IMAGE [AS NAME]", in.line, in.args)
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Errorf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build (a build stage and a small final stage), got %d FROM", len(stages))
	}

	// The build stage: a static Go build of the CLI.
	names := map[string]bool{}
	staticBuild := false
	for _, s := range stages[:len(stages)-1] {
		if s.name != "" {
			names[s.name] = true
		}
		for _, in := range s.ins {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				if !strings.Contains(in.args, "CGO_ENABLED=0") {
					t.Errorf("Dockerfile:%d: go build without CGO_ENABLED=0: the binary would not be static", in.line)
				}
				if !strings.Contains(in.args, "./cmd/mqtt-check") {
					t.Errorf("Dockerfile:%d: go build does not build ./cmd/mqtt-check", in.line)
				}
				staticBuild = true
			}
		}
	}
	if !staticBuild {
		t.Error("no RUN ... go build in a build stage")
	}

	// The final stage: distroless or scratch, the binary copied from a
	// build stage, a non-root USER, an exec-form ENTRYPOINT.
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.image, "gcr.io/distroless/") && final.image != "scratch" {
		t.Errorf("final stage FROM %s: want distroless or scratch", final.image)
	}
	var user, entry string
	copied := false
	for _, in := range final.ins {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "COPY":
			if from, ok := strings.CutPrefix(strings.Fields(in.args)[0], "--from="); ok {
				if !names[from] {
					t.Errorf("Dockerfile:%d: COPY --from=%s names no earlier stage (%v)", in.line, from, names)
				}
				copied = strings.Contains(in.args, "mqtt-check")
			}
		case "RUN":
			t.Errorf("Dockerfile:%d: RUN in the final stage: distroless and scratch have no shell", in.line)
		}
	}
	if !copied {
		t.Error("the final stage does not COPY --from a build stage the mqtt-check binary")
	}
	u, _, _ := strings.Cut(user, ":")
	switch u {
	case "":
		t.Error("the final stage sets no USER: the image would run as root")
	case "root", "0":
		t.Errorf("the final stage runs as USER %s", user)
	}
	if !strings.HasPrefix(entry, "[") || !strings.Contains(entry, "mqtt-check") {
		t.Errorf("ENTRYPOINT %q: want the exec form running mqtt-check", entry)
	}
}

func TestDockerignoreKeepsSourcesIn(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch strings.TrimSuffix(line, "/") {
		case "cmd", "codec", "conformance", "reference", "reports", "load", "capture", "proxy", "go.mod", "go.sum", "*.go", "**/*.go":
			t.Errorf(".dockerignore excludes %q, which the build needs", line)
		}
	}
}
