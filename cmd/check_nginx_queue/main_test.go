package main

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

// runUntil runs the check until it exits with code, or for at most
// within, and returns the last run.
func runUntil(t *testing.T, bin string, args []string, code int, within time.Duration) testenv.Run {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := testenv.RunCheck(t, bin, nil, args...)
		if r.Code == code || time.Now().After(deadline) {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func expect(t *testing.T, r testenv.Run, code int, substr ...string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit %d, want %d:\n%s%s", r.Code, code, r.Stdout, r.Stderr)
	}
	testenv.AssertContract(t, "NGINX_QUEUE", r)
	for _, s := range substr {
		if !strings.Contains(r.FirstLine(), s) {
			t.Fatalf("first line lacks %q:\n%s", s, r.Stdout)
		}
	}
}

// TestQueueFillAndDrops is the scenario against a real nginx in a
// network namespace of its own: stop the worker, overfill the backlog of
// 8, see the queue and then the drops, resume and drain back to OK.
func TestQueueFillAndDrops(t *testing.T) {
	testenv.Require(t, "netns", "nginx")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ns := testenv.NewNetns(t, "nginxq")
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Backlog: 8})
	stateDir := t.TempDir()
	// The check runs in the host namespace and finds nginx's through the
	// pid file: sockets via sock_diag in that namespace, counters from
	// /proc/PID/net/netstat.
	args := []string{"--pidfile", ng.PidFile, "--state-dir", stateDir}

	r := testenv.RunCheck(t, bin, nil, args...)
	expect(t, r, 0, "NGINX_QUEUE OK", ng.Addr+" accept queue 0/8 (0%)", "collecting baseline")
	if o := testenv.PerfValue(t, r, "listen_overflows_total"); o != 0 {
		t.Fatalf("listen_overflows_total %v in a fresh namespace, want 0", o)
	}
	if b := testenv.PerfValue(t, r, plugin.Label("backlog", plugin.Endpoint(ng.Addr)...)); b != 8 {
		t.Fatalf("backlog %v, want 8 (listen backlog=8)", b)
	}

	ng.Signal(t, syscall.SIGSTOP)
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	refused := 0
	dial := func(n int, timeout time.Duration) {
		t.Helper()
		err := ns.Do(func() error {
			d := net.Dialer{Timeout: timeout}
			for range n {
				c, err := d.Dial("tcp", ng.Addr)
				if err != nil {
					refused++
					continue
				}
				conns = append(conns, c)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The kernel completes handshakes up to backlog+1 = 9 while nginx
	// sleeps; SYNs beyond that are dropped (ListenOverflows).
	dial(9, 5*time.Second)
	dial(3, 300*time.Millisecond)
	if len(conns) != 9 || refused != 3 {
		t.Fatalf("%d connections established and %d timed out; want 9 and 3 with backlog 8", len(conns), refused)
	}
	r = testenv.RunCheck(t, bin, nil, args...)
	expect(t, r, 2, "NGINX_QUEUE CRITICAL - "+ng.Addr+" accept queue 9/8 (112.5%)")
	if q := testenv.PerfValue(t, r, plugin.Label("queue", plugin.Endpoint(ng.Addr)...)); q != 9 {
		t.Fatalf("queue %v, want 9", q)
	}
	if !strings.Contains(r.Stdout, "workers are blocked") {
		t.Fatalf("no fix hint in the details:\n%s", r.Stdout)
	}
	before := testenv.PerfValue(t, r, "listen_overflows_total")
	if before < 3 {
		t.Fatalf("listen_overflows_total %v, want >= 3 after 3 dropped SYNs", before)
	}

	// More SYNs into the full queue: the next run sees them as drops/s.
	dial(6, 150*time.Millisecond)
	r = testenv.RunCheck(t, bin, nil, args...)
	expect(t, r, 2, "listen drops ")
	if d := testenv.PerfValue(t, r, "listen_drops_rate"); d <= 0 {
		t.Fatalf("listen_drops_rate %v, want > 0:\n%s", d, r.Stdout)
	}
	if o := testenv.PerfValue(t, r, "listen_overflows_total"); o < before+6 {
		t.Fatalf("listen_overflows_total %v, want >= %v", o, before+6)
	}
	if !regexp.MustCompile(`\[(WARNING|CRITICAL)\] listen drops [0-9.]+/s`).MatchString(r.Stdout) {
		t.Fatalf("drops not reported as WARNING or CRITICAL:\n%s", r.Stdout)
	}
	t.Logf("drops run: %s", r.FirstLine())

	// With drops-critical 0.01 the same situation is CRITICAL on drops.
	dial(2, 150*time.Millisecond)
	r = testenv.RunCheck(t, bin, nil, append(args, "-w", "~:", "-c", "~:", "--drops-critical", "0.01")...)
	expect(t, r, 2, "NGINX_QUEUE CRITICAL - listen drops")

	ng.Signal(t, syscall.SIGCONT)
	r = runUntil(t, bin, args, 0, 10*time.Second)
	expect(t, r, 0, "NGINX_QUEUE OK - "+ng.Addr+" accept queue 0/8 (0%)", "listen drops 0/s")
}

// TestPortInNamespace runs the check inside the namespace by port, and
// shows a clipped backlog and a port nobody listens on.
func TestPortInNamespace(t *testing.T) {
	testenv.Require(t, "netns", "nginx")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ns := testenv.NewNetns(t, "nginxp")
	ns.Sysctl("net.core.somaxconn", "8")
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Backlog: 64, Server: "listen [::1]:8080 backlog=4;"})
	state := t.TempDir()
	run := func(args ...string) testenv.Run {
		return testenv.RunCheck(t, "ip", nil, append([]string{"netns", "exec", ns.Name, bin, "--state-dir", state}, args...)...)
	}

	r := run("--port", strconv.Itoa(ng.Port), "--expect-backlog", "64")
	expect(t, r, 1, "NGINX_QUEUE WARNING - "+ng.Addr+" backlog 8 clipped by net.core.somaxconn 8 (expected 64) - [::1]:8080 backlog 4 below the expected 64", "somaxconn=8",
		"backlog_127-0-0-1_8080=8", "backlog_ip6--1_8080=4")
	if !strings.Contains(r.Stdout, "sysctl -w net.core.somaxconn=64") || !strings.Contains(r.Stdout, "add backlog=64 to the listen directive of [::1]:8080") {
		t.Fatalf("no sysctl hint:\n%s", r.Stdout)
	}

	// The check in the host namespace looking into nginx's needs
	// CAP_SYS_ADMIN for setns; without it, it says so.
	r = testenv.RunCheck(t, testenv.Binary(t, "setpriv"), nil, "--bounding-set=-sys_admin", bin, "--state-dir", state, "--pid", strconv.Itoa(ng.PID))
	expect(t, r, 3, "NGINX_QUEUE UNKNOWN - cannot enter the network namespace: permission denied (needs CAP_SYS_ADMIN")

	r = run("--listen", "127.0.0.1:9")
	expect(t, r, 2)
	if r.Stdout != "NGINX_QUEUE CRITICAL - nothing listens on 127.0.0.1:9\n" {
		t.Fatalf("got %q", r.Stdout)
	}
	r = run("--port", strconv.Itoa(ng.Port), "--port", "81")
	expect(t, r, 2, "NGINX_QUEUE CRITICAL - nothing listens on port 81", ng.Addr+" accept queue 0/8")

	// A pid of nginx whose listeners are not the requested port.
	r = run("--pid", strconv.Itoa(ng.PID), "--listen", "127.0.0.1:81")
	expect(t, r, 2, fmt.Sprintf("nginx (PID %d) does not listen on 127.0.0.1:81", ng.PID))
}

// TestStubStatus reads a real nginx's stub_status, and the failures: a
// page that is not stub_status, a 404 and a refused connection.
func TestStubStatus(t *testing.T) {
	testenv.Require(t, "nginx")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	// A name of its own, with this test process's whole PID (15
	// characters at most, TASK_COMM_LEN): other tests, of this package in
	// other checkouts too, run nginx at the same time.
	name := fmt.Sprintf("ocnginx%d", os.Getpid())
	ng := testenv.StartNginx(t, testenv.NginxOptions{Name: name})
	state := t.TempDir()
	base := []string{"--state-dir", state, "--listen", ng.Addr}

	// By process name: master and worker, their listening socket.
	r := testenv.RunCheck(t, bin, nil, "--state-dir", state, "--process", name, "--listen", ng.Addr)
	expect(t, r, 0, "NGINX_QUEUE OK - "+ng.Addr+" accept queue 0/8 (0%)")

	r = testenv.RunCheck(t, bin, nil, append(base, "--status-url", ng.StatusURL())...)
	expect(t, r, 0, "NGINX_QUEUE OK", "nginx 1 active connections (reading 0, writing 1, waiting 0)", "handled=")
	testenv.AssertUnmeasured(t, r, "nginx_dropped_rate")
	first := testenv.PerfValue(t, r, "accepts")
	r = testenv.RunCheck(t, bin, nil, append(base, "--status-url", ng.StatusURL())...)
	expect(t, r, 0, "nginx dropped 0/s connections")
	if a := testenv.PerfValue(t, r, "accepts"); a != first+1 {
		t.Fatalf("accepts %v after %v, want one more", a, first)
	}

	// Capacity thresholds: the check's own request is the one active
	// connection, and the runs so far are requests per second.
	r = testenv.RunCheck(t, bin, nil, append(base, "--status-url", ng.StatusURL(), "--active-warning", "0", "--requests-rate-critical", "@0")...)
	expect(t, r, 1, "NGINX_QUEUE WARNING - nginx 1 active connections (reading 0, writing 1, waiting 0)", "active=1;0;;0")
	if rr := testenv.PerfValue(t, r, "requests_rate"); rr <= 0 {
		t.Fatalf("requests_rate %v after three requests, want > 0:\n%s", rr, r.Stdout)
	}

	r = testenv.RunCheck(t, bin, nil, append(base, "--status-url", "http://"+ng.Addr+"/hello")...)
	expect(t, r, 3, "NGINX_QUEUE UNKNOWN - stub_status: http://"+ng.Addr+"/hello: not stub_status output")

	r = testenv.RunCheck(t, bin, nil, append(base, "--status-url", "http://"+ng.Addr+"/missing")...)
	expect(t, r, 3, "NGINX_QUEUE UNKNOWN - stub_status: http://"+ng.Addr+"/missing answered 404 Not Found, expected 200")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	r = testenv.RunCheck(t, bin, nil, append(base, "--status-url", "http://user:s3cret@"+closed+"/nginx_status")...)
	expect(t, r, 2, "NGINX_QUEUE CRITICAL - stub_status: http://user:xxxxx@"+closed+"/nginx_status refused the connection")
	if strings.Contains(r.Stdout, "s3cret") {
		t.Fatalf("password in output:\n%s", r.Stdout)
	}
}

// TestBadInput: every bad input is one UNKNOWN line; a process that does
// not run is CRITICAL.
func TestBadInput(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	state := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		line string
	}{
		{[]string{"--process", "opschecks-no-such-process"}, 2, `NGINX_QUEUE CRITICAL - no process named "opschecks-no-such-process" is running`},
		// nginx removes its pid file when it stops: the service is down.
		{[]string{"--pidfile", state + "/none.pid"}, 2, "NGINX_QUEUE CRITICAL - pid file " + state + "/none.pid does not exist: the service is not running (or this is not its pid file)"},
		{[]string{}, 3, "NGINX_QUEUE UNKNOWN - nothing to check: give --port, --listen, --pid, --pidfile or --process (e.g. --process nginx)"},
		{[]string{"--port", "0"}, 3, "NGINX_QUEUE UNKNOWN - invalid --port \"0\": expected a TCP port from 1 to 65535"},
		{[]string{"--port", "http"}, 3, "NGINX_QUEUE UNKNOWN - invalid --port \"http\": expected a TCP port from 1 to 65535"},
		{[]string{"--listen", "localhost"}, 3, "NGINX_QUEUE UNKNOWN - invalid --listen \"localhost\": expected ADDR:PORT such as 127.0.0.1:8080, [::1]:8080 or *:80"},
		{[]string{"--port", "80", "-w", "90:10"}, 3, "NGINX_QUEUE UNKNOWN - "},
		{[]string{"--pid", "-1"}, 3, `NGINX_QUEUE UNKNOWN - invalid --pid "-1": expected a process ID from 1 to 4194303`},
		{[]string{"--pid", "0"}, 3, `NGINX_QUEUE UNKNOWN - invalid --pid "0": expected a process ID from 1 to 4194303`},
		{[]string{"--port", "80", "--expect-backlog", "0"}, 3, `NGINX_QUEUE UNKNOWN - invalid --expect-backlog 0: expected a number of connections, 1 or more`},
		{[]string{"--port", "80", "--expect-backlog", "many"}, 3, `NGINX_QUEUE UNKNOWN - invalid argument for flag --expect-backlog: "many" is not a whole number`},
		{[]string{"--port", "80", "--status-url", "ftp://x/"}, 3, "NGINX_QUEUE UNKNOWN - invalid --status-url \"ftp://x/\": expected http://HOST[:PORT]/PATH or https://..."},
		{[]string{"--port", "80", "--active-warning", "100"}, 3, "NGINX_QUEUE UNKNOWN - --active-warning is about the stub_status page: give --status-url too"},
		{[]string{"--port", "80", "--requests-rate-critical", "1000"}, 3, "NGINX_QUEUE UNKNOWN - --requests-rate-critical is about the stub_status page: give --status-url too"},
		{[]string{"--port", "80", "--status-url", "http://127.0.0.1/s", "--waiting-critical", "5:1"}, 3, "NGINX_QUEUE UNKNOWN - "},
		// The workers' open files are read only for a process: without
		// one the thresholds are refused, as the stub_status ones are
		// without --status-url (even one given with its default value).
		{[]string{"--port", "80", "--open-files-warning", "50"}, 3, "NGINX_QUEUE UNKNOWN - --open-files-warning is about nginx's workers (their open files against RLIMIT_NOFILE): give --pid, --pidfile or --process too"},
		{[]string{"--listen", "127.0.0.1:80", "--open-files-critical", "95"}, 3, "NGINX_QUEUE UNKNOWN - --open-files-critical is about nginx's workers (their open files against RLIMIT_NOFILE): give --pid, --pidfile or --process too"},
		{[]string{"--pid", "1", "--open-files-warning", "5:1"}, 3, "NGINX_QUEUE UNKNOWN - "},
		{[]string{"--port", "80", "--status-user", "op"}, 3, "NGINX_QUEUE UNKNOWN - --status-user is about the stub_status page: give --status-url too"},
		{[]string{"--port", "80", "--status-url", "http://127.0.0.1/s", "--status-host", "a b"}, 3, `NGINX_QUEUE UNKNOWN - invalid --status-host "a b": expected a host name or address`},
		{[]string{"--port", "80", "--status-url", "http://127.0.0.1/s", "--status-host", "x:99999"}, 3, `NGINX_QUEUE UNKNOWN - invalid --status-host "x:99999"`},
		{[]string{"--port", "80", "--status-url", "http://u:p@127.0.0.1/s", "--status-user", "op", "--status-password-file", "/x"}, 3, "NGINX_QUEUE UNKNOWN - --status-user and a user in --status-url: give the credentials once"},
		{[]string{"--port", "80", "--status-url", "http://127.0.0.1/s", "--status-user", "op"}, 3, "NGINX_QUEUE UNKNOWN - --status-user needs --status-password-file"},
		{[]string{"--port", "80", "--status-url", "http://127.0.0.1/s", "--status-password-file", "/x"}, 3, "NGINX_QUEUE UNKNOWN - --status-password-file needs --status-user"},
		{[]string{"--port", "80", "--status-url", "http://127.0.0.1/s", "--status-user", "op", "--status-password-file", state + "/none"}, 3, "NGINX_QUEUE UNKNOWN - --status-password-file: cannot read " + state + "/none: no such file"},
		{[]string{"--port", "80", "--status-url", "http://127.0.0.1/s", "--status-user", "op", "--status-password-file", "/dev/null"}, 3, "NGINX_QUEUE UNKNOWN - --status-password-file /dev/null is empty: expected the password on its first line"},
		{[]string{"--port", "80", "--status-url", "http://127.0.0.1/s", "--status-user", "op", "--status-password-file", "/dev/zero", "-t", "3"}, 3, "NGINX_QUEUE UNKNOWN - --status-password-file: /dev/zero has no line end in its first 4096 bytes: expected a short first line"},
	} {
		r := testenv.RunCheck(t, bin, nil, append([]string{"--state-dir", state}, tc.args...)...)
		if r.Code != tc.code || !strings.HasPrefix(r.FirstLine(), tc.line) || r.Stderr != "" {
			t.Errorf("%q: exit %d %q (stderr %q), want %d %q", tc.args, r.Code, r.Stdout, r.Stderr, tc.code, tc.line)
		}
		if tc.code == 3 && strings.Count(r.Stdout, "\n") != 1 {
			t.Errorf("%q: UNKNOWN is not one line: %q", tc.args, r.Stdout)
		}
	}
}

