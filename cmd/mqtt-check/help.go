package main

import (
	"context"
	"fmt"
	"io"
)

func helpCommand() command {
	return command{
		name:    "help",
		summary: "Show the commands, or one command's usage",
		usage: `Usage: mqtt-check help [command]

Without a command, list the commands and the exit codes. With one, print
that command's usage: its flags and examples. 'mqtt-check <command> -h'
prints the same.

Examples:
  $ mqtt-check help
  $ mqtt-check help version
`,
		run: runHelp,
	}
}

func runHelp(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("help")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		return writeMainUsage(stdout)
	case 1:
		cmd, ok := lookup(fs.Arg(0))
		if !ok {
			return usagef("unknown command %q", fs.Arg(0))
		}
		_, err := fmt.Fprint(stdout, cmd.usage)
		return err
	default:
		return usagef("help takes at most one command, got %q", fs.Args())
	}
}
