package privilege_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// The capability sets as /proc/PID/status prints them.
const (
	none = "0000000000000000"
	proc = "0000000000080004" // CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE
	kept = "0000000000280004" // and CAP_SYS_ADMIN
)

// fixture is what the probe is pointed at: a process of root's, a file
// only root may read, a network namespace.
type fixture struct {
	pid, secret, netns string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("opschecks-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := testenv.NewNetns(t, "priv")
	return fixture{strconv.Itoa(sleep.Process.Pid), secret, "/run/netns/" + ns.Name}
}

// report runs the probe as root with sudo's variables as env gives them
// (testenv drops the test's own) and decodes its report.
func (f fixture) report(t *testing.T, env ...string) map[string]any {
	t.Helper()
	return f.reportVia(t, nil, env...)
}

// reportVia is report with the probe started by the command wrap (its
// parent, as sudo is a check's).
func (f fixture) reportVia(t *testing.T, wrap []string, env ...string) map[string]any {
	t.Helper()
	// Built as the checks are (CGO_ENABLED=0: the test binary itself may
	// use cgo, which AllThreadsSyscall refuses).
	probe := testenv.BuildPackage(t, "probe", "./internal/privilege/testdata/probe")
	argv := append(wrap, probe, f.pid, f.secret, f.netns)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = "/"
	r := testenv.RunCmd(t, cmd)
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 0 {
		t.Fatalf("probe: exit %d, %v\n%s\n%s", r.Code, err, r.Stdout, r.Stderr)
	}
	return rep
}

// TestDrop: through sudo (root, SUDO_UID of another user) the process
// is the caller on every thread, with three capabilities permitted and
// none effective; Do raises them on its own thread alone, for its
// function alone; a program the check runs gets none.
func TestDrop(t *testing.T) {
	testenv.Require(t, "root", "netns")
	uid, gid := testenv.UnprivilegedUser(t)
	f := newFixture(t)
	rep := f.report(t, fmt.Sprintf("SUDO_UID=%d", uid), fmt.Sprintf("SUDO_GID=%d", gid), "SUDO_USER=opschecks-test")
	str := func(k string) string { s, _ := rep[k].(string); return s }
	caps := func(k string) map[string]string {
		out := map[string]string{}
		m, _ := rep[k].(map[string]any)
		for tid, v := range m {
			out[tid], _ = v.(string)
		}
		return out
	}
	if str("Drop") != "" || rep["UID"] != float64(uid) || rep["GID"] != float64(gid) {
		t.Fatalf("Drop: %q, uid %v gid %v; want the caller's %d:%d", str("Drop"), rep["UID"], rep["GID"], uid, gid)
	}
	if g, _ := json.Marshal(rep["Groups"]); string(g) != fmt.Sprintf("[%d]", gid) {
		t.Errorf("groups %s, want the caller's [%d]", g, gid)
	}
	if c, _ := rep["Caller"].(map[string]any); c["Name"] != "opschecks-test" {
		t.Errorf("Sudo() = %v, want the caller opschecks-test", rep["Caller"])
	}
	threads := caps("Threads")
	if len(threads) < 2 {
		t.Errorf("only %d threads seen: %v", len(threads), threads)
	}
	for tid, c := range threads {
		if c != none+" "+kept {
			t.Errorf("thread %s after Drop: CapEff CapPrm %q, want %s %s", tid, c, none, kept)
		}
	}
	for what, err := range map[string]string{"the root-only file": str("Secret"), "/proc/PID/fd of root's process": str("FD"), "setns": str("Setns")} {
		if !strings.Contains(err, "permission denied") && !strings.Contains(err, "operation not permitted") {
			t.Errorf("%s outside Do: %q, want it refused", what, err)
		}
	}
	if err := str("FDInProc"); err != "" {
		t.Errorf("/proc/PID/fd inside Do(Proc): %s", err)
	}
	if err := str("SetnsInSetns"); err != "" {
		t.Errorf("setns inside Do(Setns): %s", err)
	}
	// CAP_DAC_READ_SEARCH reads any file: the reason Do's function may
	// touch nothing but /proc of the watched processes.
	if err := str("SecretInProc"); err != "" {
		t.Errorf("the root-only file inside Do(Proc): %s (the capability was not raised)", err)
	}
	raised, tid := caps("RaisedThreads"), str("RaisedTID")
	if raised[tid] != proc {
		t.Errorf("the thread inside Do(Proc) (%s) has CapEff %q, want %s", tid, raised[tid], proc)
	}
	for other, c := range raised {
		if other != tid && c != none {
			t.Errorf("thread %s has CapEff %s while another thread is inside Do", other, c)
		}
	}
	for tid, c := range caps("AfterDo") {
		if c != none {
			t.Errorf("thread %s has CapEff %s after Do returned", tid, c)
		}
	}
	if c := str("AfterPanic"); c != none {
		t.Errorf("the thread whose Do function panicked has CapEff %q after the recover, want %s", c, none)
	}
	if rep["NestedRestored"] != true {
		t.Error("Do inside Do did not give back the outer set")
	}
	if want := fmt.Sprintf("%d %d %d %d %s %s", uid, uid, uid, uid, none, none); str("Child") != want {
		t.Errorf("a program the check runs: Uid CapPrm CapEff %q, want %q", str("Child"), want)
	}
}

// TestSpoofedSudo: a SUDO_UID or SUDO_GID the caller set (a site's
// sudoers rule with SETENV for the check lets it past the rule's
// !setenv) is refused, not taken: SUDO_UID is held against the parent,
// which through sudo is sudo's process with the caller's real UID and
// root's effective one, SUDO_GID against the caller's groups; a check
// whose parent is root's PID 1 (the caller killed its sudo, leaving the
// check to init) cannot tell and is refused too. A parent of root's, as
// in the tests that mean sudo's environment, is sudo run by root.
func TestSpoofedSudo(t *testing.T) {
	testenv.Require(t, "root", "netns")
	uid, gid := testenv.UnprivilegedUser(t)
	f := newFixture(t)
	sh := testenv.Binary(t, "sh")
	// "; true": sh waits for the probe instead of executing it in place;
	// -p: it keeps the effective UID that differs from the real one.
	sudoLike := func(ruid uint32) []string {
		return []string{testenv.Binary(t, "setpriv"), fmt.Sprintf("--ruid=%d", ruid), "--euid=0", "--", sh, "-p", "-c", `"$@"; true`, "sh"}
	}
	pid1 := []string{testenv.Binary(t, "unshare"), "--pid", "--fork", "--mount-proc", "--", sh, "-c", `"$@"; true`, "sh"}
	sudoEnv := func(u, g uint32) []string {
		return []string{fmt.Sprintf("SUDO_UID=%d", u), fmt.Sprintf("SUDO_GID=%d", g), "SUDO_USER=opschecks-test"}
	}
	for _, c := range []struct {
		what string
		wrap []string
		env  []string
		drop string // the start of Drop's error; "" none
	}{
		{"the caller's own", sudoLike(uid), sudoEnv(uid, gid), ""},
		{"SUDO_UID=0 under the caller's sudo", sudoLike(uid), sudoEnv(0, 0), fmt.Sprintf("SUDO_UID 0 is not the user who ran sudo (UID %d): the caller set it", uid)},
		{"SUDO_GID=0 under the caller's sudo", sudoLike(uid), sudoEnv(uid, 0), "SUDO_GID 0 is not a group of opschecks-test, who ran the check through sudo: the caller set it"},
		{"SUDO_UID=0 left to PID 1", pid1, sudoEnv(0, 0), "SUDO_UID 0 cannot be held against sudo's process, the check's parent (PID 1: it is PID 1)"},
	} {
		rep := f.reportVia(t, c.wrap, c.env...)
		d, _ := rep["Drop"].(string)
		if c.drop == "" && d != "" || !strings.HasPrefix(d, c.drop) {
			t.Errorf("%s: Drop %q, want %q", c.what, d, c.drop)
		}
		if c.drop == "" && rep["UID"] != float64(uid) {
			t.Errorf("%s: UID %v, want the caller's %d", c.what, rep["UID"], uid)
		}
		if c.drop != "" && rep["Caller"] != nil {
			t.Errorf("%s: caller %v after a refused Drop", c.what, rep["Caller"])
		}
	}
}

// TestNoDrop: root without sudo, or sudo run by root, keeps root; a
// SUDO_UID that is no user ID is refused rather than guessed.
func TestNoDrop(t *testing.T) {
	testenv.Require(t, "root", "netns")
	f := newFixture(t)
	for _, env := range [][]string{nil, {"SUDO_UID=0", "SUDO_GID=0", "SUDO_USER=root"}} {
		rep := f.report(t, env...)
		if rep["UID"] != float64(0) || rep["Drop"] != "" || rep["Caller"] != nil || rep["FD"] != "" {
			t.Errorf("env %v: %v; want root, untouched", env, rep)
		}
	}
	rep := f.report(t, "SUDO_UID=nagios", "SUDO_GID=1")
	if d, _ := rep["Drop"].(string); d != `SUDO_UID "nagios" is no user ID` || rep["Caller"] != nil {
		t.Errorf("SUDO_UID=nagios: Drop %q, caller %v", d, rep["Caller"])
	}
}
