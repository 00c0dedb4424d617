package main_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// lab is two network namespaces joined by a veth pair: a server that
// answers "pong" to every line on port 7000, and a client namespace the
// check runs in. The addresses exist only inside these namespaces.
type lab struct {
	t        *testing.T
	bin      string
	srv, cli *testenv.Netns
	srvAddr  string // IPv4 of the server
	srvAddr6 string // IPv6 of the server
	mu       sync.Mutex
	conns    []net.Conn
}

const port = "7000"

var labSeq int

func newLab(t *testing.T) *lab {
	t.Helper()
	testenv.Require(t, "netns", "iptables")
	l := &lab{t: t, bin: testenv.BuildCheck(t, "check_tcp_window")}
	labSeq = labSeq%250 + 1
	l.srv = testenv.NewNetns(t, "tws")
	l.cli = testenv.NewNetns(t, "twc")
	l.srvAddr = fmt.Sprintf("10.201.%d.1", labSeq)
	l.srvAddr6 = fmt.Sprintf("fd00:201:%d::1", labSeq)
	testenv.Veth(t, l.srv, l.srvAddr+"/24", l.cli, fmt.Sprintf("10.201.%d.2/24", labSeq))
	l.srv.MustRun("ip", "-6", "addr", "add", l.srvAddr6+"/64", "dev", vethOf(t, l.srv), "nodad")
	l.cli.MustRun("ip", "-6", "addr", "add", fmt.Sprintf("fd00:201:%d::2/64", labSeq), "dev", vethOf(t, l.cli), "nodad")

	var ln net.Listener
	if err := l.srv.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", ":"+port) // both families
		return err
	}); err != nil {
		t.Fatal(err)
	}
	go l.serve(ln)
	t.Cleanup(func() {
		ln.Close()
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, c := range l.conns {
			c.Close()
		}
	})
	return l
}

var linkLine = regexp.MustCompile(`(?m)^\d+: ([^@:\s]+)[@:]`)

func vethOf(t *testing.T, ns *testenv.Netns) string {
	t.Helper()
	// ip may also print "Peer netns reference is invalid." when the peer
	// namespace has no id here: take the interface line itself.
	out := ns.MustRun("ip", "-o", "link", "show", "type", "veth")
	m := linkLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no veth in %s: %q", ns.Name, out)
	}
	return m[1]
}

func (l *lab) track(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conns = append(l.conns, c)
}

func (l *lab) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		l.track(c)
		go func() {
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				if _, err := c.Write([]byte("pong\n")); err != nil {
					return
				}
			}
		}()
	}
}

// iptables adds a rule in a namespace; a kernel without the target is a
// missing prerequisite.
func iptables(t *testing.T, ns *testenv.Netns, args ...string) {
	t.Helper()
	if out, err := ns.Command("iptables", args...).CombinedOutput(); err != nil {
		testenv.Missing(t, "iptables %s in a network namespace failed (xt_TCPOPTSTRIP / netfilter missing?): %v: %s", strings.Join(args, " "), err, out)
	}
}

// stripSynAck is the broken middlebox of the issue: the server's SYN-ACK
// loses the window-scale option, its SYN did not.
func (l *lab) stripSynAck() {
	iptables(l.t, l.srv, "-t", "mangle", "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN,ACK", "-j", "TCPOPTSTRIP", "--strip-options", "wscale")
}

func (l *lab) stripSyn() {
	iptables(l.t, l.cli, "-t", "mangle", "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN", "-j", "TCPOPTSTRIP", "--strip-options", "wscale")
}

// run runs the built check inside a namespace.
func run(t *testing.T, ns *testenv.Netns, bin string, args ...string) testenv.Run {
	t.Helper()
	r := testenv.RunCmd(t, ns.Command(bin, args...))
	t.Logf("%s %s -> exit %d in %s\n%s", filepath.Base(bin), strings.Join(args, " "), r.Code, r.Elapsed.Round(time.Millisecond), r.Stdout)
	if r.Stderr != "" {
		t.Errorf("stderr not empty: %q", r.Stderr)
	}
	return r
}

