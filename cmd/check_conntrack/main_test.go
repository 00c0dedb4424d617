package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/testenv"
)

const label = "CONNTRACK"

// inNetns runs the check from the host with --netns NAME, so that it
// enters the namespace itself, with its own state dir.
func inNetns(t *testing.T, ns *testenv.Netns, bin, stateDir string, args ...string) testenv.Run {
	t.Helper()
	r := testenv.RunCheck(t, bin, nil, append([]string{"--netns", ns.Name, "--state-dir", stateDir}, args...)...)
	testenv.AssertContract(t, label, r)
	return r
}

// TestTrackedConnections counts real tracked connections in a namespace
// and compares the count with conntrack-tools' `conntrack -C` there.
func TestTrackedConnections(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "ctcount")
	bin := testenv.BuildCheck(t, "check_conntrack")
	dir := t.TempDir()

	r := inNetns(t, ns, bin, dir)
	if r.Code != 0 || testenv.PerfValue(t, r, "entries") != 0 || !strings.Contains(r.Stdout, "[OK] drops: collecting baseline") {
		t.Fatalf("empty namespace: %s", r.Stdout)
	}
	ns.TrackTCP(40)
	r = inNetns(t, ns, bin, dir)
	want := ns.ConntrackCount()
	if want != 40 || testenv.PerfValue(t, r, "entries") != float64(want) {
		t.Fatalf("entries %v, conntrack -C %d, 40 connections opened: %s", testenv.PerfValue(t, r, "entries"), want, r.Stdout)
	}
	host := strings.TrimSpace(readFile(t, "/proc/sys/net/netfilter/nf_conntrack_max"))
	if !strings.HasPrefix(r.FirstLine(), "CONNTRACK OK - conntrack table 0.0") || !strings.Contains(r.FirstLine(), "(40 of "+host+" entries) in network namespace "+ns.Name+" (net:[") ||
		!strings.Contains(r.Stdout, "[OK] no drops, early drops or insert failures since the last run") {
		t.Fatalf("%s", r.Stdout)
	}
}

// TestOwnNamespace runs the check inside the namespace (ip netns exec),
// where it reads its own: the same numbers as from outside.
func TestOwnNamespace(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "ctown")
	bin := testenv.BuildCheck(t, "check_conntrack")
	ns.TrackTCP(7)
	r := testenv.RunCmd(t, ns.Command(bin, "--state-dir", t.TempDir()))
	testenv.AssertContract(t, label, r)
	if r.Code != 0 || testenv.PerfValue(t, r, "entries") != 7 || !strings.Contains(r.FirstLine(), "(7 of ") || !strings.Contains(r.FirstLine(), "in the check's own network namespace (net:[") {
		t.Fatalf("%s", r.Stdout)
	}
}

// TestProcessNamespace watches a process that lives in the namespace, as
// a container's: --pid and --pidfile look into its network namespace.
func TestProcessNamespace(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "ctpid")
	bin := testenv.BuildCheck(t, "check_conntrack")
	ns.TrackTCP(3)
	sleeper := ns.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	// ip netns exec execs sleep in place: the PID is sleep's.
	pid := strconv.Itoa(sleeper.Process.Pid)
	pidfile := filepath.Join(t.TempDir(), "sleep.pid")
	if err := os.WriteFile(pidfile, []byte(pid+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--pid", pid}, {"--pidfile", pidfile}} {
		r := testenv.RunCheck(t, bin, nil, append(args, "--state-dir", t.TempDir())...)
		testenv.AssertContract(t, label, r)
		if r.Code != 0 || testenv.PerfValue(t, r, "entries") != 3 || !strings.Contains(r.FirstLine(), "in the network namespace of PID "+pid+" (net:[") {
			t.Fatalf("%v: %s", args, r.Stdout)
		}
	}
	// The fix hints run their commands in that namespace.
	ns.Sysctl("net.netfilter.nf_conntrack_tcp_timeout_established", "60")
	r := testenv.RunCheck(t, bin, nil, "--pid", pid, "--state-dir", t.TempDir())
	if r.Code != 1 || !strings.Contains(r.Stdout, "fix for this namespace: nsenter --net=/proc/"+pid+"/ns/net sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=432000") {
		t.Fatalf("%s", r.Stdout)
	}
}