// TestHelpSaysWhatItChecks: --help (and with it the man page's NAME and
// DESCRIPTION) names everything the check looks at.
func TestHelpSaysWhatItChecks(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	r := testenv.RunCheck(t, bin, nil, "--help")
	help := strings.Join(strings.Fields(r.Stdout), " ")
	for _, what := range []string{"accept queues", "listen drops", "SYN queue", "syncookies", "softnet", "RLIMIT_NOFILE", "somaxconn", "stub_status", "Tengine"} {
		if !strings.Contains(strings.SplitN(help, "Options:", 2)[0], what) {
			t.Errorf("--help does not say it checks %q:\n%s", what, r.Stdout)
		}
	}
}

// TestUnprivileged: a user who may not read nginx's /proc/PID/fd is told
// which privilege is missing.
func TestUnprivileged(t *testing.T) {
	testenv.Require(t, "root", "nginx")
	setpriv := testenv.Binary(t, "setpriv")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ng := testenv.StartNginx(t, testenv.NginxOptions{})
	r := testenv.RunCheck(t, setpriv, nil, "--reuid=nobody", "--regid=nogroup", "--clear-groups", bin,
		"--state-dir", "/nonexistent", "--pid", strconv.Itoa(ng.PID))
	expect(t, r, 3, fmt.Sprintf("NGINX_QUEUE UNKNOWN - cannot read /proc/%d/fd: permission denied, run as root or as the owner of the process", ng.PID))
}