func expect(t *testing.T, r testenv.Run, code int, substr ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("exit %d, want %d: %s", r.Code, code, r.Stdout)
	}
	testenv.AssertContract(t, "TCP_WINDOW", r)
	for _, s := range substr {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("output lacks %q: %s", s, r.Stdout)
		}
	}
}

// hold opens n connections from the client namespace, exchanges a line
// on each (so the server's scaled window reaches the client) and keeps
// them open until the test ends.
func (l *lab) hold(n int) {
	l.t.Helper()
	err := l.cli.Do(func() error {
		for range n {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(l.srvAddr, port), 5*time.Second)
			if err != nil {
				return err
			}
			l.track(c)
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte("hold\n")); err != nil {
				return err
			}
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
}

func TestCleanPath(t *testing.T) {
	l := newLab(t)
	srvLocal := run(t, l.srv, l.bin, "--local")
	expect(t, srvLocal, 0, "this host advertises wscale")

	r := run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "--send", "ping\n", "--expect", "pong")
	expect(t, r, 0, "window scaling negotiated with "+l.srvAddr+":"+port, "peer window read after")
	// The shifts are the ones each side's sysctls make it advertise.
	if got, want := testenv.PerfValue(t, r, "snd_wscale"), testenv.PerfValue(t, srvLocal, "advertised_wscale"); got != want || got == 0 {
		t.Errorf("snd_wscale %v, the server advertises %v", got, want)
	}
	if got, want := testenv.PerfValue(t, r, "rcv_wscale"), testenv.PerfValue(t, r, "advertised_wscale"); got != want {
		t.Errorf("rcv_wscale %v, this side advertises %v", got, want)
	}
	if w := testenv.PerfValue(t, r, "snd_wnd"); w < 8192 {
		t.Errorf("peer window %v on a clean path", w)
	}
	if rtt := testenv.PerfValue(t, r, "rtt"); rtt <= 0 || rtt > 0.5 {
		t.Errorf("rtt %v s", rtt)
	}

	// IPv6, and a probe that sends nothing: the server stays silent, so
	// only the handshake is judged.
	r6 := run(t, l.cli, l.bin, "-6", "-H", "["+l.srvAddr6+"]", "-p", port)
	expect(t, r6, 0, "window scaling negotiated with ["+l.srvAddr6+"]:"+port, "the peer sent nothing after the handshake")

	// Passive: the held connections negotiated scaling.
	l.hold(2)
	p := run(t, l.cli, l.bin, "--established", "-p", port)
	expect(t, p, 0, "2 matching established connections, window scaling negotiated on all")
}

func TestSynAckStripped(t *testing.T) {
	l := newLab(t)
	l.stripSynAck()
	r := run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "--send", "ping\n", "--expect", "pong")
	expect(t, r, 2, "window scale option mangled on the path to "+l.srvAddr, "workaround 1", "workaround 2")
	if w := testenv.PerfValue(t, r, "snd_wnd"); w >= 8192 || w == 0 {
		t.Errorf("peer window %v B, want the few dozen bytes of an unscaled reading", w)
	}
	if testenv.PerfValue(t, r, "snd_wscale") != 0 || testenv.PerfValue(t, r, "rcv_wscale") != 0 {
		t.Errorf("wscale not 0/0 without negotiation: %s", r.FirstLine())
	}
	if c := testenv.PerfValue(t, r, "ceiling_bps"); c <= 0 {
		t.Errorf("ceiling %v", c)
	}

	// Nothing sent, nothing received: not negotiated, cannot tell more.
	q := run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port)
	expect(t, q, 1, "window scaling not negotiated", "add --send")

	// Passive mode finds the held connections of this broken path on the
	// client; the server's ends believe scaling is on.
	l.hold(3)
	p := run(t, l.cli, l.bin, "--established")
	expect(t, p, 2, "3 of 3 established connections show a mangled window scale", "-> "+l.srvAddr+":"+port)
	if testenv.PerfValue(t, p, "mangled") != 3 || testenv.PerfValue(t, p, "established") != 3 {
		t.Errorf("counts: %s", p.FirstLine())
	}
	pr := run(t, l.cli, l.bin, "--established", "--remote", l.srvAddr+"/32", "-p", port)
	expect(t, pr, 2, "3 of 3 matching established connections")
	// sock_diag needs no privilege: the same as an unprivileged user.
	nobody := run(t, l.cli, testenv.Binary(t, "setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", l.bin, "--established", "-p", port)
	expect(t, nobody, 2, "3 of 3 matching established connections show a mangled window scale")
	none := run(t, l.cli, l.bin, "--established", "--remote", "10.202.0.0/16")
	expect(t, none, 0, "0 matching established connections")
	srv := run(t, l.srv, l.bin, "--established", "-p", port)
	expect(t, srv, 0, "3 matching established connections, window scaling negotiated on all")
}

