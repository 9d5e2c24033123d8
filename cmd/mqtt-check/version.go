package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release this binary was built from, set at link time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/mqtt-check
//
// When it is empty, the version comes from the module build info.
var version string

func versionCommand() command {
	return command{
		name:    "version",
		summary: "Print the version of mqtt-check",
		usage: `Usage: mqtt-check version

Print the mqtt-check version, the Go version it was built with, and the
operating system and architecture it runs on.

The version is the one set at link time (make build sets it from
'git describe'), else the module version recorded by 'go install', else "dev".

Example:
  $ mqtt-check version
  mqtt-check v0.1.0 (go1.26.8, linux/amd64)
`,
		run: runVersion,
	}
}

func runVersion(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments, got %q", fs.Args())
	}
	_, err := fmt.Fprintln(stdout, versionLine())
	return err
}

// versionLine returns the line that mqtt-check version prints.
func versionLine() string {
	v := version
	if v == "" {
		info, ok := debug.ReadBuildInfo()
		v = buildVersion(info, ok)
	}
	return fmt.Sprintf("mqtt-check %s (%s, %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildVersion returns the main module's version from build info, or "dev"
// when there is none: a binary built inside the work tree reports "(devel)"
// unless the go command stamped a version from version control.
func buildVersion(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "dev"
	}
	switch v := info.Main.Version; v {
	case "", "(devel)":
		return "dev"
	default:
		return v
	}
}
