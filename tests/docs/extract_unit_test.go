package docs

import (
	"slices"
	"testing"
)

// TestMarkdownSpans: a code span that goes on over a line break of its
// paragraph is one command line (README's `check_nrpe -c
// opschecks_numa_args -a '--process mongod'` went unchecked when spans
// were read line by line), and a span written with two backticks is read
// whole.
func TestMarkdownSpans(t *testing.T) {
	text := "## check_numa\n\nthat takes the options from the server (`check_nrpe -c opschecks_numa_args\n" +
		"-a '--process mongod'`). It needs `dont_blame_nrpe=1`.\n\n" +
		"Debian strips `` `~$&| `` and `a` from\n`b\nc` too.\n\n| `x` | `y\n| z` |\n"
	var spans []string
	for _, u := range markdownUnits("R.md", text, func(s string) bool { return s == "check_numa" }) {
		if u.span {
			spans = append(spans, u.src+" "+u.check+" "+u.text)
		}
	}
	want := []string{
		"R.md:3 check_numa check_nrpe -c opschecks_numa_args -a '--process mongod'",
		"R.md:3 check_numa dont_blame_nrpe=1",
		"R.md:6 check_numa `~$&|",
		"R.md:6 check_numa a",
		"R.md:7 check_numa b c",
		"R.md:10 check_numa x",
	}
	if !slices.Equal(spans, want) {
		t.Errorf("spans:\n got %q\nwant %q", spans, want)
	}
}
