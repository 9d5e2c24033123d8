// Package leakcheck finds goroutines that outlive a package's tests.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and then fails the package if, after a grace of
// two seconds, a goroutine whose stack mentions fn is still alive. Call
// it from TestMain.
func Main(m *testing.M, fn string) {
	code := m.Run()
	if code == 0 {
		if leaked := Lingering(fn, 2*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Lingering polls until no goroutine stack mentions fn and returns the
// offending stacks if some remain after d ("" when none do).
func Lingering(fn string, d time.Duration) string {
	deadline := time.Now().Add(d)
	buf := make([]byte, 4<<20)
	for {
		n := runtime.Stack(buf, true)
		var bad []string
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, fn) {
				bad = append(bad, g)
			}
		}
		if len(bad) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(bad, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
