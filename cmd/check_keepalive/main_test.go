package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/keepalive"
	"github.com/opschecks/opschecks/internal/testenv"
)

// helperEnv makes the test binary a process that owns keepalive test
// sockets inside a namespace (see TestMain).
const helperEnv = "OPSCHECKS_KEEPALIVE_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

// helper opens a pair without keepalive and a pair with TCP_KEEPIDLE 30 s,
// reports "ready PORT PORT" and holds them until stdin closes.
func helper() int {
	a, err := openPair(-1)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	b, err := openPair(30)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Printf("ready %d %d\n", a.port, b.port)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	a.close()
	b.close()
	return 0
}

// pair is a loopback connection whose two ends this process holds.
type pair struct {
	port           int
	client, server *net.TCPConn
}

func (p *pair) close() { p.client.Close(); p.server.Close() }

// setKeepalive sets SO_KEEPALIVE and, when keepidle > 0, TCP_KEEPIDLE,
// with the raw socket options an application would use. keepidle < 0
// leaves keepalive off.
func setKeepalive(c *net.TCPConn, keepidle int) error {
	if keepidle < 0 {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
		if serr == nil && keepidle > 0 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, keepidle)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// openPair opens a loopback connection on its own listener port and sets
// keepalive on both ends: keepidle -1 none, 0 SO_KEEPALIVE with the
// namespace's tcp_keepalive_time, > 0 SO_KEEPALIVE and TCP_KEEPIDLE. Go
// turns keepalive on by default; it is switched off here so only the
// test's own options count.
func openPair(keepidle int) (*pair, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(nil, "tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	d := net.Dialer{KeepAlive: -1, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		return nil, err
	}
	p := &pair{port: port, client: c.(*net.TCPConn), server: s.(*net.TCPConn)}
	for _, conn := range []*net.TCPConn{p.client, p.server} {
		if err := setKeepalive(conn, keepidle); err != nil {
			p.close()
			return nil, err
		}
	}
	return p, nil
}

// exchange sends a byte each way so the pair is not idle.
func (p *pair) exchange() error {
	buf := make([]byte, 1)
	for _, dir := range [][2]*net.TCPConn{{p.client, p.server}, {p.server, p.client}} {
		if _, err := dir[0].Write([]byte{'x'}); err != nil {
			return err
		}
		_ = dir[1].SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := dir[1].Read(buf); err != nil {
			return err
		}
	}
	return nil
}

// wantPerf checks perfdata values of the run's first line.
func wantPerf(t *testing.T, r testenv.Run, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if g := testenv.PerfValue(t, r, k); g != v {
			t.Errorf("perfdata %s = %v, want %v", k, g, v)
		}
	}
}

// runIn runs the check inside the namespace.
func runIn(t *testing.T, ns *testenv.Netns, bin string, args ...string) testenv.Run {
	t.Helper()
	r := testenv.RunCmd(t, ns.Command(bin, args...))
	t.Logf("%s %s -> %d\n%s", bin, strings.Join(args, " "), r.Code, r.Stdout)
	testenv.AssertContract(t, "KEEPALIVE", r)
	return r
}

// findingState returns the state of the first detail header line
// "[STATE] text" whose text contains contains.
func findingState(t *testing.T, out, contains string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[") && strings.Contains(l, contains) {
			st, _, _ := strings.Cut(l[1:], "]")
			return st
		}
	}
	t.Fatalf("no finding containing %q in:\n%s", contains, out)
	return ""
}

