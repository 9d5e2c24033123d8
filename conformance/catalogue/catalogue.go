// Package catalogue is the project's list of normative statements of the
// MQTT specifications: the IDs specs are labelled with and the source of
// every coverage figure.
package catalogue

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed mqtt-3.1.1.tsv
var mqtt311 []byte

// Statement is one normative statement.
type Statement struct {
	ID          string
	Level       string // MUST, MUST NOT, SHOULD...
	Target      string // server, client or both
	Untestable  string // why no spec can check it from outside, or ""
	Description string
}

// Server reports whether a broker is bound by the statement.
func (s Statement) Server() bool { return s.Target == "server" || s.Target == "both" }

// Catalogue is the statements of one specification, in document order.
type Catalogue struct {
	Spec       string
	Statements []Statement
	byID       map[string]int
}

// MQTT311 returns the MQTT 3.1.1 catalogue (MQTT 3.1 has no numbered
// statements; its specs cite the 3.1.1 ones).
func MQTT311() *Catalogue {
	c, err := parse("MQTT 3.1.1", mqtt311)
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return c
}

func parse(name string, data []byte) (*Catalogue, error) {
	c := &Catalogue{Spec: name, byID: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	header := true
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("catalogue %s line %d: %d columns, want 5", name, n, len(f))
		}
		s := Statement{ID: f[0], Level: f[1], Target: f[2], Untestable: f[3], Description: f[4]}
		if _, dup := c.byID[s.ID]; dup {
			return nil, fmt.Errorf("catalogue %s line %d: duplicate id %s", name, n, s.ID)
		}
		c.byID[s.ID] = len(c.Statements)
		c.Statements = append(c.Statements, s)
	}
	return c, sc.Err()
}

// Lookup returns the statement with the given ID.
func (c *Catalogue) Lookup(id string) (Statement, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Statement{}, false
	}
	return c.Statements[i], true
}

// Coverage is how many server-side statements specs check.
type Coverage struct {
	Server     int      // server or both statements
	Covered    int      // checked by at least one spec
	Untestable int      // declared untestable, with a reason
	Missing    []string // neither
}

// Coverage computes coverage given the statement IDs specs check.
func (c *Catalogue) Coverage(checked map[string]bool) Coverage {
	var cv Coverage
	for _, s := range c.Statements {
		if !s.Server() {
			continue
		}
		cv.Server++
		switch {
		case checked[s.ID]:
			cv.Covered++
		case s.Untestable != "":
			cv.Untestable++
		default:
			cv.Missing = append(cv.Missing, s.ID)
		}
	}
	sort.Strings(cv.Missing)
	return cv
}