func TestStrippedBothWays(t *testing.T) {
	l := newLab(t)
	l.stripSynAck()
	l.stripSyn()
	r := run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "--send", "ping\n", "--expect", "pong", "--rtt", "20ms")
	expect(t, r, 1, "window scaling not negotiated with "+l.srvAddr, "windows capped at 64 KiB", "middlebox strips it")
	if w := testenv.PerfValue(t, r, "snd_wnd"); w < 8192 || w > 65535 {
		t.Errorf("peer window %v B, want an unscaled window of up to 64 KiB", w)
	}
	rtt := testenv.PerfValue(t, r, "rtt")
	if c, want := testenv.PerfValue(t, r, "ceiling_bps"), 65535*8/rtt; rtt > 0 && (c < want*0.99 || c > want*1.01) {
		t.Errorf("ceiling %v, want 64 KiB per RTT of %v s = %v", c, rtt, want)
	}
	// --min-throughput far above what 64 KiB per RTT allows.
	m := run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "--send", "ping\n", "--min-throughput", "1000T")
	expect(t, m, 1, "below --min-throughput 1000 Tbit/s")
}

func TestScalingOffLocally(t *testing.T) {
	l := newLab(t)
	l.cli.Sysctl("net.ipv4.tcp_window_scaling", "0")
	r := run(t, l.cli, l.bin, "--local")
	expect(t, r, 1, "window scaling disabled here (net.ipv4.tcp_window_scaling=0)", "sysctl -w net.ipv4.tcp_window_scaling=1")
	if testenv.PerfValue(t, r, "advertised_wscale") != 0 {
		t.Errorf("advertised wscale not 0: %s", r.FirstLine())
	}
	// The server namespace is untouched.
	expect(t, run(t, l.srv, l.bin, "--local"), 0)
	p := run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "--send", "ping\n")
	expect(t, p, 1, "window scaling not negotiated", "this host has net.ipv4.tcp_window_scaling=0")
}

func TestMaxWscale(t *testing.T) {
	l := newLab(t)
	l.cli.Sysctl("net.ipv4.tcp_rmem", "4096 131072 67108864")
	r := run(t, l.cli, l.bin, "--local", "--max-wscale", "7")
	expect(t, r, 1, "above --max-wscale 7", "net.ipv4.tcp_rmem = 4096 131072 67108864", "at most 8388607 B")
	if testenv.PerfValue(t, r, "advertised_wscale") != 11 {
		t.Errorf("advertised wscale: %s", r.FirstLine())
	}
	// Following the hint brings it down, and the kernel agrees.
	l.cli.Sysctl("net.ipv4.tcp_rmem", "4096 131072 8388607")
	r = run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "--send", "x\n", "--max-wscale", "7")
	expect(t, r, 0)
	if testenv.PerfValue(t, r, "advertised_wscale") > 7 || testenv.PerfValue(t, r, "rcv_wscale") != testenv.PerfValue(t, r, "advertised_wscale") {
		t.Errorf("after the fix: %s", r.FirstLine())
	}
}

