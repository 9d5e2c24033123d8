// Command mqtt-check tells whether an MQTT broker follows the MQTT
// specification and how it holds up under load.
//
// Each subcommand lives in its own file and adds one entry to commandTable.
// A subcommand returns an error; main alone turns it into an exit code:
//
//	0  ok: the command ran and every check passed
//	1  a check failed: a MUST statement was violated or an SLO was broken
//	2  could not run: bad flags or arguments, target unreachable, interrupted
//
// A subcommand asks for code 1 by returning an error made with checkFailed,
// and for code 2 by returning a usageError (the command was called wrongly)
// or any other error (something stopped it from running to the end).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes; see the package comment.
const (
	exitOK          = 0
	exitCheckFailed = 1
	exitCannotRun   = 2
)

// command is one entry of the command table.
type command struct {
	// name is the word that selects the command: mqtt-check <name>.
	name string
	// summary is one line for the command list, without a final period.
	summary string
	// usage is the full help text: synopsis, flags and examples.
	usage string
	// run executes the command. args excludes the command name. It writes
	// results to stdout and diagnostics to stderr, returns when ctx is done,
	// and reports failure only through its error.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commandTable lists the subcommands in the order help shows them. It is a
// function, not a variable, because help reads the table it belongs to.
func commandTable() []command {
	return []command{
		helpCommand(),
		versionCommand(),
		conformanceRunCommand(),
		coverageCommand(),
		brokerCommand(),
		loadCommand(),
		reportCommand(),
		decodeCommand(), proxyCommand(),
	}
}

// lookup returns the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commandTable() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// exitError is an error that asks main for a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// checkFailed returns an error that makes mqtt-check exit with code 1: the
// command ran and the target failed a check. The message should say how many
// checks failed; the details belong in the command's report.
func checkFailed(format string, args ...any) error {
	return &exitError{code: exitCheckFailed, err: fmt.Errorf(format, args...)}
}

// usageError reports a command called wrongly (unknown flag, missing or extra
// argument). It exits with code 2, and main points the user to the help.
type usageError struct {
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// exitCode returns the exit code for the error a command returned.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// A usage error, an interrupt or any other error: the command did not
	// get to judge the target, so it must not read as a failed check.
	return exitCannotRun
}

// newFlagSet returns a flag set for a subcommand that prints nothing by
// itself: parseFlags turns its errors into values and dispatch reports them.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs. It returns flag.ErrHelp for -h and -help,
// a usageError for any other parse error, and nil otherwise.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{err: err}
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// dispatch runs the command named by args[0] and returns the exit code.
// args excludes the program name.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_ = writeMainUsage(stderr)
		return exitCannotRun
	}
	if isHelpFlag(args[0]) {
		if err := writeMainUsage(stdout); err != nil {
			fmt.Fprintf(stderr, "mqtt-check: %v\n", err)
			return exitCannotRun
		}
		return exitOK
	}
	name := args[0]
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "mqtt-check: unknown command %q\nRun 'mqtt-check help' for the list of commands.\n", name)
		return exitCannotRun
	}
	return runCommand(ctx, cmd, args[1:], stdout, stderr)
}

// runCommand runs cmd with args, reports its error on stderr and returns
// the exit code.
func runCommand(ctx context.Context, cmd command, args []string, stdout, stderr io.Writer) int {
	name := cmd.name
	err := cmd.run(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		if _, err := io.WriteString(stdout, cmd.usage); err != nil {
			fmt.Fprintf(stderr, "mqtt-check %s: %v\n", name, err)
			return exitCannotRun
		}
		return exitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "mqtt-check %s: interrupted\n", name)
		return exitCannotRun
	}
	fmt.Fprintf(stderr, "mqtt-check %s: %v\n", name, err)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Run 'mqtt-check help %s' for usage.\n", name)
	}
	return exitCode(err)
}

// writeMainUsage writes the top-level help: what mqtt-check is, its
// commands and its exit codes.
func writeMainUsage(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`mqtt-check tells whether an MQTT broker follows the MQTT specification,
and how it holds up under load.

Usage:
  mqtt-check <command> [flags] [arguments]

Commands:
`)
	table := commandTable()
	width := 0
	for _, c := range table {
		width = max(width, len(c.name))
	}
	for _, c := range table {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
	}
	b.WriteString(`
Run 'mqtt-check help <command>' for a command's flags and examples.

Exit codes:
  0  ok
  1  a check failed (a MUST statement violated, an SLO broken)
  2  could not run (bad flags or arguments, target unreachable, interrupted)
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second one ends a command that is slow to stop.
		<-ctx.Done()
		stop()
	}()
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
