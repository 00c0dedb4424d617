package testenv

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// PerfValue returns the value of the perfdata item 'label' in the run's
// first line, without its UOM. It fails the test when the line has no such
// item, or when its value is not a number.
func PerfValue(t testing.TB, r Run, label string) float64 {
	t.Helper()
	first := r.FirstLine()
	if _, pd, ok := strings.Cut(first, " | "); ok {
		for _, item := range strings.Fields(pd) {
			l, v, _ := strings.Cut(item, "=")
			if l != label {
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

// AssertUnmeasured checks that the run left each label out of its
// perfdata and named it in the long output as not measured (the runtime's
// policy for a value a run could not measure, instead of 'U').
func AssertUnmeasured(t testing.TB, r Run, labels ...string) {
	t.Helper()
	_, pd, _ := strings.Cut(r.FirstLine(), " | ")
	for _, l := range labels {
		for _, item := range strings.Fields(pd) {
			if strings.HasPrefix(item, l+"=") {
				t.Errorf("perfdata has %q, which should be left out as not measured: %q", item, r.FirstLine())
			}
		}
		found := false
		for _, line := range strings.Split(r.Stdout, "\n")[1:] {
			if _, list, ok := strings.Cut(line, "left out of the perfdata: "); ok && slices.Contains(strings.Split(list, ", "), l) {
				found = true
			}
		}
		if !found {
			t.Errorf("the long output does not name %q as not measured:\n%s", l, r.Stdout)
		}
	}
}