// TestNotInUse: a kernel without nf_conntrack (a procfs without
// net/netfilter, as /proc looks before the module is loaded) is OK.
func TestNotInUse(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_conntrack")
	proc := filepath.Join(t.TempDir(), "proc")
	for name, v := range map[string]string{"tcp_keepalive_time": "7200", "tcp_keepalive_intvl": "75", "tcp_keepalive_probes": "9"} {
		p := filepath.Join(proc, "sys", "net", "ipv4", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := testenv.RunCheck(t, bin, nil, "--procfs", proc, "--state-dir", t.TempDir())
	testenv.AssertContract(t, label, r)
	if r.Code != 0 || r.FirstLine() != "CONNTRACK OK - connection tracking not in use" || !strings.Contains(r.Stdout, "the nf_conntrack module is not loaded") {
		t.Fatalf("%q", r.Stdout)
	}
}

// TestFullTable fills a namespace's table for real: the global
// nf_conntrack_max is lowered to the namespace's count for a few
// milliseconds (restored by a cleanup that always runs), new flows are
// dropped by the kernel, and the check, run while the table is full,
// says CRITICAL for the fill and WARNING for the drops it counted, as
// many as conntrack -S counts.
func TestFullTable(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "ctfull")
	bin := testenv.BuildCheck(t, "check_conntrack")
	dir := t.TempDir()
	ns.TrackTCP(20)
	inNetns(t, ns, bin, dir) // baseline
	count := ns.ConntrackCount()

	restore := ns.LowerConntrackMax(count)
	const attempts = 5
	var dialErrs []error
	err := ns.Do(func() error {
		for range attempts {
			dialErrs = append(dialErrs, synOnly(ns))
		}
		return nil
	})
	r := inNetns(t, ns, bin, dir)
	restore()
	if err != nil {
		t.Fatal(err)
	}

	first := r.FirstLine()
	if r.Code != 2 || !strings.HasPrefix(first, "CONNTRACK CRITICAL - conntrack table 100% full (") || testenv.PerfValue(t, r, "used") != 100 {
		t.Fatalf("full table (dial errors %v): %s", dialErrs, r.Stdout)
	}
	stats := ns.ConntrackStats()
	var drops uint64
	for _, c := range stats {
		drops += c["drop"] + c["early_drop"]
	}
	if drops < attempts {
		t.Fatalf("conntrack -S counts %d drops after %d SYNs into a full table: %v", drops, attempts, stats)
	}
	// The totals the check prints are conntrack-tools' numbers.
	m := regexp.MustCompile(`over (\d+) CPUs: drop (\d+), early_drop (\d+), insert_failed (\d+), search_restart (\d+), invalid (\d+), error (\d+)`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("no totals line: %s", r.Stdout)
	}
	for i, name := range []string{"drop", "early_drop", "insert_failed", "search_restart", "invalid", "error"} {
		var sum uint64
		for _, c := range stats {
			sum += c[name]
		}
		if got, _ := strconv.ParseUint(m[i+2], 10, 64); got != sum {
			t.Errorf("the check prints %s %d, conntrack -S sums %d", name, got, sum)
		}
	}
	if m[1] != strconv.Itoa(len(stats)) {
		t.Errorf("the check counts %s CPUs, conntrack -S %d", m[1], len(stats))
	}
	if !strings.Contains(first, "drop ") || !strings.Contains(r.Stdout, "[WARNING] drop ") ||
		!strings.Contains(r.Stdout, "the table was full") {
		t.Fatalf("no drop warning: %s", r.Stdout)
	}
	secs := testenv.PerfValue(t, r, "drop_rate") + testenv.PerfValue(t, r, "early_drop_rate")
	if secs <= 0 || math.IsNaN(secs) {
		t.Fatalf("drop rates %v: %s", secs, r.Stdout)
	}
	if !strings.Contains(r.Stdout, "sysctl -w net.netfilter.nf_conntrack_max=") {
		t.Fatalf("no fix: %s", r.Stdout)
	}
}

// synOnly starts a connection to a closed loopback port without waiting:
// the SYN meets conntrack synchronously in connect().
func synOnly(ns *testenv.Netns) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}})
	if err == unix.EINPROGRESS {
		return nil
	}
	return err
}

