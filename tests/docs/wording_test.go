package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// thresholdFrom finds a threshold described as where the alert starts
// ("WARNING from 80 %", "CRITICAL at 60 %", "warns from 2"). Under the
// Nagios range semantics -w 80 is the range 0:80, so 80 itself is OK and
// the alert is for values above it: the words must say "above 80" (or,
// for the start of a range, "below").
var thresholdFrom = regexp.MustCompile(`(?i)\b(warning|critical|warns?|alerts?)\b[^.;:()\n|]{0,12}?\b(from|at) ~?[0-9]`)

// TestThresholdWording: the README and the generated man pages and
// Nagios definitions (the option descriptions and the examples of
// packaging/gen) describe thresholds as Nagios ranges judge them.
func TestThresholdWording(t *testing.T) {
	root := testenv.ModuleRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "packaging", "man", "*.1"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no man pages: %v", err)
	}
	files = append(files, filepath.Join(root, "README.md"), filepath.Join(root, "packaging", "nagios", "opschecks-commands.cfg"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.ReplaceAll(string(b), `\-`, "-"), "\n") {
			if m := thresholdFrom.FindString(line); m != "" {
				t.Errorf("%s:%d: %q: -w/-c N alert above N (N itself is OK): say \"above N\"\n%s", filepath.Base(f), i+1, m, line)
			}
		}
	}
}
