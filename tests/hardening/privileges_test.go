package hardening

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestUnprivileged runs every check as a user without privilege against
// root-owned targets: each either works or names the missing privilege in
// one UNKNOWN line.
func TestUnprivileged(t *testing.T) {
	uid, gid := testenv.UnprivilegedUser(t)
	// A root-owned process the user may not inspect: a sleep of ours.
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.Process.Kill(); _, _ = victim.Process.Wait() })
	pid := strconv.Itoa(victim.Process.Pid)
	stateDir := t.TempDir() // root's 0700 temp dir: not writable for the user
	// Root's 0600 files in a directory the user may enter.
	files := t.TempDir()
	if err := os.Chmod(files, 0o755); err != nil {
		t.Fatal(err)
	}
	pidFile, pwFile := filepath.Join(files, "n.pid"), filepath.Join(files, "pw")
	for f, content := range map[string]string{pidFile: pid + "\n", pwFile: "Secr3t\n"} {
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		bin      string
		args     []string
		mustDeny bool // the case cannot work without the privilege
	}{
		{"check_keepalive", nil, false},
		{"check_keepalive", []string{"--pid", pid}, true},
		{"check_nginx_queue", []string{"--pid", pid, "--state-dir", stateDir}, true},
		{"check_nginx_queue", []string{"--pidfile", pidFile, "--state-dir", stateDir}, true},
		{"check_numa", []string{"--pidfile", pidFile, "--state-dir", stateDir}, true},
		{"check_mongodb", []string{"-u", "x", "--password-file", pwFile, "-H", "127.0.0.1", "-P", closedPort(t)}, true},
		{"check_numa", []string{"--pid", pid, "--state-dir", stateDir}, false},
		{"check_numa", nil, false},
		{"check_tcp_window", []string{"--local"}, false},
		{"check_conntrack", []string{"--state-dir", testenv.OwnedDir(t, uid, gid)}, false}, // its own namespace's table: no privilege
		{"check_mongodb", []string{"-H", "127.0.0.1", "-P", closedPort(t)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.bin+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			b := byName(t, tc.bin)
			cmd := exec.Command(b.path, tc.args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
			cmd.Dir = "/"
			r := testenv.RunCmd(t, cmd)
			st := testenv.AssertContract(t, b.doc.Label, r)
			lower := strings.ToLower(r.Stdout)
			denied := strings.Contains(lower, "permission") || strings.Contains(lower, "privilege") || strings.Contains(lower, "cap_")
			switch {
			case st == "UNKNOWN" && denied:
				if strings.Count(strings.TrimRight(r.Stdout, "\n"), "\n") != 0 {
					t.Errorf("more than one line: %q", r.Stdout)
				}
				if !strings.Contains(lower, "run as") && !strings.Contains(lower, "sudo") && !strings.Contains(lower, "root") {
					t.Errorf("names no way to get the privilege: %q", r.FirstLine())
				}
			case tc.mustDeny:
				t.Errorf("as an unprivileged user this must name the missing privilege: %q", r.FirstLine())
			case st == "UNKNOWN":
				t.Errorf("UNKNOWN without naming a privilege: %q", r.FirstLine())
			}
		})
	}
}
