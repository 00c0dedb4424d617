package packaging_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/testenv"
)

// The policy for a check run through the packages' sudoers rule
// (internal/privilege): what the caller names is refused or used with
// the caller's rights, and what the rule is for still works. These run
// from sudoRule, with the installed snippet active, as the nagios user
// against the installed binaries.

// sudoer runs the installed checks as the nagios user, through sudo -n
// or directly.
type sudoer struct {
	cred *syscall.Credential
	sudo string
}

const pluginDir = "/usr/lib/nagios/plugins/"

// via runs check with args through sudo -n.
func (s sudoer) via(t *testing.T, check string, args ...string) testenv.Run {
	t.Helper()
	return s.run(t, append([]string{s.sudo, "-n", pluginDir + check}, args...))
}

// direct runs check with args as the nagios user, without sudo.
func (s sudoer) direct(t *testing.T, check string, args ...string) testenv.Run {
	t.Helper()
	return s.run(t, append([]string{pluginDir + check}, args...))
}

// run runs argv as the nagios user (runPrivate).
func (s sudoer) run(t *testing.T, argv []string) testenv.Run {
	t.Helper()
	full := asUser(t, s.cred, argv)
	return runPrivate(t, argv, exec.Command(full[0], full[1:]...))
}

// refused asserts one UNKNOWN line that holds every part of want and
// none of the secrets.
func refused(t *testing.T, r testenv.Run, want ...string) {
	t.Helper()
	if r.Code != 3 || strings.Count(r.Stdout, "\n") != 1 {
		t.Errorf("exit %d, want 3 and one line:\n%s", r.Code, r.Stdout)
	}
	for _, w := range want {
		if !strings.Contains(r.FirstLine(), w) {
			t.Errorf("the line lacks %q:\n%s", w, r.Stdout)
		}
	}
	leaked(t, r.Stdout)
}

// secrets are what the tests make root-only: the first line of
// /etc/shadow starts with root's entry, and secretPID is the content of a
// root-only file that looks like a pid file.
const secretPID = "31337"

// leaked fails when out carries a secret.
func leaked(t *testing.T, out string) {
	t.Helper()
	for _, s := range []string{"root:", secretPID} {
		if strings.Contains(out, s) {
			t.Errorf("the output carries %q, read with root's rights:\n%s", s, out)
		}
	}
}

// rootOnly is a directory anyone may enter holding a file and a
// character device (/dev/zero's numbers) only root may open.
func rootOnly(t *testing.T) (file, device string) {
	t.Helper()
	dir := testenv.OwnedDir(t, 0, 0)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file, device = filepath.Join(dir, "secret.pid"), filepath.Join(dir, "zero")
	if err := os.WriteFile(file, []byte(secretPID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(device, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 5))); err != nil {
		t.Fatalf("mknod %s: %v", device, err)
	}
	return file, device
}

