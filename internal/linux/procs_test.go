package linux_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
)

// TestReadPidfile: a PID and its newline are read; anything else is
// ErrBadPidfile without quoting what is not a number (a check run as root
// through the sudoers rule must not print the first line of a file such
// as /etc/shadow named as a pid file), and a device is not read whole.
func TestReadPidfile(t *testing.T) {
	dir := t.TempDir()
	write := writer(t, dir)
	for _, tc := range []struct {
		path string
		pid  int
		err  string
	}{
		{write("nginx.pid", "1234\n"), 1234, ""},
		{write("spaces.pid", "  42  \n\n"), 42, ""},
		{write("shadow", "root:$y$j9T$secret:19000:0:99999:7:::\n"), 0, "does not hold a PID (found 37 bytes that are not a number, not shown)"},
		{write("empty.pid", ""), 0, "does not hold a PID (it is empty)"},
		{write("zero.pid", "0\n"), 0, `does not hold a PID (found "0")`},
		{write("negative.pid", "-5\n"), 0, `does not hold a PID (found "-5")`},
		{write("two.pid", "12\n34\n"), 0, "does not hold a PID (found 5 bytes that are not a number, not shown)"},
		{write("log.pid", strings.Repeat("1", 100)), 0, "does not hold a PID (it is longer than 64 bytes)"},
		{"/dev/zero", 0, "does not hold a PID (it is longer than 64 bytes)"},
	} {
		var pid int
		var err error
		within(t, tc.path, func() { pid, err = linux.ReadPidfile(tc.path) })
		if tc.err == "" {
			if err != nil || pid != tc.pid {
				t.Errorf("%s: %d, %v; want %d", tc.path, pid, err, tc.pid)
			}
			continue
		}
		if err == nil || !errors.Is(err, linux.ErrBadPidfile) || err.Error() != "pid file "+tc.path+" "+tc.err || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v, want ErrBadPidfile %q", tc.path, err, tc.err)
		}
	}
	if _, err := linux.ReadPidfile(filepath.Join(dir, "none.pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing pid file: %v, want fs.ErrNotExist", err)
	}
}

// writer returns a function that writes a file of content in dir
// (mode 0600) and returns its path.
func writer(t *testing.T, dir string) func(name, content string) string {
	return func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// within runs read and fails the test when it takes more than a second:
// a reader that reads a device whole never returns (and fills the
// memory meanwhile, so the test stops waiting early).
func within(t *testing.T, what string, read func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { read(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatalf("%s: still reading after a second", what)
	}
}