// TestTimeoutInNamespace shortens the established-flow timeout inside a
// namespace (it is per namespace) below the keepalive time.
func TestTimeoutInNamespace(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "cttimeout")
	bin := testenv.BuildCheck(t, "check_conntrack")
	hostBefore := readFile(t, "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established")
	ns.Sysctl("net.netfilter.nf_conntrack_tcp_timeout_established", "600")
	r := inNetns(t, ns, bin, t.TempDir())
	if r.Code != 1 || !strings.Contains(r.FirstLine(), "idle established flows are forgotten after 600s (nf_conntrack_tcp_timeout_established) <= keepalive probe gap 7200s (tcp_keepalive_time)") ||
		testenv.PerfValue(t, r, "tcp_timeout_established") != 600 {
		t.Fatalf("%s", r.Stdout)
	}
	ns.Sysctl("net.ipv4.tcp_keepalive_time", "300")
	r = inNetns(t, ns, bin, t.TempDir())
	if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] idle established flows tracked for 600s > keepalive probe gap 300s") {
		t.Fatalf("%s", r.Stdout)
	}
	if after := readFile(t, "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established"); after != hostBefore {
		t.Fatalf("the host's timeout changed: %q -> %q", hostBefore, after)
	}
}

// TestBadInput: every invalid value is refused with exit 3 and one line.
func TestBadInput(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_conntrack")
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-w", "abc"}, "CONNTRACK UNKNOWN - invalid argument for flag -w, --warning"},
		{[]string{"-c", "10:5"}, "CONNTRACK UNKNOWN - invalid argument for flag -c, --critical"},
		{[]string{"--drop-warning", "x"}, "CONNTRACK UNKNOWN - invalid argument for flag --drop-warning"},
		{[]string{"--drop-critical", ""}, "CONNTRACK UNKNOWN - invalid argument for flag --drop-critical"},
		{[]string{"--bogus"}, "CONNTRACK UNKNOWN - unknown flag `bogus'"},
		{[]string{"extra"}, `CONNTRACK UNKNOWN - unexpected argument "extra"`},
		{[]string{"--state-dir", ""}, `CONNTRACK UNKNOWN - invalid --state-dir "": expected a directory`},
		{[]string{"--netns", "a/b"}, `CONNTRACK UNKNOWN - invalid --netns "a/b": expected a network namespace name as ip netns lists it`},
		{[]string{"--netns", "x", "--pid", "1"}, "CONNTRACK UNKNOWN - --netns and --pid/--pidfile/--process both say which network namespace to look into: give one of them"},
		{[]string{"--pid", "0"}, `CONNTRACK UNKNOWN - invalid --pid "0": expected a process ID`},
		{[]string{"--procfs", ""}, `CONNTRACK UNKNOWN - invalid --procfs "": expected DIR, not an empty value`},
		{[]string{"--procfs", "/proc", "--procfs-root", "/"}, "CONNTRACK UNKNOWN - --procfs-root is the old spelling of --procfs (DIR/proc): give one of them"},
		{[]string{"--sysfs", "/sys", "--sysfs-root", "/"}, "CONNTRACK UNKNOWN - --sysfs-root is the old spelling of --sysfs (DIR/sys): give one of them"},
		{[]string{"--procfs", "/nonexistent"}, "CONNTRACK UNKNOWN - /nonexistent is not a procfs tree (no sys/net): expected --procfs to name where procfs is mounted"},
		{[]string{"--pidfile", ""}, `CONNTRACK UNKNOWN - invalid --pidfile "": expected FILE, not an empty value`},
		{[]string{"--process", ""}, `CONNTRACK UNKNOWN - invalid --process "": expected NAME, not an empty value`},
		{[]string{"--netns", "oc-no-such-namespace"}, `CONNTRACK UNKNOWN - no network namespace "oc-no-such-namespace": /run/netns/oc-no-such-namespace does not exist (ip netns list shows the names)`},
		{[]string{"-t", "0"}, `CONNTRACK UNKNOWN - invalid argument for flag -t, --timeout: invalid duration "0": must be greater than zero`},
	} {
		r := testenv.RunCheck(t, bin, nil, tc.args...)
		testenv.AssertContract(t, label, r)
		if r.Code != 3 || strings.Count(r.Stdout, "\n") != 1 || !strings.HasPrefix(r.FirstLine(), strings.ReplaceAll(strings.ReplaceAll(tc.want, "`", ""), "'", "")) {
			t.Errorf("%v: exit %d %q, want 3 and %q", tc.args, r.Code, r.Stdout, tc.want)
		}
	}
	// A state dir that is a file: one line that names it (when the
	// kernel tracks connections at all, the only time state is kept).
	if _, err := os.Stat("/proc/sys/net/netfilter/nf_conntrack_count"); err == nil {
		r := testenv.RunCheck(t, bin, nil, "--state-dir", notDir)
		testenv.AssertContract(t, label, r)
		if r.Code != 3 || !strings.Contains(r.FirstLine(), "drops: cannot create state directory "+notDir) {
			t.Errorf("state dir is a file: %q", r.Stdout)
		}
	}
}

