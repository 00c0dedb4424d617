package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
)

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// buildPrefix names the build directories in os.TempDir(); the test
// process's PID follows, so that a later process can tell which are
// left over.
const buildPrefix = "opschecks-bin-"

// removeStaleBuildDirs removes the build directories of test processes
// that have ended. A test process cannot remove its own at exit without
// a TestMain in every package that builds checks, so each new one
// collects what the ended ones left (a full suite builds about 60 MB per
// package; left alone they filled 20 GB of /tmp in a day). A directory
// whose PID is running (or was reused) stays until a later run.
func removeStaleBuildDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), buildPrefix+"*"))
	for _, d := range dirs {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), buildPrefix), "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n <= 0 {
			continue // not one of ours, or from before the PID was in the name
		}
		if err := syscall.Kill(n, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// BuildCheck builds cmd/<name> once per test process (as the Makefile
// does: static, version set) and returns the binary's path.
func BuildCheck(t testing.TB, name string) string {
	t.Helper()
	return BuildPackage(t, name, "./cmd/"+name)
}

// BuildPackage builds the main package pkg (a path from the module's
// root) as BuildCheck builds a check, once per test process, into a
// binary called name, and returns its path.
func BuildPackage(t testing.TB, name, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if buildDir == "" {
		removeStaleBuildDirs()
		d, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", buildPrefix, os.Getpid()))
		if err != nil {
			t.Fatal(err)
		}
		// Readable by the unprivileged users some tests run as.
		_ = os.Chmod(d, 0o755)
		buildDir = d
	}
	out := filepath.Join(buildDir, name)
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-X github.com/opschecks/opschecks/internal/plugin.Version=test -X github.com/opschecks/opschecks/internal/plugin.Commit=test",
		"-o", out, pkg)
	cmd.Dir = ModuleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

// BuiltCheck is one cmd/check_* built for the tests, with what its
// --emit-options-json says about it (options, modes, label).
type BuiltCheck struct {
	Name, Path string
	Doc        plugin.CheckDoc
}

var (
	allOnce   sync.Once
	allChecks []BuiltCheck
	allErr    string
)

// AllChecks builds every cmd/check_* (once per test process) and reads
// its options and modes, sorted by name: a new check is picked up
// without an edit.
func AllChecks(t testing.TB) []BuiltCheck {
	t.Helper()
	allOnce.Do(func() {
		dirs, _ := filepath.Glob(filepath.Join(ModuleRoot(t), "cmd", "check_*"))
		sort.Strings(dirs)
		for _, d := range dirs {
			c := BuiltCheck{Name: filepath.Base(d)}
			c.Path = BuildCheck(t, c.Name)
			r := RunCheck(t, c.Path, nil, "--emit-options-json")
			if err := json.Unmarshal([]byte(r.Stdout), &c.Doc); err != nil {
				allErr = fmt.Sprintf("%s --emit-options-json: %v: %q", c.Name, err, r.Stdout)
				return
			}
			allChecks = append(allChecks, c)
		}
	})
	if allErr != "" {
		t.Fatal(allErr)
	}
	return allChecks
}

// Run is the outcome of one run of a check binary.
type Run struct {
	Stdout, Stderr string
	Code           int
	Elapsed        time.Duration
}

// FirstLine is the first line of stdout.
func (r Run) FirstLine() string {
	l, _, _ := strings.Cut(r.Stdout, "\n")
	return strings.TrimRight(l, " ")
}

// RunCheck runs a binary with args and an optional environment, bounded
// by a generous wall clock so a hung check fails the test instead of
// hanging it.
func RunCheck(t testing.TB, bin string, env []string, args ...string) Run {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	return RunCmd(t, cmd)
}

// RunCmd runs a prepared command (another user, another namespace) the
// way RunCheck does.
func RunCmd(t testing.TB, cmd *exec.Cmd) Run {
	t.Helper()
	guard := guardState(cmd)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not answer within 60 s", cmd.Path)
	}
	r := Run{Stdout: so.String(), Stderr: se.String(), Elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s with %d arguments: %v", cmd.Path, len(cmd.Args), err)
	}
	if bad := guard.written(); len(bad) > 0 {
		t.Errorf("%q wrote the host's state directory %s (%s): give the check a --state-dir of the test (t.TempDir()), or run a shipped command line with testenv.PrivateStateDir",
			cmd.Args, hostStateDir, strings.Join(bad, ", "))
	}
	return r
}
