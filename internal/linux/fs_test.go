package linux_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

// A process file's missing privilege points at the process owner; a file
// the user names points at its permissions. Both wrap ErrPermission.
func TestDescribeHints(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{linux.Describe("/proc/1/fd", fs.ErrPermission), "cannot read /proc/1/fd: permission denied, run as root or as the owner of the process"},
		{linux.DescribeFile("/etc/pw", fs.ErrPermission), "cannot read /etc/pw: permission denied, run as root or as a user that may read it"},
		{linux.DescribeFile("/etc/pw", fs.ErrNotExist), "cannot read /etc/pw: no such file"},
	} {
		if !strings.HasPrefix(tc.err.Error(), tc.want) {
			t.Errorf("%q, want it to start with %q", tc.err, tc.want)
		}
	}
	if err := linux.DescribeFile("/etc/pw", fs.ErrPermission); !errors.Is(err, linux.ErrPermission) {
		t.Errorf("%v does not wrap ErrPermission", err)
	}
}

// TestReadFirstLine: a password file's first line, its line end cut; a
// device or a file without a line end in MaxSecretLine bytes is an error,
// read no further.
func TestReadFirstLine(t *testing.T) {
	dir := t.TempDir()
	write := writer(t, dir)
	for _, tc := range []struct {
		path, line, err string
	}{
		{write("pw", "s3cret\nsecond line\n"), "s3cret", ""},
		{write("crlf", "s3cret\r\n"), "s3cret", ""},
		{write("noeol", "s3cret"), "s3cret", ""},
		{write("empty", ""), "", ""},
		{write("long", strings.Repeat("x", linux.MaxSecretLine)+"\n"), strings.Repeat("x", linux.MaxSecretLine), ""},
		{write("longer", strings.Repeat("x", linux.MaxSecretLine+1)), "", "has no line end in its first 4096 bytes"},
		{"/dev/zero", "", "/dev/zero has no line end in its first 4096 bytes: expected a short first line"},
		{filepath.Join(dir, "none"), "", "no such file"},
	} {
		var line string
		var err error
		within(t, tc.path, func() { line, err = linux.ReadFirstLine(tc.path, linux.MaxSecretLine) })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %q, %v; want an error with %q", tc.path, line, err, tc.err)
			}
			continue
		}
		if err != nil || line != tc.line {
			t.Errorf("%s: %q, %v; want %q", tc.path, line, err, tc.line)
		}
	}
}

// ReadFile returns a file whole at every size around its read sizes (512
// bytes, then 4 KiB, then doubling), as os.ReadFile does, and its errors
// still answer errors.Is as Describe's do.
func TestReadFileSizes(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 511, 512, 513, 4095, 4096, 4607, 4608, 4609, 12800, 100000} {
		want := make([]byte, n)
		for i := range want {
			want[i] = byte('a' + i%26)
		}
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := linux.ReadFile(path)
		if err != nil || string(got) != string(want) {
			t.Errorf("%d bytes: got %d bytes that are not the file's (%v)", n, len(got), err)
		}
	}
	if _, err := linux.ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := linux.ReadFile(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v, want 'is a directory'", err)
	}
	// A /proc file reports size 0 and is read to its end all the same.
	if b, err := linux.ReadFile("/proc/self/status"); err != nil || !strings.Contains(string(b), "\nVmHWM:") {
		t.Errorf("/proc/self/status: %v, %d bytes without its VmHWM line", err, len(b))
	}
}