// TestTimeoutHonoured: a run that waits for the state file another run
// holds answers within -t: the rates are UNKNOWN naming the lock (the
// suite's rule for an unusable state file), the table is still judged.
func TestTimeoutHonoured(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "ctlock")
	bin := testenv.BuildCheck(t, "check_conntrack")
	dir := t.TempDir()
	inNetns(t, ns, bin, dir)
	locks, _ := filepath.Glob(filepath.Join(dir, "*.lock"))
	if len(locks) != 1 {
		t.Fatalf("state locks %v", locks)
	}
	f, err := os.OpenFile(locks[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := inNetns(t, ns, bin, dir, "-t", "1.5")
	if el := time.Since(start); r.Code != 3 || !strings.HasPrefix(r.FirstLine(), "CONNTRACK UNKNOWN - drops: cannot lock state file ") ||
		!strings.Contains(r.FirstLine(), "another run of this check holds it") || !strings.Contains(r.FirstLine(), " - conntrack table 0% full") || el > 1500*time.Millisecond {
		t.Fatalf("after %s: %q", el, r.Stdout)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnprivileged: as a user without privilege the check reads its own
// namespace's table, and names the privilege it lacks to enter another.
func TestUnprivileged(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "ctpriv")
	bin := testenv.BuildCheck(t, "check_conntrack")
	uid, gid := testenv.UnprivilegedUser(t)
	sleeper := ns.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	state := testenv.OwnedDir(t, uid, gid)
	as := func(args ...string) testenv.Run {
		cmd := exec.Command(bin, append(args, "--state-dir", state)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
		cmd.Dir = "/"
		r := testenv.RunCmd(t, cmd)
		testenv.AssertContract(t, label, r)
		return r
	}
	if r := as(); r.Code != 0 || !strings.Contains(r.FirstLine(), "in the check's own network namespace") {
		t.Errorf("own namespace: %q", r.Stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--netns", ns.Name}, "CONNTRACK UNKNOWN - cannot enter the network namespace: permission denied (needs CAP_SYS_ADMIN: run as root or via the sudoers rule in packaging/)"},
		{[]string{"--pid", strconv.Itoa(sleeper.Process.Pid)}, "CONNTRACK UNKNOWN - cannot read /proc/" + strconv.Itoa(sleeper.Process.Pid) + "/ns/net: permission denied"},
	} {
		if r := as(tc.args...); r.Code != 3 || !strings.HasPrefix(r.FirstLine(), tc.want) || strings.Count(r.Stdout, "\n") != 1 {
			t.Errorf("%v: %q, want one line starting %q", tc.args, r.Stdout, tc.want)
		}
	}
}

// TestNegativeCount: a count below zero read from a procfs tree (a
// fixture, a broken container runtime's /proc) is no number of entries:
// UNKNOWN naming the value, not a fill of -0.0019% that -c judged.
func TestNegativeCount(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_conntrack")
	root := t.TempDir()
	for name, v := range map[string]string{
		"netfilter/nf_conntrack_count": "-5", "netfilter/nf_conntrack_max": "262144", "netfilter/nf_conntrack_buckets": "65536",
		"netfilter/nf_conntrack_tcp_timeout_established": "432000",
		"ipv4/tcp_keepalive_time":                        "7200", "ipv4/tcp_keepalive_intvl": "75", "ipv4/tcp_keepalive_probes": "9",
	} {
		p := filepath.Join(root, "sys", "net", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stat, err := os.ReadFile(filepath.Join("..", "..", "internal", "linux", "testdata", "nf_conntrack", "5.4-busy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "net", "stat"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "net", "stat", "nf_conntrack"), stat, 0o644); err != nil {
		t.Fatal(err)
	}
	r := testenv.RunCheck(t, bin, nil, "--procfs", root, "--state-dir", t.TempDir())
	testenv.AssertContract(t, label, r)
	if r.Code != 3 || !strings.HasPrefix(r.FirstLine(), "CONNTRACK UNKNOWN - nf_conntrack_count is -5 in the check's own network namespace: not a number of entries") ||
		strings.Contains(r.Stdout, "entries=-5") {
		t.Fatalf("negative count: exit %d\n%s", r.Code, r.Stdout)
	}
}
