package hardening

import (
	"fmt"
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

// TestHidepid: with /proc mounted hidepid=invisible, another user's
// process is left out of /proc as if it did not exist; a check run
// without privilege that watches one by PID names the missing privilege
// (UNKNOWN) instead of calling the service down (it said CRITICAL "no
// process with PID N is running"). Run in a mount namespace of its own
// with a procfs of its own, as the unprivileged user.
func TestHidepid(t *testing.T) {
	uid, gid := testenv.UnprivilegedUser(t)
	testenv.Require(t, "root")
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.Process.Kill(); _, _ = victim.Process.Wait() })
	pid := strconv.Itoa(victim.Process.Pid)
	pidFile := filepath.Join(testenv.OwnedDir(t, uid, gid), "n.pid")
	if err := os.WriteFile(pidFile, []byte(pid+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unshare, setpriv := testenv.Binary(t, "unshare"), testenv.Binary(t, "setpriv")
	for _, tc := range []struct {
		bin  string
		args []string
	}{
		{"check_numa", []string{"--pid", pid, "--state-dir", testenv.OwnedDir(t, uid, gid)}},
		{"check_keepalive", []string{"--pid", pid}},
		{"check_nginx_queue", []string{"--pidfile", pidFile, "--state-dir", testenv.OwnedDir(t, uid, gid)}},
	} {
		t.Run(tc.bin+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			b := byName(t, tc.bin)
			cmd := exec.Command(unshare, append([]string{"--mount", "--propagation", "private", "--", "sh", "-c",
				`mount -t proc -o hidepid=invisible proc /proc && exec "$@"`, "sh",
				setpriv, fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", gid), "--clear-groups", "--", b.path}, tc.args...)...)
			cmd.Dir = "/"
			r := testenv.RunCmd(t, cmd)
			testenv.AssertContract(t, b.doc.Label, r)
			want := b.doc.Label + " UNKNOWN - cannot read /proc/" + pid + ": permission denied: PID " + pid + " runs, but /proc hides other users' processes (mounted with hidepid), run as root or via the sudoers rule"
			if r.Code != 3 || !strings.HasPrefix(r.FirstLine(), want) {
				t.Errorf("exit %d %q, want 3 and %q", r.Code, r.FirstLine(), want)
			}
		})
	}
}

// TestThroughSudo: every binary run as root with the environment sudo
// gives a command it runs for another user (internal/privilege) opens
// every file and directory it is given with that user's rights, or
// refuses the option: root's secrets never reach the output, and nothing
// is created where only root may write. Every option that names a file
// or directory (value FILE or DIR) of any binary must have a case here.
func TestThroughSudo(t *testing.T) {
	uid, gid := testenv.UnprivilegedUser(t)
	const secret = "Secr3t-31337"
	// Root's files in a directory the user may enter, so that the refusal
	// comes from the file's own mode (t.TempDir's parent is root's 0700).
	files := testenv.OwnedDir(t, 0, 0)
	if err := os.Chmod(files, 0o755); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(files, "secret")
	if err := os.WriteFile(rootFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Trees of the user's whose files are links to root's secret.
	tree := testenv.OwnedDir(t, uid, gid)
	for _, p := range []string{"sys/devices/system/node/online", "proc/sys/net/netfilter/nf_conntrack_count"} {
		if err := os.MkdirAll(filepath.Join(tree, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(rootFile, filepath.Join(tree, p)); err != nil {
			t.Fatal(err)
		}
	}
	rootDir := filepath.Join(t.TempDir(), "state") // below root's 0700 directory
	port := closedPort(t)
	denied := "permission denied, through sudo the check reads it with the rights of opschecks-test"
	cases := []struct {
		bin    string
		option string // the option the case is about
		args   []string
		want   string
	}{
		{"check_conntrack", "pidfile", []string{"--pidfile", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_keepalive", "pidfile", []string{"--pidfile", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_nginx_queue", "pidfile", []string{"--pidfile", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_numa", "pidfile", []string{"--pidfile", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_nginx_queue", "status-password-file", []string{"--port", port, "--status-url", "http://127.0.0.1:" + port + "/", "--status-user", "x", "--status-password-file", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_mongodb", "password-file", []string{"-H", "127.0.0.1", "-P", port, "-u", "x", "--password-file", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_mongodb", "tls-ca-file", []string{"-H", "127.0.0.1", "-P", port, "--tls-ca-file", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_mongodb", "tls-cert-key-file", []string{"-H", "127.0.0.1", "-P", port, "--tls-cert-key-file", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_conntrack", "netns", []string{"--netns", rootFile}, "cannot read " + rootFile + ": " + denied},
		{"check_conntrack", "state-dir", []string{"--state-dir", rootDir}, "cannot create state directory " + rootDir + ": permission denied, through sudo the check writes its state with the rights of opschecks-test"},
		{"check_conntrack", "procfs", []string{"--procfs", filepath.Join(tree, "proc")}, "--procfs is refused through sudo: "},
		{"check_conntrack", "procfs-root", []string{"--procfs-root", tree}, "--procfs-root is refused through sudo: "},
		{"check_numa", "sysfs", []string{"--sysfs", filepath.Join(tree, "sys")}, "cannot read " + filepath.Join(tree, "sys/devices/system/node/online") + ": " + denied},
		{"check_numa", "sysfs-root", []string{"--sysfs-root", tree}, "cannot read " + filepath.Join(tree, "sys/devices/system/node/online") + ": " + denied},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.option] = true
		t.Run(tc.bin+" --"+tc.option, func(t *testing.T) {
			b := byName(t, tc.bin)
			cmd := exec.Command(b.path, tc.args...)
			cmd.Env = append(os.Environ(), "SUDO_UID="+strconv.Itoa(int(uid)), "SUDO_GID="+strconv.Itoa(int(gid)), "SUDO_USER=opschecks-test")
			cmd.Dir = "/"
			r := testenv.RunCmd(t, cmd)
			testenv.AssertContract(t, b.doc.Label, r)
			if r.Code != 3 || !strings.Contains(r.FirstLine(), tc.want) {
				t.Errorf("exit %d, want 3 and %q:\n%s", r.Code, tc.want, r.Stdout)
			}
			if tc.option != "state-dir" && strings.Count(r.Stdout, "\n") != 1 {
				t.Errorf("want one line:\n%s", r.Stdout)
			}
			if strings.Contains(r.Stdout, "31337") {
				t.Errorf("root's secret in the output:\n%s", r.Stdout)
			}
		})
	}
	if _, err := os.Lstat(rootDir); err == nil {
		t.Errorf("%s was created", rootDir)
	}
	for _, b := range allBinaries(t) {
		for long, o := range b.opts {
			if (o.ValueName == "FILE" || o.ValueName == "DIR") && !covered[long] {
				t.Errorf("%s --%s names a file or directory: add it to TestThroughSudo", b.name, long)
			}
		}
	}
}