func TestConnectFailures(t *testing.T) {
	l := newLab(t)
	r := run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", "7999")
	expect(t, r, 2, "connection to "+l.srvAddr+":7999 refused")

	// Name resolution inside the namespace goes to a resolver on its own
	// loopback, where nothing answers.
	etc := filepath.Join("/etc/netns", l.cli.Name)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(etc) })
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "hosts"), []byte("127.0.0.1 localhost\n"+l.srvAddr+" server.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, l.cli, l.bin, "-H", "no-such-host.invalid", "-p", port)
	expect(t, r, 3, "TCP_WINDOW UNKNOWN - cannot resolve no-such-host.invalid")
	r = run(t, l.cli, l.bin, "-H", "server.test", "-p", port, "--send", "x\n")
	expect(t, r, 0, "negotiated with "+l.srvAddr)

	// A resolver that takes every query and never answers: resolving is
	// part of -t, and running out of it is a timeout like any other.
	var dns net.PacketConn
	if err := l.cli.Do(func() error {
		var err error
		dns, err = net.ListenPacket("udp", "127.0.0.1:53")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := dns.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:30 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, l.cli, l.bin, "-H", "silent.invalid", "-p", port, "-t", "1.5", "--timeout-state", "critical")
	expect(t, r, 2, "TCP_WINDOW CRITICAL - timed out after 1.5s while resolving silent.invalid")
	if r.Elapsed >= 1500*time.Millisecond {
		t.Errorf("answered after %s, -t 1.5", r.Elapsed)
	}

	// Blackholed: the SYN vanishes; the answer comes within -t.
	iptables(t, l.srv, "-A", "INPUT", "-p", "tcp", "--dport", port, "-j", "DROP")
	r = run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "-t", "2")
	expect(t, r, 3, "TCP_WINDOW UNKNOWN - timed out after 2s")
	if r.Elapsed >= 2*time.Second {
		t.Errorf("answered after %s, -t 2", r.Elapsed)
	}
	r = run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "-t", "1.5", "--timeout-state", "critical")
	expect(t, r, 2, "TCP_WINDOW CRITICAL - timed out after 1.5s")
	if r.Elapsed >= 1500*time.Millisecond {
		t.Errorf("answered after %s, -t 1.5", r.Elapsed)
	}
}

func TestBadInput(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_tcp_window")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-H", "10.201.250.1"}, "-H 10.201.250.1 needs -p PORT"},
		{[]string{"-H", "10.201.250.1", "-p", "http"}, `invalid --port "http": expected a TCP port from 1 to 65535`},
		{[]string{"-H", "10.201.250.1", "-p", "0"}, `invalid --port "0": expected a TCP port from 1 to 65535`},
		{[]string{"--min-throughput", "fast", "-H", "h", "-p", "1"}, `invalid rate "fast"`},
		{[]string{"--local", "--established"}, "--local runs the local audit alone"},
		{[]string{"--established", "--remote", "nowhere"}, `invalid --remote "nowhere": expected an address or a CIDR such as 10.0.0.0/8 or fd00::/8`},
		{[]string{"--max-wscale", "20"}, "invalid --max-wscale 20: expected 0-14"},
		// -1 was the internal "no limit" and answered OK; no limit is
		// leaving the option out.
		{[]string{"--max-wscale", "-1"}, "invalid --max-wscale -1: expected 0-14"},
		{[]string{"--local", "--max-wscale", "x"}, `invalid argument for flag --max-wscale: "x" is not a whole number`},
		{[]string{"--min-window", "-5"}, "invalid --min-window -5"},
		{[]string{"--bogus"}, "unknown flag"},
	} {
		r := testenv.RunCheck(t, bin, nil, tc.args...)
		if r.Code != 3 || strings.Count(r.Stdout, "\n") != 1 || !strings.HasPrefix(r.Stdout, "TCP_WINDOW UNKNOWN - ") || !strings.Contains(r.Stdout, tc.msg) || r.Stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 3 and one line with %q", tc.args, r.Code, r.Stdout, r.Stderr, tc.msg)
		}
	}
}
