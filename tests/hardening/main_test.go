package hardening

import (
	"strings"
	"sync"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

// binary is one built check and what its options say about it.
type binary struct {
	name, path string
	doc        plugin.CheckDoc
	opts       map[string]plugin.OptionDoc
}

func (b binary) has(long string) bool { _, ok := b.opts[long]; return ok }

var (
	binOnce sync.Once
	bins    []binary
)

// allBinaries builds every cmd/check_* and reads its option list.
func allBinaries(t *testing.T) []binary {
	t.Helper()
	binOnce.Do(func() {
		for _, c := range testenv.AllChecks(t) {
			b := binary{name: c.Name, path: c.Path, doc: c.Doc, opts: map[string]plugin.OptionDoc{}}
			for _, o := range c.Doc.Options {
				b.opts[o.Long] = o
			}
			bins = append(bins, b)
		}
	})
	if len(bins) < 5 {
		t.Errorf("found %d check binaries in cmd/, want the five of the suite", len(bins))
	}
	return bins
}

// unknownOneLine asserts exit 3 with exactly one line that starts with the
// label and UNKNOWN and contains want.
func unknownOneLine(t *testing.T, b binary, r testenv.Run, want string) {
	t.Helper()
	testenv.AssertContract(t, b.doc.Label, r)
	if r.Code != 3 {
		t.Errorf("exit %d, want 3: %q", r.Code, r.Stdout)
	}
	if !strings.HasPrefix(r.Stdout, b.doc.Label+" UNKNOWN - ") {
		t.Errorf("stdout %q does not start with %q", r.Stdout, b.doc.Label+" UNKNOWN - ")
	}
	if n := strings.Count(strings.TrimRight(r.Stdout, "\n"), "\n"); n != 0 {
		t.Errorf("%d lines, want exactly one: %q", n+1, r.Stdout)
	}
	if want != "" && !strings.Contains(r.Stdout, want) {
		t.Errorf("stdout %q does not say %q", r.Stdout, want)
	}
}
