// Command interop-report is the bookkeeping half of scripts/interop.sh.
//
//	interop-report rename REPORT.json NAME [BANNER]
//	    name the single target of a conformance document NAME instead of
//	    its address, in place (the matrix then has a column per broker);
//	    BANNER is its version when the broker did not announce one
//	interop-report summary OUTDIR BROKER...
//	    write OUTDIR/summary.md, the headline of the run (also printed),
//	    and exit 1 when a broker failed a MUST statement no profile
//	    accepts, could not start or could not run
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/interop"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		return usage()
	}
	switch args[0] {
	case "rename":
		if len(args) != 3 && len(args) != 4 {
			return usage()
		}
		banner := ""
		if len(args) == 4 {
			banner = args[3]
		}
		if err := interop.RenameTargetFile(args[1], args[2], banner); err != nil {
			fmt.Fprintf(os.Stderr, "interop-report rename: %v\n", err)
			return 2
		}
		return 0
	case "summary":
		if len(args) < 3 {
			return usage()
		}
		dir := args[1]
		var brokers []*interop.Broker
		for _, name := range args[2:] {
			brokers = append(brokers, interop.LoadBroker(dir, name))
		}
		tool := strings.TrimSpace(os.Getenv("MQTT_CHECK_VERSION"))
		if tool == "" {
			tool = "mqtt-check"
		}
		var b strings.Builder
		if err := interop.WriteHeadline(&b, brokers, time.Now(), tool); err != nil {
			fmt.Fprintf(os.Stderr, "interop-report summary: %v\n", err)
			return 2
		}
		if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte(b.String()), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "interop-report summary: %v\n", err)
			return 2
		}
		fmt.Print(b.String())
		if err := interop.Gate(brokers); err != nil {
			fmt.Fprintf(os.Stderr, "interop-report: %v\n", err)
			if errors.Is(err, interop.ErrFailed) {
				return 1
			}
			return 2
		}
		return 0
	}
	return usage()
}

func usage() int {
	fmt.Fprintln(os.Stderr, "usage: interop-report rename REPORT.json NAME [BANNER] | summary OUTDIR BROKER...")
	return 2
}
