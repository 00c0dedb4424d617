package hardening

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

// FuzzSysctlValues: whatever a sysctl file holds, the reader the checks
// use (linux.FS.SysctlInts under a fixture root) never panics, and what it
// accepts is exactly the file's whitespace-separated integers.
func FuzzSysctlValues(f *testing.F) {
	for _, s := range []string{"4096\n", "4096 87380 6291456\n", "1\t2\t3", "", " \n", "-1", "9223372036854775807",
		"9223372036854775808", "0x10", "1.5", "abc", "1 two 3", "+5", "\x00", "١٢"} {
		f.Add(s)
	}
	root := f.TempDir()
	dir := filepath.Join(root, "proc", "sys", "net", "ipv4")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	fs := linux.Under(root)
	f.Fuzz(func(t *testing.T, s string) {
		if err := os.WriteFile(filepath.Join(dir, "tcp_rmem"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := fs.SysctlInts("net.ipv4.tcp_rmem")
		if err != nil {
			return
		}
		fields := strings.Fields(s)
		if len(got) != len(fields) {
			t.Fatalf("%q: %d values from %d fields", s, len(got), len(fields))
		}
		for i, fl := range fields {
			if want, err := strconv.ParseInt(fl, 10, 64); err != nil || want != got[i] {
				t.Fatalf("%q: value %d is %d, field %q", s, i, got[i], fl)
			}
		}
	})
}
