package target

import (
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/privilege"
)

// TestMountsUnderSudo: through sudo only the host's procfs is taken (the
// privileged reads are below it); a --sysfs tree is read with the
// caller's rights, so it is not refused.
func TestMountsUnderSudo(t *testing.T) {
	caller := &privilege.Caller{Name: "nagios", UID: 102, GID: 105}
	for _, tc := range []struct {
		m       Mounts
		refused string // "" for taken
	}{
		{Mounts{}, ""},
		{Mounts{Procfs: "/proc"}, ""},
		{Mounts{Procfs: "/proc/", Sysfs: "/tmp/x/sys"}, ""},
		{Mounts{ProcfsRoot: "/"}, ""},
		{Mounts{SysfsRoot: "/tmp/x"}, ""},
		{Mounts{Procfs: "/tmp/x"}, "--procfs is refused through sudo: "},
		{Mounts{Procfs: "/host/proc", Sysfs: "/host/sys"}, "--procfs is refused through sudo: "},
		{Mounts{ProcfsRoot: "/tmp/x"}, "--procfs-root is refused through sudo: "},
	} {
		err := tc.m.underSudo(caller)
		if (tc.refused == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tc.refused)) {
			t.Errorf("%+v: %v, want %q", tc.m, err, tc.refused)
		}
		if err := tc.m.underSudo(nil); err != nil {
			t.Errorf("%+v without sudo: %v", tc.m, err)
		}
	}
}
