package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRemoveStaleBuildDirs: the build directory of an ended test process
// goes, that of a running one (this process) stays, and a directory
// without a PID in its name (another tool's, or an old one) is left alone.
func TestRemoveStaleBuildDirs(t *testing.T) {
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name string) string {
		d := filepath.Join(os.TempDir(), name)
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	gone := mk(fmt.Sprintf("%s%d-%d", buildPrefix, ended.Process.Pid, os.Getpid()))
	kept := mk(fmt.Sprintf("%s%d-test%d", buildPrefix, os.Getpid(), os.Getpid()))
	foreign := mk(fmt.Sprintf("%sx%d", buildPrefix, os.Getpid()))
	removeStaleBuildDirs()
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("%s (PID %d has ended) was not removed: %v", gone, ended.Process.Pid, err)
	}
	for _, d := range []string{kept, foreign} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
