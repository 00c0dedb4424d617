package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that notes a skip or a failure instead of
// ending the test; the first one counts, as the test would end there.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	if r.skipped == "" && r.failed == "" {
		r.skipped = fmt.Sprintf(format, args...)
	}
}

func (r *recorder) Fatalf(format string, args ...any) {
	if r.skipped == "" && r.failed == "" {
		r.failed = fmt.Sprintf(format, args...)
	}
}

// TestRequireSkipsByHandFailsUnderCI: a missing prerequisite skips with
// the reason when run by hand and fails under CI=true, never both.
func TestRequireSkipsByHandFailsUnderCI(t *testing.T) {
	const why = "opschecks-no-such-binary is not installed"
	for ci, wantFail := range map[string]bool{"": false, "false": false, "true": true, "1": true} {
		t.Setenv("CI", ci)
		var r recorder
		Require(&r, "opschecks-no-such-binary")
		got, other := r.skipped, r.failed
		if wantFail {
			got, other = r.failed, r.skipped
		}
		if !strings.Contains(got, why) || other != "" {
			t.Errorf("CI=%q: skipped %q, failed %q; want only the %s", ci, r.skipped, r.failed,
				map[bool]string{true: "failure", false: "skip"}[wantFail])
		}
	}
	if _, why := LookBinary("nginx-opschecks-none"); why != "nginx-opschecks-none is not installed" {
		t.Errorf("unknown binary: %q", why)
	}
	knownBinaries["opschecks-fake"] = struct {
		names []string
		pkg   string
	}{[]string{"opschecks-fake-exe"}, "opschecks-fake-pkg"}
	defer delete(knownBinaries, "opschecks-fake")
	if _, why := LookBinary("opschecks-fake"); why != "opschecks-fake is not installed (Debian package opschecks-fake-pkg)" {
		t.Errorf("known binary: %q", why)
	}
}