// sudoAttacks: every path the caller names, through sudo. Each case is a
// reviewer's repro or one of its kind; each printed root's secrets, sent
// them, or wrote as root before the policy.
func sudoAttacks(t *testing.T, s sudoer) {
	file, device := rootOnly(t)
	mine := nagiosDir(t) // the caller's own directory, for the trees it builds
	link := func(target string, elem ...string) string {
		t.Helper()
		p := filepath.Join(append([]string{mine}, elem...)...)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("procfs tree with a link to /etc/shadow", func(t *testing.T) {
		// mkdir -p /tmp/x/sys/net/netfilter && ln -s /etc/shadow
		// /tmp/x/sys/net/netfilter/nf_conntrack_count printed
		// "root:$6$..." is not an integer.
		link("/etc/shadow", "x", "sys", "net", "netfilter", "nf_conntrack_count")
		refused(t, s.via(t, "check_conntrack", "--procfs", filepath.Join(mine, "x")),
			"CONNTRACK UNKNOWN - --procfs is refused through sudo: ", "run the check without sudo")
		link("/etc/shadow", "y", "proc", "sys", "net", "netfilter", "nf_conntrack_count")
		refused(t, s.via(t, "check_numa", "--procfs-root", filepath.Join(mine, "y")), "NUMA UNKNOWN - --procfs-root is refused through sudo: ")
	})

	t.Run("status password file /etc/shadow", func(t *testing.T) {
		// The password file's first line went, base64-encoded, to a
		// listener the caller runs.
		got := listen(t)
		r := s.via(t, "check_nginx_queue", "--port", strconv.Itoa(got.port), "--status-url", fmt.Sprintf("http://127.0.0.1:%d/", got.port),
			"--status-user", "x", "--status-password-file", "/etc/shadow")
		refused(t, r, "NGINX_QUEUE UNKNOWN - --status-password-file: cannot read /etc/shadow: permission denied, through sudo the check reads it with the rights of nagios")
		if req := got.received(); strings.Contains(strings.ToLower(req), "authorization") {
			t.Errorf("the listener received credentials:\n%s", req)
		}
	})

	t.Run("state directory", func(t *testing.T) {
		// Root created the directory and its files anywhere.
		dir := filepath.Join(t.TempDir(), "state") // below root's 0700 directory
		r := s.via(t, "check_conntrack", "--state-dir", dir)
		if !strings.Contains(r.Stdout, "cannot create state directory "+dir+": permission denied, through sudo the check writes its state with the rights of nagios") {
			t.Errorf("exit %d, want the rates UNKNOWN for want of permission:\n%s", r.Code, r.Stdout)
		}
		if _, err := os.Lstat(dir); err == nil {
			t.Errorf("%s was created", dir)
		}
	})

	t.Run("pid file", func(t *testing.T) {
		for _, p := range []string{"/etc/shadow", file, device} {
			refused(t, s.via(t, "check_keepalive", "--pidfile", p), "cannot read "+p+": permission denied, through sudo")
		}
	})

	t.Run("netns path", func(t *testing.T) {
		// A device node opened as root ("is not a network namespace").
		for _, p := range []string{device, "/etc/shadow"} {
			refused(t, s.via(t, "check_conntrack", "--netns", p), "CONNTRACK UNKNOWN - cannot read "+p+": permission denied, through sudo")
		}
	})

	t.Run("SUDO_UID set by the caller", func(t *testing.T) {
		// Under a site's "Defaults setenv", "sudo SUDO_UID=0 check ..."
		// kept root's rights: the rule's own !setenv refuses it.
		site := "/etc/sudoers.d/zz_opschecks_test_setenv"
		if err := os.WriteFile(site, []byte("Defaults setenv\n"), 0o440); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(site)
		cmd := exec.Command(s.sudo, "-n", "SUDO_UID=0", pluginDir+"check_keepalive", "--pidfile", file)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Dir = "/"
		r := testenv.RunCmd(t, cmd)
		if r.Code != 1 || !strings.Contains(r.Stderr, "not allowed to set the following environment variables: SUDO_UID") {
			t.Errorf("exit %d, want sudo's refusal:\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		leaked(t, r.Stdout)
	})

	t.Run("SUDO_UID and SUDO_GID set under a site's SETENV rule", func(t *testing.T) {
		// A site rule for the check with the SETENV tag comes after ours
		// and lets the caller set sudo's variables past !setenv:
		// SUDO_UID=0 kept root's rights, SUDO_GID=0 root's group. The
		// check holds SUDO_UID against sudo's process (its real UID is
		// the caller's) and SUDO_GID against the caller's groups.
		site := "/etc/sudoers.d/zz_opschecks_test_setenv"
		if err := os.WriteFile(site, []byte("nagios ALL = (root) SETENV: NOPASSWD: "+pluginDir+"check_keepalive\n"), 0o440); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(site)
		group := filepath.Join(filepath.Dir(file), "group.pid") // root's group may read it
		if err := os.WriteFile(group, []byte(secretPID+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		for set, pidfile := range map[string]string{"SUDO_UID=0": file, "SUDO_GID=0": group} {
			cmd := exec.Command(s.sudo, "-n", set, pluginDir+"check_keepalive", "--pidfile", pidfile)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
			cmd.Dir = "/"
			r := testenv.RunCmd(t, cmd)
			if r.Stderr != "" {
				t.Errorf("%s: stderr %s", set, r.Stderr)
			}
			name, _, _ := strings.Cut(set, "=")
			refused(t, r, "KEEPALIVE UNKNOWN - "+name+" 0 is not ", "the caller set it")
		}
	})

	t.Run("sysfs tree with a link to /etc/shadow", func(t *testing.T) {
		link("/etc/shadow", "z", "sys", "devices", "system", "node", "online")
		r := s.via(t, "check_numa", "--sysfs", filepath.Join(mine, "z", "sys"))
		refused(t, r, "cannot read "+filepath.Join(mine, "z", "sys", "devices", "system", "node", "online")+": permission denied, through sudo")
	})
}

// sudoUses: what the rule is for works through sudo (and needs it: the
// same run without sudo is refused for want of the privilege).
func sudoUses(t *testing.T, s sudoer) {
	// A process of root's holding a listening socket (sleep with the
	// test's listener as fd 3).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	holder := startRoot(t, nil, []*os.File{lf})
	lf.Close()

	t.Run("another user's process: sockets", func(t *testing.T) {
		args := []string{"--pid", strconv.Itoa(holder)}
		r := s.via(t, "check_nginx_queue", args...)
		if r.Code == 3 || !strings.Contains(r.Stdout, fmt.Sprintf("queue_127-0-0-1_%d=", port)) {
			t.Errorf("through sudo: exit %d, want the listener on port %d of PID %d:\n%s", r.Code, port, holder, r.Stdout)
		}
		refused(t, s.direct(t, "check_nginx_queue", args...), fmt.Sprintf("cannot read /proc/%d/fd: permission denied", holder))
	})

	t.Run("another user's process: numa_maps", func(t *testing.T) {
		// A two-node sysfs tree (this machine has one node), which the
		// caller reads with its own rights; numa_maps of root's process
		// is the privileged part.
		sys := filepath.Join(nagiosDir(t), "sys")
		if out, err := exec.Command("cp", "-r", filepath.Join(testenv.ModuleRoot(t), "internal", "numa", "testdata", "host2", "sys"), sys).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		_ = exec.Command("chmod", "-R", "a+rX", sys).Run()
		args := []string{"--sysfs", sys, "--pid", strconv.Itoa(holder)}
		r := s.via(t, "check_numa", args...)
		if want := fmt.Sprintf("NUMA WARNING - sleep (PID %d) is not interleaved (memory policy default)", holder); r.Code != 1 || !strings.HasPrefix(r.FirstLine(), want) {
			t.Errorf("through sudo: exit %d, want %q:\n%s", r.Code, want, r.Stdout)
		}
		refused(t, s.direct(t, "check_numa", args...), fmt.Sprintf("cannot read /proc/%d/numa_maps: permission denied", holder))
	})

	n := testenv.NewNetns(t, "sudo")
	inNS := startRoot(t, n, nil)

	t.Run("another network namespace", func(t *testing.T) {
		r := s.via(t, "check_conntrack", "--netns", n.Name)
		if r.Code == 3 || !strings.Contains(r.Stdout, "network namespace "+n.Name+" ("+n.ID()+")") {
			t.Errorf("through sudo: exit %d, want namespace %s (%s):\n%s", r.Code, n.Name, n.ID(), r.Stdout)
		}
		refused(t, s.direct(t, "check_conntrack", "--netns", n.Name), "cannot enter the network namespace: permission denied")

		r = s.via(t, "check_keepalive", "--pid", strconv.Itoa(inNS))
		if r.Code == 3 || !strings.Contains(r.Stdout, fmt.Sprintf("the network namespace of PID %d (%s)", inNS, n.ID())) {
			t.Errorf("through sudo: exit %d, want the namespace of PID %d (%s):\n%s", r.Code, inNS, n.ID(), r.Stdout)
		}
		refused(t, s.direct(t, "check_keepalive", "--pid", strconv.Itoa(inNS)), "permission denied")
	})

	t.Run("the default state directory", func(t *testing.T) {
		// The packages' /var/lib/opschecks (here the test's own in its
		// place) belongs to nagios: the rates work through sudo, and the
		// files stay the caller's.
		first := s.via(t, "check_conntrack", "--netns", n.Name)
		second := s.via(t, "check_conntrack", "--netns", n.Name)
		if !strings.Contains(first.Stdout, "drops: collecting baseline") || strings.Contains(second.Stdout, "collecting baseline") || second.Code == 3 {
			t.Errorf("want a baseline, then rates:\n%s\n%s", first.Stdout, second.Stdout)
		}
		files, _ := filepath.Glob(filepath.Join(privateState(t), "check_conntrack_*"))
		if len(files) != 2 {
			t.Errorf("state files %v, want the file and its lock", files)
		}
		for _, p := range files {
			if st, err := os.Stat(p); err != nil || st.Sys().(*syscall.Stat_t).Uid != s.cred.Uid {
				t.Errorf("%s: %v, want it owned by nagios (uid %d)", p, err, s.cred.Uid)
			}
		}
	})
}

// startRoot starts a sleep of root's (in n, or here for nil) with extra
// files, and returns its PID once it runs.
func startRoot(t *testing.T, n *testenv.Netns, files []*os.File) int {
	t.Helper()
	cmd := exec.Command("sleep", "120")
	if n != nil {
		cmd = n.Command("sleep", "120")
	}
	cmd.ExtraFiles = files
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid)); err == nil && string(b) == "sleep\n" {
			return cmd.Process.Pid
		}
	}
	t.Fatalf("PID %d did not become sleep", cmd.Process.Pid)
	return 0
}

// listener is a loopback HTTP server that answers a stub_status page and
// keeps what it was sent.
type listener struct {
	port int
	mu   sync.Mutex
	got  bytes.Buffer
}

func listen(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l := &listener{port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			l.mu.Lock()
			l.got.Write(buf[:n])
			l.mu.Unlock()
			// nginx's stub_status page (ngx_http_stub_status_module.c).
			_, _ = io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nActive connections: 1 \nserver accepts handled requests\n 1 1 1 \nReading: 0 Writing: 1 Waiting: 0 \n")
			c.Close()
		}
	}()
	return l
}

func (l *listener) received() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.got.String()
}
