package testenv

import (
	"strconv"
	"strings"
	"testing"
)

// PerfValue returns the value of the perfdata item 'label' in the run's
// first line, without its UOM. It fails the test when the line has no such
// item, or when its value is U or not a number.
func PerfValue(t testing.TB, r Run, label string) float64 {
	t.Helper()
	first := r.FirstLine()
	if _, pd, ok := strings.Cut(first, " | "); ok {
		for _, item := range strings.Fields(pd) {
			l, v, _ := strings.Cut(item, "=")
			if l != "'"+label+"'" {
				continue
			}
			v, _, _ = strings.Cut(v, ";")
			f, err := strconv.ParseFloat(strings.TrimRight(v, "smuc%KMGTB"), 64)
			if err != nil {
				t.Fatalf("perfdata %q has no numeric value (%q) in %q", label, v, first)
			}
			return f
		}
	}
	t.Fatalf("no perfdata %q in %q", label, first)
	return 0
}
