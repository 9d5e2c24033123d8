package codec

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// statementIDs reads the first column of a statement list in shared/spec.
func statementIDs(t *testing.T, file string) map[string]bool {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "spec", file)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, _, _ := strings.Cut(sc.Text(), "\t")
		if strings.HasPrefix(id, "MQTT-") {
			ids[id] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 {
		t.Fatalf("%s lists no statement", path)
	}
	return ids
}

// TestRuleIDsExist checks that the codec cites only statements that exist
// in the specification of the level it cites them for.
func TestRuleIDsExist(t *testing.T) {
	for _, c := range []struct {
		v    Version
		file string
	}{{V311, "mqtt-3.1.1-statements.tsv"}, {V5, "mqtt-5.0-statements.tsv"}} {
		t.Run(c.v.String(), func(t *testing.T) {
			known := statementIDs(t, c.file)
			got := RuleIDs(c.v)
			if len(got) == 0 {
				t.Fatal("RuleIDs is empty")
			}
			for _, id := range got {
				if !known[id] {
					t.Errorf("%s is not a statement of MQTT %s", id, c.v)
				}
			}
		})
	}
}

// TestRuleIDsV31 checks that level 3 cites the 3.1.1 statements.
func TestRuleIDsV31(t *testing.T) {
	a, b := RuleIDs(V31), RuleIDs(V311)
	sort.Strings(a)
	sort.Strings(b)
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Errorf("RuleIDs(V31) = %v, want those of 3.1.1 %v", a, b)
	}
}