// TestSocketsInNamespace opens real loopback pairs in a namespace of its
// own and runs the check there, filtered to the pairs' ports.
func TestSocketsInNamespace(t *testing.T) {
	testenv.Require(t, "netns")
	bin := testenv.BuildCheck(t, "check_keepalive")
	ns := testenv.NewNetns(t, "ka")
	ns.Sysctl("net.ipv4.tcp_keepalive_time", "7200")
	ns.Sysctl("net.ipv4.tcp_keepalive_intvl", "75")
	ns.Sysctl("net.ipv4.tcp_keepalive_probes", "9")

	kinds := []struct {
		name     string
		keepidle int
	}{
		{"none", -1}, {"idle30", 30}, {"idle600", 600}, {"sysctl", 0}, {"idle", -1},
	}
	pairs := map[string]*pair{}
	err := ns.Do(func() error {
		for _, k := range kinds {
			p, err := openPair(k.keepidle)
			if err != nil {
				return fmt.Errorf("pair %s: %w", k.name, err)
			}
			pairs[k.name] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range pairs {
			p.close()
		}
	})
	var portArgs []string
	for _, k := range kinds {
		portArgs = append(portArgs, "--port", strconv.Itoa(pairs[k.name].port))
	}

	// Default idle timeout 90 s: 7200 s in the namespace is CRITICAL; the
	// 600 s sockets and those on the 7200 s sysctl have timers above it.
	r := runIn(t, ns, bin, portArgs...)
	first := r.FirstLine()
	if r.Code != 2 || !strings.HasPrefix(first, "KEEPALIVE CRITICAL - keepalive probe gap 7200s (tcp_keepalive_time) >= idle timeout 90s in the check's own network namespace") {
		t.Fatalf("exit %d, first line %q", r.Code, first)
	}
	wantPerf(t, r, map[string]float64{
		"tcp_keepalive_time": 7200, "tcp_keepalive_intvl": 75, "tcp_keepalive_probes": 9,
		"keepalive_detect_time": 7200 + 75*9, "idle_timeout": 90,
		"sockets_total": 10, "sockets_no_keepalive": 4, "sockets_long_interval": 4, "sockets_at_risk": 0,
	})
	if st := findingState(t, r.Stdout, "established sockets matching the filter"); st != "OK" {
		t.Errorf("socket finding %s, want OK (none idle past 90s)", st)
	}
	for _, want := range []string{
		"sysctl -w net.ipv4.tcp_keepalive_time=30 net.ipv4.tcp_keepalive_intvl=30",
		"TCP_KEEPIDLE, 30",
		fmt.Sprintf(":%d, keepalive timer ", pairs["idle600"].port),
		fmt.Sprintf(":%d, no keepalive", pairs["none"].port),
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// --remote alone selects by peer address: every pair's peer is
	// 127.0.0.1, and the namespace holds no other sockets.
	r = runIn(t, ns, bin, "--remote", "127.0.0.1")
	wantPerf(t, r, map[string]float64{"sockets_total": 10, "sockets_no_keepalive": 4, "sockets_long_interval": 4})
	r = runIn(t, ns, bin, append([]string{"--remote", "10.0.0.0/8"}, portArgs...)...)
	wantPerf(t, r, map[string]float64{"sockets_total": 0})
	// One pair stays idle past a 2 s idle timeout; the others talk.
	time.Sleep(2500 * time.Millisecond)
	cases := []struct {
		args  []string
		code  int
		state string
	}{
		{nil, 2, "WARNING"},            // default -w 1: 2 sockets at risk
		{[]string{"-w", "2"}, 2, "OK"}, // host stays CRITICAL
		{[]string{"-c", "1"}, 2, "CRITICAL"},
	}
	for _, c := range cases {
		// The other pairs talk just before each run, so a slow machine
		// cannot make them idle for 2 s.
		for _, k := range []string{"none", "idle30", "idle600", "sysctl"} {
			if err := pairs[k].exchange(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(300 * time.Millisecond) // delayed ACKs settle: no retransmit timer pending
		args := append(append([]string{"--idle-timeout", "2s"}, c.args...), portArgs...)
		r := runIn(t, ns, bin, args...)
		if r.Code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, r.Code, c.code)
		}
		wantPerf(t, r, map[string]float64{
			"idle_timeout": 2, "sockets_total": 10, "sockets_no_keepalive": 4,
			"sockets_long_interval": 6, "sockets_at_risk": 2,
		})
		if st := findingState(t, r.Stdout, "established sockets matching the filter"); st != c.state {
			t.Errorf("%v: socket finding %s, want %s", c.args, st, c.state)
		}
		want := fmt.Sprintf("idle longer than the idle timeout: 127.0.0.1:%d", pairs["idle"].port)
		wantAlt := fmt.Sprintf("-> 127.0.0.1:%d, no keepalive, idle", pairs["idle"].port)
		if !strings.Contains(r.Stdout, want) && !strings.Contains(r.Stdout, wantAlt) {
			t.Errorf("details do not name the idle pair (port %d)", pairs["idle"].port)
		}
	}

	// Keepalive at 30 s in the namespace: host-wide OK.
	ns.Sysctl("net.ipv4.tcp_keepalive_time", "30")
	ns.Sysctl("net.ipv4.tcp_keepalive_intvl", "10")
	ns.Sysctl("net.ipv4.tcp_keepalive_probes", "5")
	r = runIn(t, ns, bin)
	if r.Code != 0 || !strings.HasPrefix(r.FirstLine(), "KEEPALIVE OK - keepalive probe gap 30s < idle timeout 90s in the check's own network namespace") {
		t.Fatalf("exit %d, first line %q", r.Code, r.FirstLine())
	}
	wantPerf(t, r, map[string]float64{"tcp_keepalive_time": 30, "tcp_keepalive_intvl": 10, "tcp_keepalive_probes": 5, "keepalive_detect_time": 80})
	if strings.Contains(r.FirstLine(), "sockets_total") {
		t.Errorf("host audit alone reported sockets: %q", r.FirstLine())
	}
	r = runIn(t, ns, bin, "--max-detect", "60")
	if r.Code != 1 || !strings.Contains(r.FirstLine(), "dead peer is detected after 80s") || !strings.Contains(r.FirstLine(), "keepalive_detect_time=80s;60;") {
		t.Errorf("--max-detect 60: exit %d, %q", r.Code, r.FirstLine())
	}
	// An interval longer than the idle timeout is the gap after the first probe.
	ns.Sysctl("net.ipv4.tcp_keepalive_intvl", "120")
	r = runIn(t, ns, bin)
	if r.Code != 2 || !strings.Contains(r.FirstLine(), "keepalive probe gap 120s (tcp_keepalive_intvl) >= idle timeout 90s") {
		t.Errorf("intvl 120: exit %d, %q", r.Code, r.FirstLine())
	}
	r = runIn(t, ns, bin, "--idle-timeout", "aws-nat")
	if r.Code != 0 || !strings.Contains(r.FirstLine(), "< idle timeout 350s (aws-nat)") {
		t.Errorf("aws-nat: exit %d, %q", r.Code, r.FirstLine())
	}
}

// helperName is the helper's name (its comm): "kahelper" and this test
// process's PID, so that --process finds this run's helper only, not one
// of a test of the same package running at the same time in another
// checkout (15 characters at most, the kernel's TASK_COMM_LEN).
var helperName = fmt.Sprintf("kahelper%d", os.Getpid())

// helperCopy copies the test binary to a world-readable directory as
// helperName, so that it has a name of its own (for --process) and an
// unprivileged user can run it.
func helperCopy(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "opschecks-kahelper-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, helperName)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// startHelper starts the helper inside the namespace (as the given
// command prefix, e.g. setpriv to another user) and returns its PID and
// ports.
func startHelper(t *testing.T, ns *testenv.Netns, helper string, prefix ...string) (int, []int) {
	t.Helper()
	args := append(append(prefix[:len(prefix):len(prefix)], helper), "-test.run=^$")
	cmd := ns.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- l
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(20 * time.Second):
		t.Fatal("helper did not start")
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "ready" {
		t.Fatalf("helper said %q", line)
	}
	a, _ := strconv.Atoi(f[1])
	b, _ := strconv.Atoi(f[2])
	// ip netns exec and setpriv exec the next command, so the PID is the
	// helper's own.
	return cmd.Process.Pid, []int{a, b}
}

// TestPIDInOtherNamespace runs the check on the host against a process in
// a namespace: it must read that namespace's sysctls and sockets.
func TestPIDInOtherNamespace(t *testing.T) {
	testenv.Require(t, "netns")
	bin := testenv.BuildCheck(t, "check_keepalive")
	ns := testenv.NewNetns(t, "kapid")
	ns.Sysctl("net.ipv4.tcp_keepalive_time", "45")
	ns.Sysctl("net.ipv4.tcp_keepalive_intvl", "15")
	ns.Sysctl("net.ipv4.tcp_keepalive_probes", "3")
	pid, _ := startHelper(t, ns, helperCopy(t))

	r := testenv.RunCheck(t, bin, nil, "--pid", strconv.Itoa(pid))
	t.Logf("%s", r.Stdout)
	first := r.FirstLine()
	want := fmt.Sprintf("KEEPALIVE OK - keepalive probe gap 45s < idle timeout 90s in the network namespace of PID %d (net:[", pid)
	if r.Code != 0 || !strings.HasPrefix(first, want) || r.Stderr != "" {
		t.Fatalf("exit %d, first line %q, stderr %q; want prefix %q", r.Code, first, r.Stderr, want)
	}
	wantPerf(t, r, map[string]float64{
		"tcp_keepalive_time": 45, "tcp_keepalive_intvl": 15, "tcp_keepalive_probes": 3,
		"keepalive_detect_time": 90,
		"sockets_total":         4, "sockets_no_keepalive": 2, "sockets_long_interval": 0, "sockets_at_risk": 0,
	})
	if !strings.Contains(first, fmt.Sprintf("4 established sockets of %s (PID %d)", helperName, pid)) {
		t.Errorf("first line does not scope the sockets to PID %d: %q", pid, first)
	}
	// --pidfile names the same process, with the same answer.
	pf := filepath.Join(t.TempDir(), "helper.pid")
	if err := os.WriteFile(pf, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = testenv.RunCheck(t, bin, nil, "--pidfile", pf)
	if r.Code != 0 || !strings.HasPrefix(r.FirstLine(), want) || !strings.Contains(r.FirstLine(), fmt.Sprintf("4 established sockets of %s (PID %d from %s)", helperName, pid, pf)) {
		t.Errorf("--pidfile: exit %d, %q", r.Code, r.FirstLine())
	}
	// The fix hint enters the process's namespace.
	r = testenv.RunCheck(t, bin, nil, "--pid", strconv.Itoa(pid), "--idle-timeout", "40s")
	if r.Code != 2 || !strings.Contains(r.Stdout, fmt.Sprintf("nsenter --net=/proc/%d/ns/net sysctl -w net.ipv4.tcp_keepalive_time=13", pid)) {
		t.Errorf("idle 40s: exit %d\n%s", r.Code, r.Stdout)
	}
	// A process in our own namespace: the output says so. (Not this test
	// process: after ns.Do its main thread, which /proc/PID/ns/net
	// shows, may be the one left inside the test namespace.)
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	r = testenv.RunCheck(t, bin, nil, "--pid", strconv.Itoa(sleeper.Process.Pid), "--idle-timeout", "conntrack")
	if r.Code == 3 || !strings.Contains(r.FirstLine(), "in the check's own network namespace (net:[") ||
		!strings.Contains(r.FirstLine(), fmt.Sprintf("shared with PID %d - 0 established sockets of sleep (PID %d)", sleeper.Process.Pid, sleeper.Process.Pid)) {
		t.Errorf("--pid of a process in our namespace: exit %d, %q", r.Code, r.FirstLine())
	}
	// By name: only this run's helper is called helperName.
	r = testenv.RunCheck(t, bin, nil, "--process", helperName)
	if r.Code != 0 || !strings.Contains(r.FirstLine(), fmt.Sprintf("in the network namespace of PID %d", pid)) ||
		!strings.Contains(r.FirstLine(), fmt.Sprintf("4 established sockets of %s (PID %d): 2 without keepalive", helperName, pid)) {
		t.Errorf("--process %s: exit %d, %q", helperName, r.Code, r.FirstLine())
	}
}

// TestUnprivileged runs the check as a fresh unprivileged user against
// this (root) test process: reading its /proc/PID/fd needs a privilege.
func TestUnprivileged(t *testing.T) {
	testenv.Require(t, "root")
	setpriv := testenv.Binary(t, "setpriv")
	useradd := testenv.Binary(t, "useradd")
	bin := testenv.BuildCheck(t, "check_keepalive")
	user := fmt.Sprintf("ocka%d", os.Getpid()%1000000)
	if out, err := exec.Command(useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", user).Run() })
	out, err := exec.Command("id", "-u", user).Output()
	if err != nil {
		t.Fatal(err)
	}
	uid := strings.TrimSpace(string(out))

	r := testenv.RunCheck(t, setpriv, nil, "--reuid="+uid, "--regid="+uid, "--clear-groups", "--",
		bin, "--pid", strconv.Itoa(os.Getpid()))
	fd := fmt.Sprintf("/proc/%d/fd", os.Getpid())
	if r.Code != 3 || strings.Count(r.Stdout, "\n") != 1 || r.Stderr != "" ||
		!strings.HasPrefix(r.Stdout, "KEEPALIVE UNKNOWN - cannot read "+fd+": permission denied, run as root or as the owner of the process") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	// A process of the same user in another namespace: its fds are
	// readable, but entering its namespace needs CAP_SYS_ADMIN.
	ns := testenv.NewNetns(t, "kapriv")
	pid, _ := startHelper(t, ns, helperCopy(t), setpriv, "--reuid="+uid, "--regid="+uid, "--clear-groups", "--")
	r = testenv.RunCheck(t, setpriv, nil, "--reuid="+uid, "--regid="+uid, "--clear-groups", "--", bin, "--pid", strconv.Itoa(pid))
	if r.Code != 3 || strings.Count(r.Stdout, "\n") != 1 || r.Stderr != "" ||
		!strings.HasPrefix(r.Stdout, "KEEPALIVE UNKNOWN - cannot enter the network namespace: permission denied (needs CAP_SYS_ADMIN") {
		t.Errorf("other namespace: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	// Without a target the unprivileged user may audit its own namespace.
	r = testenv.RunCheck(t, setpriv, nil, "--reuid="+uid, "--regid="+uid, "--clear-groups", "--", bin, "--sockets", "--idle-timeout", "conntrack")
	if r.Code == 3 || !strings.Contains(r.FirstLine(), "idle timeout 432000s (conntrack, nf_conntrack_tcp_timeout_established)") {
		t.Errorf("unprivileged --sockets: exit %d, %q", r.Code, r.Stdout)
	}
}

// TestBadInput: every bad input is one UNKNOWN line (CRITICAL for a
// missing --process), nothing on stderr.
func TestBadInput(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_keepalive")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--idle-timeout", "aws-natt"}, 3, `KEEPALIVE UNKNOWN - unknown --idle-timeout preset "aws-natt": expected a duration (90s, 5m) or a preset: aws-nat, aws-nlb, azure-lb, gcp-nat, ipvs, conntrack (see check_keepalive --help)`},
		{[]string{"--idle-timeout", "12xs"}, 3, `KEEPALIVE UNKNOWN - invalid --idle-timeout "12xs": expected seconds or a duration (90, 90s, 5m) or a preset: aws-nat,`},
		{[]string{"--idle-timeout", "-5"}, 3, `KEEPALIVE UNKNOWN - invalid --idle-timeout "-5": expected`},
		{[]string{"--idle-timeout", "0"}, 3, `KEEPALIVE UNKNOWN - invalid --idle-timeout "0": expected`},
		{[]string{"--port", "70000"}, 3, `KEEPALIVE UNKNOWN - invalid --port "70000": expected a TCP port from 1 to 65535`},
		{[]string{"--remote", "10.1.2.0/33"}, 3, `KEEPALIVE UNKNOWN - invalid --remote "10.1.2.0/33": expected an address or a CIDR`},
		{[]string{"--pid", "abc"}, 3, `KEEPALIVE UNKNOWN - invalid --pid "abc": expected a process ID`},
		{[]string{"--pid", "-1"}, 3, `KEEPALIVE UNKNOWN - invalid --pid "-1": expected a process ID from 1 to 4194303 (see check_keepalive --help)`},
		{[]string{"--pid", "4194305"}, 3, `KEEPALIVE UNKNOWN - invalid --pid "4194305": expected a process ID from 1 to 4194303`},
		// The service not running: CRITICAL, as in every check.
		{[]string{"--pid", "4194303"}, 2, `KEEPALIVE CRITICAL - no process with PID 4194303 is running`},
		{[]string{"--process", "no-such-process-ka"}, 2, `KEEPALIVE CRITICAL - no process named "no-such-process-ka" is running`},
		{[]string{"--pidfile", "/nonexistent/ka.pid"}, 2, `KEEPALIVE CRITICAL - pid file /nonexistent/ka.pid does not exist: the service is not running`},
		{[]string{"-w", "x"}, 3, `KEEPALIVE UNKNOWN - invalid argument for flag -w, --warning: invalid range "x"`},
		{[]string{"--max-detect", "soon"}, 3, `KEEPALIVE UNKNOWN - invalid argument for flag --max-detect`},
	}
	for _, c := range cases {
		r := testenv.RunCheck(t, bin, nil, c.args...)
		if r.Code != c.code || !strings.HasPrefix(r.Stdout, c.want) || strings.Count(r.Stdout, "\n") != 1 || r.Stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and prefix %q", c.args, r.Code, r.Stdout, r.Stderr, c.code, c.want)
		}
	}
}

// TestHelpListsPresets: every preset is in --help with its value.
func TestHelpListsPresets(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_keepalive")
	r := testenv.RunCheck(t, bin, nil, "--help")
	help := strings.Join(strings.Fields(r.Stdout), " ")
	if r.Code != 3 {
		t.Errorf("--help exit %d", r.Code)
	}
	short := func(d time.Duration) string {
		switch {
		case d >= time.Hour && d%time.Hour == 0:
			return fmt.Sprintf("%dh", d/time.Hour)
		case d%time.Minute == 0:
			return fmt.Sprintf("%dm", d/time.Minute)
		}
		return fmt.Sprintf("%ds", d/time.Second)
	}
	for _, p := range keepalive.Presets {
		if want := p.Name + " " + short(p.D); !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if !strings.Contains(help, "(default: 90s)") {
		t.Errorf("--help does not give the 90s default")
	}
}

// TestConntrackPreset: --idle-timeout conntrack is the
// nf_conntrack_tcp_timeout_established of the namespace audited, read from
// the kernel, not the kernel's default.
func TestConntrackPreset(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "kact")
	bin := testenv.BuildCheck(t, "check_keepalive")
	ns.Sysctl("net.netfilter.nf_conntrack_tcp_timeout_established", "600")
	sleeper := ns.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	pid := sleeper.Process.Pid
	r := testenv.RunCheck(t, bin, nil, "--pid", strconv.Itoa(pid), "--idle-timeout", "conntrack")
	testenv.AssertContract(t, "KEEPALIVE", r)
	want := fmt.Sprintf("KEEPALIVE CRITICAL - keepalive probe gap 7200s (tcp_keepalive_time) >= idle timeout 600s (conntrack, nf_conntrack_tcp_timeout_established) in the network namespace of PID %d", pid)
	if r.Code != 2 || !strings.HasPrefix(r.FirstLine(), want) || testenv.PerfValue(t, r, "idle_timeout") != 600 ||
		!strings.Contains(r.Stdout, fmt.Sprintf("nsenter --net=/proc/%d/ns/net sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=432000", pid)) {
		t.Fatalf("want %q...:\n%s", want, r.Stdout)
	}
	host, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established")
	if err != nil {
		t.Fatal(err)
	}
	r = testenv.RunCheck(t, bin, nil, "--idle-timeout", "conntrack")
	if testenv.PerfValue(t, r, "idle_timeout") != mustFloat(t, string(host)) || !strings.Contains(r.FirstLine(), "(conntrack, nf_conntrack_tcp_timeout_established) in the check's own network namespace") {
		t.Fatalf("host (%s s): %s", strings.TrimSpace(string(host)), r.Stdout)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
