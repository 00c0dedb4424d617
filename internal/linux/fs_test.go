package linux_test

import (
	"errors"
	"io/fs"
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
