package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that notes a skip or a failure instead of
// ending the test; the first one counts, as the test would end there.
type recorder struct {
	testing.TB
	skipped, failed string
	errs            []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

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

// TestStateGuard: a check run without --state-dir that writes the
// state directory fails the test (RunCmd reports it), with or without
// parts in its key; files of other checks, runs given a --state-dir and
// runs under PrivateStateDir are not its concern. The guarded directory
// is the test's own here.
func TestStateGuard(t *testing.T) {
	dir := t.TempDir()
	defer func(d string) { hostStateDir = d }(hostStateDir)
	hostStateDir = dir
	check := "check_zzguard"
	bin := filepath.Join(t.TempDir(), check)
	// A stand-in check that writes a state file where it is told to.
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	in := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		args []string
		bad  bool
	}{
		{[]string{in(check + "_key-0123456789ab.json")}, true},
		{[]string{in(check + "-0123456789ab.json")}, true},
		{[]string{in("check_zzother_key-0123456789ab.json")}, false},
		{[]string{in(check + "_key-0123456789ab.json"), "--state-dir", "x"}, false},
		{[]string{in(check + "_key-0123456789ab.json"), privateMount}, false},
	} {
		rec := &recorder{TB: t}
		RunCheck(rec, bin, nil, tc.args...)
		os.Remove(tc.args[0])
		if got := len(rec.errs) > 0; got != tc.bad {
			t.Errorf("%q: guard errors %q, want any: %v", tc.args, rec.errs, tc.bad)
		}
	}
}
