// Package testenv lets tests ask for what they need (root, network
// namespaces, real binaries) and starts real components for them. Run by
// hand without a prerequisite, a test skips with the reason; under CI
// (CI=true) it fails instead, so CI can never pass by skipping.
//
// Files: testenv.go (Require, Missing, Binary, users); build.go (the
// binaries under test, built once); contract.go and perf.go (the plugin
// contract and perfdata of a run); golden.go (golden files, -update);
// options.go (a domain's options parsed as its binary does); netns.go
// (network namespaces the tests make); nginx.go, ferretdb.go, mongosh.go,
// icinga.go, nagios.go, daemon.go, conntrack.go, tls.go (real components
// and their files); consumers.go with consumers_graphite.go and
// consumers_judge.go (AssertConsumers: Icinga 2, Graphite and Nagios 4 as
// the judges of a check's output); statedir.go (no test writes the host's
// state directory: the guard in RunCmd, PrivateStateDir); mongosim/ (the
// replica-set simulator), ferret/ (FerretDB's build).
package testenv

import (
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"
)

// The tests run the checks as root. Started through sudo (`sudo make
// test`), every check would inherit sudo's SUDO_UID and take the identity
// of the user who ran sudo (internal/privilege); so the test process drops
// sudo's variables, and a test that means a run through sudo sets them on
// its command (append(os.Environ(), "SUDO_UID=...")).
func init() {
	for _, v := range []string{"SUDO_UID", "SUDO_GID", "SUDO_USER"} {
		os.Unsetenv(v)
	}
}

// InCI reports whether the tests run under CI, where missing
// prerequisites are failures.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// Missing skips the test, or fails it under CI, with the reason.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("prerequisite missing under CI: "+format, args...)
	}
	t.Skipf("prerequisite missing: "+format, args...)
}

// knownBinaries maps the names tests ask for to the executables and the
// Debian package that ships them (the README's test command installs them).
var knownBinaries = map[string]struct {
	names []string
	pkg   string
}{
	"nginx":       {[]string{"nginx"}, "nginx"},
	"numactl":     {[]string{"numactl"}, "numactl"},
	"iptables":    {[]string{"iptables"}, "iptables"},
	"conntrack":   {[]string{"conntrack"}, "conntrack"},
	"ip":          {[]string{"ip"}, "iproute2"},
	"ss":          {[]string{"ss"}, "iproute2"},
	"nagios4":     {[]string{"nagios4"}, "nagios4-core"},
	"icinga2":     {[]string{"icinga2"}, "icinga2-bin"},
	"nrpe":        {[]string{"nrpe", "/usr/sbin/nrpe"}, "nagios-nrpe-server"},
	"check_nrpe":  {[]string{"check_nrpe", "/usr/lib/nagios/plugins/check_nrpe"}, "nagios-nrpe-plugin"},
	"check_dummy": {[]string{"check_dummy", "/usr/lib/nagios/plugins/check_dummy"}, "monitoring-plugins-basic"},
	"openssl":     {[]string{"openssl"}, "openssl"},
	"rpm":         {[]string{"rpm"}, "rpm"},
	"dpkg":        {[]string{"dpkg"}, "dpkg"},
}

// LookBinary finds a named executable; the second result says what is
// missing when it is not found.
func LookBinary(name string) (string, string) {
	kb, ok := knownBinaries[name]
	if !ok {
		kb.names, kb.pkg = []string{name}, ""
	}
	for _, n := range kb.names {
		if p, err := exec.LookPath(n); err == nil {
			return p, ""
		}
	}
	why := name + " is not installed"
	if kb.pkg != "" {
		why += " (Debian package " + kb.pkg + ")"
	}
	return "", why
}

// Binary returns the path of a named executable, or skips/fails.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, why := LookBinary(name)
	if p == "" {
		Missing(t, "%s; run the README's test command, which installs it", why)
	}
	return p
}

// Root requires uid 0.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "the test needs root")
	}
}

// Require asks for several prerequisites by name: "root", "netns" (root
// and the ip command) or any binary name Binary knows.
func Require(t testing.TB, what ...string) {
	t.Helper()
	for _, w := range what {
		switch w {
		case "root":
			Root(t)
		case "netns":
			Root(t)
			Binary(t, "ip")
		default:
			Binary(t, w)
		}
	}
}

// UnprivilegedUser returns the uid and gid of a system user without any
// privilege, creating "opschecks-test" when it does not exist (root only).
func UnprivilegedUser(t testing.TB) (uid, gid uint32) {
	t.Helper()
	Root(t)
	const name = "opschecks-test"
	u, err := user.Lookup(name)
	if err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			Missing(t, "cannot create user %s: %v: %s", name, err, out)
		}
		if u, err = user.Lookup(name); err != nil {
			t.Fatal(err)
		}
	}
	ui, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gi, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("user %s: uid %q gid %q", name, u.Uid, u.Gid)
	}
	return uint32(ui), uint32(gi)
}

// OwnedDir is a directory the user uid:gid owns, for a state dir of a
// check run as that user. It is made directly in the temporary directory:
// t.TempDir's parent is root's and 0700, which the user cannot enter.
func OwnedDir(t testing.TB, uid, gid uint32) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "opschecks-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	return dir
}
