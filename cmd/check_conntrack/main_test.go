package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/testenv"
)

const label = "CONNTRACK"

// inNetns runs the check inside the namespace, with its own state dir.
func inNetns(t *testing.T, ns *testenv.Netns, bin, stateDir string, args ...string) testenv.Run {
	t.Helper()
	r := testenv.RunCmd(t, ns.Command(bin, append([]string{"--state-dir", stateDir}, args...)...))
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
	if !strings.HasPrefix(r.FirstLine(), "CONNTRACK OK - conntrack table ") || !strings.Contains(r.FirstLine(), "(40 of "+host+" entries)") ||
		!strings.Contains(r.Stdout, "[OK] no drops, early drops or insert failures since the last run") {
		t.Fatalf("%s", r.Stdout)
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
		!strings.Contains(r.FirstLine(), "another run of this check holds it") || !strings.Contains(r.FirstLine(), "; conntrack table 0% full") || el > 1500*time.Millisecond {
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
