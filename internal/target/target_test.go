package target_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/target"
	"github.com/opschecks/opschecks/internal/testenv"
)

func TestParsePID(t *testing.T) {
	for in, want := range map[string]target.PID{"1": 1, "1234": 1234, " 42 ": 42, "4194303": 4194303} {
		got, err := target.ParsePID(in)
		if err != nil || got != want {
			t.Errorf("ParsePID(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "abc", "1.5", "0x10", "4194304", "2147483646", "99999999999999999999"} {
		_, err := target.ParsePID(in)
		if want := `invalid --pid "` + in + `": expected a process ID from 1 to 4194303`; err == nil || err.Error() != want {
			t.Errorf("ParsePID(%q) error %v; want %q", in, err, want)
		}
	}
}

// fixture is a /proc tree: PID 100 nginx master with workers 101 and 102,
// PID 200 a second nginx master started by 100's parent, 300 mongod.
func fixture(t *testing.T) (linux.FS, string) {
	t.Helper()
	root := t.TempDir()
	for _, p := range []struct{ pid, stat, cmdline string }{
		{"100", "100 (nginx) S 1 100 100 0", "nginx: master process /usr/sbin/nginx\x00"},
		{"101", "101 (nginx) S 100 100 100 0", "nginx: worker process\x00"},
		{"102", "102 (nginx) S 100 100 100 0", "nginx: worker process\x00"},
		{"200", "200 (nginx) S 1 200 200 0", "nginx: master process\x00"},
		{"300", "300 (mongod) S 1 300 300 0", "/usr/bin/mongod\x00--config\x00"},
	} {
		dir := filepath.Join(root, "proc", p.pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{"stat": p.stat + "\n", "cmdline": p.cmdline} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files := filepath.Join(root, "files")
	if err := os.MkdirAll(filepath.Join(files, "dir.pid"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"nginx.pid": "100\n", "stale.pid": "999\n", "garbage.pid": "garbage\n", "empty.pid": ""} {
		if err := os.WriteFile(filepath.Join(files, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return linux.Under(root), files
}

// TestResolvePolicy: what each selection resolves to, and the one policy
// for a watched service that is not running (CRITICAL, ErrNotRunning)
// against what cannot be told (UNKNOWN).
func TestResolvePolicy(t *testing.T) {
	f, files := fixture(t)
	in := func(name string) string { return filepath.Join(files, name) }
	tests := []struct {
		name  string
		p     target.Process
		want  target.Want
		pids  []int
		what  string
		state plugin.State // of the error; OK: none
		err   string
	}{
		{"none", target.Process{}, target.Want{}, nil, "", plugin.OK, ""},
		{"pid", target.Process{PID: []target.PID{300}}, target.Want{}, []int{300}, "mongod (PID 300)", plugin.OK, ""},
		{"pid with children", target.Process{PID: []target.PID{100}}, target.Want{Children: true}, []int{100, 101, 102}, "nginx (PID 100)", plugin.OK, ""},
		{"pidfile", target.Process{Pidfile: in("nginx.pid")}, target.Want{Children: true}, []int{100, 101, 102}, "nginx (PID 100 from " + in("nginx.pid") + ")", plugin.OK, ""},
		{"process: masters first", target.Process{Name: "nginx"}, target.Want{}, []int{100, 200, 101, 102}, "nginx (PID 100, 200, 101, 102)", plugin.OK, ""},
		{"all three, each once", target.Process{PID: []target.PID{300, 100}, Pidfile: in("nginx.pid"), Name: "nginx"}, target.Want{}, []int{300, 100, 200, 101, 102},
			"mongod (PID 300) and nginx (PID 100) and nginx (PID 100 from " + in("nginx.pid") + ") and nginx (PID 100, 200, 101, 102)", plugin.OK, ""},
		// Not running: CRITICAL.
		{"pid not running", target.Process{PID: []target.PID{999}}, target.Want{}, nil, "", plugin.Critical, "no process with PID 999 is running"},
		{"pidfile missing", target.Process{Pidfile: in("none.pid")}, target.Want{}, nil, "", plugin.Critical,
			"pid file " + in("none.pid") + " does not exist: the service is not running (or this is not its pid file)"},
		{"pidfile stale", target.Process{Pidfile: in("stale.pid")}, target.Want{}, nil, "", plugin.Critical,
			"pid file " + in("stale.pid") + " names PID 999, which is not running: the service is down (or it left a stale pid file)"},
		{"no process of that name", target.Process{Name: "mysqld"}, target.Want{}, nil, "", plugin.Critical, `no process named "mysqld" is running`},
		// Cannot tell: UNKNOWN.
		{"pidfile garbage", target.Process{Pidfile: in("garbage.pid")}, target.Want{}, nil, "", plugin.Unknown,
			"pid file " + in("garbage.pid") + " does not hold a PID (found 7 bytes that are not a number, not shown)"},
		{"pidfile empty", target.Process{Pidfile: in("empty.pid")}, target.Want{}, nil, "", plugin.Unknown, "does not hold a PID (it is empty)"},
		{"pidfile is a directory", target.Process{Pidfile: in("dir.pid")}, target.Want{}, nil, "", plugin.Unknown, "cannot read " + in("dir.pid")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := target.Resolve(f, tt.p, tt.want)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || plugin.StateOf(err) != tt.state {
					t.Fatalf("error %v (%s), want %q (%s)", err, plugin.StateOf(err), tt.err, tt.state)
				}
				if notRunning := errors.Is(err, target.ErrNotRunning); notRunning != (tt.state == target.NotRunning) {
					t.Errorf("errors.Is(err, ErrNotRunning) = %v for a %s error", notRunning, tt.state)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.pids == nil {
				if tg != nil {
					t.Fatalf("no selection resolved to %+v", tg)
				}
				return
			}
			if !slices.Equal(tg.PIDs(), tt.pids) || tg.What != tt.what {
				t.Errorf("PIDs %v %q, want %v %q", tg.PIDs(), tg.What, tt.pids, tt.what)
			}
		})
	}
}

// TestKey: selections that can name different processes get different
// state keys.
func TestKey(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range []target.Process{{}, {PID: []target.PID{1}}, {PID: []target.PID{12}}, {Pidfile: "/run/a.pid"}, {Name: "nginx"}, {Name: "nginx", Pidfile: "/run/a.pid"}} {
		k := strings.Join(p.Key(), "\x00")
		if seen[k] {
			t.Errorf("%+v shares key %q", p, k)
		}
		seen[k] = true
	}
}

// startIn starts a sleep (in the namespace n, or ours for nil) and waits
// until it runs.
func startIn(t *testing.T, n *testenv.Netns) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if n != nil {
		cmd = n.Command("sleep", "60")
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if p, err := linux.Host.ReadProcess(cmd.Process.Pid); err == nil && p.Comm == "sleep" {
			return cmd.Process.Pid
		}
	}
	t.Fatalf("PID %d did not become sleep", cmd.Process.Pid)
	return 0
}

// TestSocketsAndNamespace on real processes: the sockets of a process
// that listens, the namespace of processes in another one, several
// namespaces refused, the service going away while looked at.
func TestSocketsAndNamespace(t *testing.T) {
	testenv.Require(t, "netns")
	n := testenv.NewNetns(t, "target")
	a, b := startIn(t, n), startIn(t, n)
	mine := startIn(t, nil)

	tg := &target.Target{What: "sleep (PID a, b)", Procs: []target.Watched{{Process: linux.Process{PID: a, Comm: "sleep"}, Named: true}, {Process: linux.Process{PID: b, Comm: "sleep"}}}}
	ns, err := tg.Namespace(linux.Host)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(n.MustRun("readlink", "/proc/self/ns/net"))
	if ns.Own() || ns.ID != want || ns.PID != a {
		t.Errorf("namespace %+v, want %s through PID %d", *ns, want, a)
	}
	ns.Close()

	both := &target.Target{What: "sleep (PID a, mine)", Procs: []target.Watched{{Process: linux.Process{PID: a}}, {Process: linux.Process{PID: mine}}}}
	if _, err := both.Namespace(linux.Host); err == nil || !strings.Contains(err.Error(), "live in 2 network namespaces") || plugin.StateOf(err) != plugin.Unknown {
		t.Errorf("two namespaces: %v", err)
	}

	// A process with a listening socket (this test): its inode is found.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	self := &target.Target{What: "the test", Procs: []target.Watched{{Process: linux.Process{PID: os.Getpid()}, Named: true}}}
	inodes, err := self.SocketInodes(linux.Host)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	err = linux.DumpTCP(t.Context(), linux.Query{States: linux.StateMask(linux.TCPListen)}, func(s *linux.Socket) error {
		found = found || (int(s.Src.Port()) == port && inodes[s.Inode])
		return nil
	})
	if err != nil || !found {
		t.Errorf("the listening socket on port %d is not among the inodes %v (%v)", port, inodes, err)
	}

	// Gone while looked at: a named process is the service down; of
	// processes found by name, only all of them gone is.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := gone.ProcessState.Pid()
	for _, tc := range []struct {
		procs []target.Watched
		err   string
	}{
		{[]target.Watched{{Process: linux.Process{PID: dead, Comm: "true"}, Named: true}}, fmt.Sprintf("true (PID %d) exited while being checked", dead)},
		{[]target.Watched{{Process: linux.Process{PID: dead}}}, "x exited while being checked"},
		{[]target.Watched{{Process: linux.Process{PID: dead}}, {Process: linux.Process{PID: mine}}}, ""},
	} {
		tg := &target.Target{What: "x", Procs: tc.procs}
		_, err1 := tg.SocketInodes(linux.Host)
		ns, err2 := tg.Namespace(linux.Host)
		for _, err := range []error{err1, err2} {
			if (tc.err == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.err) || !errors.Is(err, target.ErrNotRunning))) {
				t.Errorf("%+v: %v, want %q", tc.procs, err, tc.err)
			}
		}
		if ns != nil {
			ns.Close()
		}
	}
}

// TestNetnsOption: --netns takes a name as ip netns lists it or an
// absolute path; Namespace opens it, or refuses one that does not exist.
func TestNetnsOption(t *testing.T) {
	var v target.NetnsName
	for _, bad := range []string{"", ".", "..", "a/b", "../x", "x\ny"} {
		if err := v.UnmarshalFlag(bad); err == nil || !strings.Contains(err.Error(), "invalid --netns") {
			t.Errorf("--netns %q: %v", bad, err)
		}
	}
	for in, path := range map[string]string{"router": "/run/netns/router", "/var/run/docker/netns/abc": "/var/run/docker/netns/abc"} {
		if err := v.UnmarshalFlag(in); err != nil || v.Path() != path {
			t.Errorf("--netns %q: %q, %v", in, v.Path(), err)
		}
	}
	if err := (target.Netns{Netns: "x"}).Validate(target.Process{Name: "nginx"}); err == nil {
		t.Error("--netns with --process accepted")
	}

	testenv.Require(t, "netns")
	n := testenv.NewNetns(t, "nsopt")
	ns, err := target.Namespace(linux.Host, nil, target.Netns{Netns: target.NetnsName(n.Name)})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if want := strings.TrimSpace(n.MustRun("readlink", "/proc/self/ns/net")); ns.ID != want || ns.Own() {
		t.Errorf("--netns %s opened %+v, want %s", n.Name, *ns, want)
	}
	if _, err := target.Namespace(linux.Host, nil, target.Netns{Netns: "opschecks-no-such-ns"}); err == nil ||
		err.Error() != `no network namespace "opschecks-no-such-ns": /run/netns/opschecks-no-such-ns does not exist (ip netns list shows the names)` {
		t.Errorf("missing namespace: %v", err)
	}
	own, err := target.Namespace(linux.Host, nil, target.Netns{})
	if err != nil || !own.Own() {
		t.Errorf("no selection: %+v, %v", own, err)
	}
}

// TestMounts: --procfs/--sysfs are mount points; the old --*-root
// options name their parent and still work; both at once are refused.
func TestMounts(t *testing.T) {
	for _, tc := range []struct {
		m          target.Mounts
		proc, sys  string
		invalidErr string
	}{
		// Empty is not given (the runtime refuses an empty value given):
		// the defaults /proc and /sys.
		{target.Mounts{}, "/proc", "/sys", ""},
		{target.Mounts{Procfs: "/proc", Sysfs: "/sys"}, "/proc", "/sys", ""},
		{target.Mounts{Procfs: "/host/proc", Sysfs: "/host/sys/"}, "/host/proc", "/host/sys", ""},
		{target.Mounts{ProcfsRoot: "/host", SysfsRoot: "/fixture"}, "/host/proc", "/fixture/sys", ""},
		{target.Mounts{Procfs: "/proc", ProcfsRoot: "/host"}, "", "", "--procfs-root is the old spelling of --procfs"},
		{target.Mounts{Sysfs: "/sys", SysfsRoot: "/host"}, "", "", "--sysfs-root is the old spelling of --sysfs"},
		{target.Mounts{Sysfs: "/x/sys", SysfsRoot: "/x"}, "", "", "--sysfs-root is the old spelling of --sysfs"},
		{target.Mounts{Procfs: "/x/proc", ProcfsRoot: "/x"}, "", "", "--procfs-root is the old spelling of --procfs"},
	} {
		err := tc.m.Validate()
		if tc.invalidErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.invalidErr) {
				t.Errorf("%+v: %v, want %q", tc.m, err, tc.invalidErr)
			}
			continue
		}
		if f := tc.m.FS(); err != nil || f.Proc != tc.proc || f.Sys != tc.sys {
			t.Errorf("%+v: %+v, %v; want %s %s", tc.m, f, err, tc.proc, tc.sys)
		}
	}
}
