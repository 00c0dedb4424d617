package testenv

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	nagios "github.com/atc0005/go-nagios"
)

var (
	contractLine = regexp.MustCompile(`^([A-Z][A-Z0-9_]*) (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]+?)(?: \| (.+))?$`)
	// perfItem is one perfdata item as the runtime writes it: a label of
	// the scheme (internal/plugin/label.go), unquoted, a plain decimal
	// value (never 'U', never an exponent), a unit of the guidelines, then
	// up to four fields.
	perfItem   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*=-?[0-9]+(\.[0-9]+)?(s|ms|us|%|B|KB|MB|GB|TB|c)?(;[-0-9.:~@]*){0,4}$`)
	stateCodes = map[string]int{"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
)

// AssertContract checks a run of a check binary against the plugin
// contract: the first line is "<LABEL> <STATE> - text | perfdata", the
// exit code matches the state word, perfdata parses per the guidelines
// with unique labels of the project's scheme, valid UTF-8, nothing is on stderr and no Go trace leaks. It
// returns the state word.
func AssertContract(t testing.TB, label string, r Run) string {
	t.Helper()
	first := r.FirstLine()
	m := contractLine.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("first line breaks the contract: %q (whole stdout %q)", first, r.Stdout)
	}
	if m[1] != label {
		t.Errorf("label %q, want %q: %q", m[1], label, first)
	}
	if code := stateCodes[m[2]]; code != r.Code {
		t.Errorf("exit code %d does not match state %s: %q", r.Code, m[2], first)
	}
	if r.Stderr != "" {
		t.Errorf("stderr is not empty: %q", r.Stderr)
	}
	if !utf8.ValidString(r.Stdout) {
		t.Errorf("stdout is not valid UTF-8: %q", r.Stdout)
	}
	if strings.Contains(r.Stdout, "goroutine ") || strings.Contains(r.Stdout, "panic:") {
		t.Errorf("a Go trace leaked: %q", r.Stdout)
	}
	if len(first) > 4096 {
		t.Errorf("first line is %d bytes", len(first))
	}
	if m[4] != "" {
		seen := map[string]bool{}
		for _, item := range strings.Fields(m[4]) {
			if !perfItem.MatchString(item) {
				t.Errorf("perfdata item %q does not follow the guidelines", item)
				continue
			}
			lbl := item[:strings.Index(item, "=")]
			if seen[lbl] {
				t.Errorf("perfdata label %s repeats", lbl)
			}
			seen[lbl] = true
		}
		if _, err := nagios.ParsePerfData(m[4]); err != nil && !strings.Contains(m[4], "-") && !strings.Contains(m[4], "~") {
			t.Errorf("go-nagios cannot parse the perfdata %q: %v", m[4], err)
		}
	}
	return m[2]
}
