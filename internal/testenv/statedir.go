package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/state"
)

// Tests never write the host's state directory (state.DefaultDir, the
// packages' /var/lib/opschecks): a check that keeps rates gets the test's
// own --state-dir, and a shipped command line that must run verbatim (an
// NRPE command, a Nagios example service) runs with PrivateStateDir.
// RunCmd guards every check it runs without --state-dir: a state file of
// that check created or changed in the host's directory during the run
// fails the test. The window is the run itself, so another test's check
// writing there at another moment is not blamed on this one.

// hostStateDir is the directory guarded: state.DefaultDir (a test of the
// guard points it elsewhere).
var hostStateDir = state.DefaultDir

// stateFiles are the files of hostStateDir with their modification times
// (none when it does not exist).
func stateFiles() map[string]time.Time {
	out := map[string]time.Time{}
	ents, _ := os.ReadDir(hostStateDir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			out[e.Name()] = fi.ModTime()
		}
	}
	return out
}

// stateGuard is the host's state directory before a run of checks that
// were given no --state-dir.
type stateGuard struct {
	checks []string
	before map[string]time.Time
}

// guardState starts guarding a command that runs checks (a check_*
// binary anywhere in its arguments: setpriv, ip netns exec and other
// wrappers come first) without --state-dir and not under PrivateStateDir;
// nil when there is nothing to guard.
func guardState(cmd *exec.Cmd) *stateGuard {
	var checks []string
	for _, a := range cmd.Args {
		if a == "--state-dir" || strings.HasPrefix(a, "--state-dir=") || a == privateMount {
			return nil
		}
		if b := filepath.Base(a); strings.HasPrefix(b, "check_") && !strings.ContainsAny(b, " =") {
			checks = append(checks, b)
		}
	}
	if len(checks) == 0 {
		return nil
	}
	return &stateGuard{checks: checks, before: stateFiles()}
}

// written lists the state files of the guarded checks (internal/state
// Key names them "<check>_<parts>-<hash>.json", "<check>-<hash>.json"
// without parts) that are new or changed since the guard started.
func (g *stateGuard) written() []string {
	if g == nil {
		return nil
	}
	var out []string
	for name, mt := range stateFiles() {
		if old, ok := g.before[name]; ok && old.Equal(mt) {
			continue
		}
		for _, c := range g.checks {
			if strings.HasPrefix(name, c+"_") || strings.HasPrefix(name, c+"-") {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// privateMount is the script of PrivateStateDir's wrapper: $1 mounted on
// $2, then the command.
const privateMount = `mount --bind "$1" "$2" && shift 2 && exec "$@"`

// PrivateStateDir returns cmd run so that it and its children see dir as
// state.DefaultDir: in a mount namespace of their own, dir bind-mounted
// there. Shipped command lines keep the packages' default and still never
// touch the host's directory. The command runs as root; give another user
// with setpriv inside cmd (dir must be writable by that user).
// state.DefaultDir is created (0750, as the packages make it) where it
// does not exist yet, as the mount point.
func PrivateStateDir(t testing.TB, cmd *exec.Cmd, dir string) *exec.Cmd {
	t.Helper()
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.Credential != nil {
		t.Fatal("PrivateStateDir: the mount needs root; run the command as another user with setpriv inside it")
	}
	if err := os.MkdirAll(state.DefaultDir, 0o750); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--mount", "--propagation", "private", "--", Binary(t, "sh"), "-c",
		privateMount, "sh", dir, state.DefaultDir, cmd.Path}, cmd.Args[1:]...)
	w := exec.Command(Binary(t, "unshare"), args...)
	w.Env, w.Dir, w.Stdin, w.Stdout, w.Stderr, w.SysProcAttr = cmd.Env, cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.SysProcAttr
	return w
}
