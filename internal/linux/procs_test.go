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
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
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
		start := time.Now()
		pid, err := linux.ReadPidfile(tc.path)
		if time.Since(start) > time.Second {
			t.Errorf("%s: read for %s", tc.path, time.Since(start))
		}
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
