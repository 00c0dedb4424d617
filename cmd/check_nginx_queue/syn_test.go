package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/testenv"
)

// nstat reads TcpExt counters of the namespace with iproute2's nstat
// (absolute values, its history file in the test's directory): the
// independent reading the check's totals are compared with.
func nstat(t *testing.T, ns *testenv.Netns, names ...string) map[string]float64 {
	t.Helper()
	cmd := ns.Command("nstat", append([]string{"-az"}, names...)...)
	cmd.Env = append(os.Environ(), "NSTAT_HISTORY="+t.TempDir()+"/nstat")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nstat: %v\n%s", err, out)
	}
	v := map[string]float64{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			v[strings.TrimPrefix(f[0], "TcpExt")], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	return v
}

// TestSyncookiesAlways: with tcp_syncookies=2 the kernel answers every
// SYN of the namespace with a cookie; the check's SYN counters follow
// (the same totals as nstat reads) and, when a syncookie range is given,
// the alert says the rates count connections, not overflows.
func TestSyncookiesAlways(t *testing.T) {
	testenv.Require(t, "netns", "nginx", "nstat")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ns := testenv.NewNetns(t, "nginxc")
	ns.Sysctl("net.ipv4.tcp_syncookies", "2")
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns})
	args := []string{"--pidfile", ng.PidFile, "--state-dir", t.TempDir()}

	r := testenv.RunCheck(t, bin, nil, args...)
	expect(t, r, 0, "NGINX_QUEUE OK", "listen drops: collecting baseline")
	const requests = 5
	err := ns.Do(func() error {
		for range requests {
			c, err := net.DialTimeout("tcp", ng.Addr, 2*time.Second)
			if err != nil {
				return err
			}
			fmt.Fprintf(c, "GET /hello HTTP/1.0\r\n\r\n")
			b := make([]byte, 512)
			_, err = c.Read(b)
			c.Close()
			if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200") {
				return fmt.Errorf("request through a syncookie: %q, %v", b, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r = testenv.RunCheck(t, bin, nil, append(args, "--syncookies-warning", "0")...)
	expect(t, r, 1, "NGINX_QUEUE WARNING - SYN queues: 0/s dropped, ")
	if !strings.Contains(r.Stdout, "tcp_syncookies is 2: the kernel answers every SYN with a cookie") {
		t.Errorf("no tcp_syncookies=2 note:\n%s", r.Stdout)
	}
	for _, label := range []string{"syncookies_sent_rate", "syn_queue_cookies_rate"} {
		if v := testenv.PerfValue(t, r, label); v <= 0 {
			t.Errorf("%s %v after %d connections, want > 0", label, v, requests)
		}
	}
	want := nstat(t, ns, "TcpExtSyncookiesSent", "TcpExtTCPReqQFullDoCookies", "TcpExtSyncookiesFailed", "TcpExtTCPReqQFullDrop")
	for label, name := range map[string]string{"syncookies_sent_total": "SyncookiesSent", "syn_queue_cookies_total": "TCPReqQFullDoCookies",
		"syncookies_failed_total": "SyncookiesFailed", "syn_queue_drops_total": "TCPReqQFullDrop"} {
		if got := testenv.PerfValue(t, r, label); got != want[name] {
			t.Errorf("%s = %v, nstat says %s = %v", label, got, name, want[name])
		}
	}
	if got := testenv.PerfValue(t, r, "syncookies_sent_total"); got < requests {
		t.Errorf("syncookies_sent_total %v, want >= %d", got, requests)
	}
}

// TestSynQueueFlood fills a listener's SYN queue for real: nginx's worker
// is stopped, the namespace drops its own SYN-ACKs (so no handshake
// completes) and a flood of connects arrives. The half-open connections
// the check counts per listener are those ss counts; SYNs beyond the
// queue get cookies (tcp_syncookies=1) or are dropped (0), which the
// check rates as the SYN queue's cookies and drops.
func TestSynQueueFlood(t *testing.T) {
	testenv.Require(t, "netns", "nginx", "iptables", "ss")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ns := testenv.NewNetns(t, "nginxs")
	ns.Sysctl("net.ipv4.tcp_syncookies", "1")
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Backlog: 8})
	args := []string{"--pidfile", ng.PidFile, "--state-dir", t.TempDir()}
	r := testenv.RunCheck(t, bin, nil, args...)
	expect(t, r, 0, "NGINX_QUEUE OK")

	ng.Signal(t, syscall.SIGSTOP)
	ns.MustRun("iptables", "-A", "INPUT", "-p", "tcp", "--sport", strconv.Itoa(ng.Port), "--tcp-flags", "SYN,ACK", "SYN,ACK", "-j", "DROP")
	var fds []int
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	flood := func(n int) {
		t.Helper()
		err := ns.Do(func() error {
			for range n {
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return err
				}
				fds = append(fds, fd)
				err = unix.Connect(fd, &unix.SockaddrInet4{Port: ng.Port, Addr: [4]byte{127, 0, 0, 1}})
				if err != unix.EINPROGRESS {
					return fmt.Errorf("connect: %v, want EINPROGRESS", err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the SYNs are handled in softirq
	}
	flood(20)

	r = testenv.RunCheck(t, bin, nil, append(args, "--syn-recv-warning", "4")...)
	ss := ns.MustRun("ss", "-Htn", "state", "syn-recv", "sport", "=", ":"+strconv.Itoa(ng.Port))
	want := strings.Count(ss, "\n")
	t.Logf("flood of 20: %s\nss:\n%s", r.FirstLine(), ss)
	expect(t, r, 1, fmt.Sprintf("NGINX_QUEUE WARNING - %s SYN_RECV %d (SYN queue limit 8)", ng.Addr, want))
	if want < 8 || want > 9 {
		t.Errorf("ss counts %d SYN_RECV sockets, want the queue's 8 or 9 (backlog 8)", want)
	}
	if got := testenv.PerfValue(t, r, "synrecv_127-0-0-1_"+strconv.Itoa(ng.Port)); got != float64(want) {
		t.Errorf("synrecv_%d = %v, ss counts %d", ng.Port, got, want)
	}
	if c := testenv.PerfValue(t, r, "syn_queue_cookies_rate"); c <= 0 {
		t.Errorf("syn_queue_cookies_rate %v: the SYNs beyond the full queue get cookies", c)
	}
	if s := testenv.PerfValue(t, r, "syncookies_sent_total"); s < float64(20-want) {
		t.Errorf("syncookies_sent_total %v, want >= %d", s, 20-want)
	}
	if q := testenv.PerfValue(t, r, "queue_127-0-0-1_"+strconv.Itoa(ng.Port)); q != 0 {
		t.Errorf("accept queue %v: no handshake completed", q)
	}

	// Without syncookies the SYNs beyond the full queue are dropped: the
	// default --syn-drops-warning 0 warns. (The kernel counts them as
	// listen drops too; those ranges are switched off here.)
	ns.Sysctl("net.ipv4.tcp_syncookies", "0")
	flood(10)
	r = testenv.RunCheck(t, bin, nil, append(args, "--drops-warning", "~:", "--drops-critical", "~:")...)
	expect(t, r, 1, "NGINX_QUEUE WARNING - SYN queues: ")
	if d := testenv.PerfValue(t, r, "listen_drops_total") - testenv.PerfValue(t, r, "listen_overflows_total"); d < 10 {
		t.Errorf("listen drops beyond overflows %v, want >= 10 dropped SYNs", d)
	}
	if d := testenv.PerfValue(t, r, "syn_queue_drops_rate"); d <= 0 {
		t.Fatalf("syn_queue_drops_rate %v after 10 SYNs into a full queue without syncookies:\n%s", d, r.Stdout)
	}
	for _, s := range []string{"[WARNING] SYN queues: ", "TCPReqQFullDrop: a listener's SYN queue was full and tcp_syncookies is off"} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, r.Stdout)
		}
	}
}

// TestSoftnetHost reads this host's /proc/net/softnet_stat through the
// binary: with -v it lists every CPU's counters, which are the file's
// (dropped and time_squeeze move rarely: the comparison is retried), and
// the rates are the host's, whichever namespace the check runs in.
func TestSoftnetHost(t *testing.T) {
	testenv.Require(t, "netns")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ns := testenv.NewNetns(t, "nginxn")
	var l net.Listener
	if err := ns.Do(func() (err error) { l, err = net.Listen("tcp", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cpuLine := regexp.MustCompile(`softnet CPU (\d+): processed \d+ dropped (\d+) time_squeeze (\d+)`)
	state := t.TempDir()
	var r testenv.Run
	for try := 0; ; try++ {
		r = testenv.RunCheck(t, "ip", nil, "netns", "exec", ns.Name, bin, "-v", "--state-dir", state, "--listen", l.Addr().String())
		got := map[string]string{}
		for _, m := range cpuLine.FindAllStringSubmatch(r.Stdout, -1) {
			got[m[1]] = m[2] + " " + m[3]
		}
		b, err := os.ReadFile("/proc/net/softnet_stat")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(line)
			cpu := strconv.Itoa(i)
			if len(f) >= 13 {
				c, _ := strconv.ParseUint(f[12], 16, 32)
				cpu = strconv.FormatUint(c, 10)
			}
			d, _ := strconv.ParseUint(f[1], 16, 32)
			s, _ := strconv.ParseUint(f[2], 16, 32)
			want[cpu] = fmt.Sprintf("%d %d", d, s)
		}
		if reflect.DeepEqual(got, want) {
			break
		}
		if try == 5 {
			t.Fatalf("per-CPU dropped and time_squeeze %v, the file says %v:\n%s", got, want, r.Stdout)
		}
	}
	expect(t, r, 0, "NGINX_QUEUE OK - "+l.Addr().String()+" accept queue 0/")
	r = testenv.RunCheck(t, "ip", nil, "netns", "exec", ns.Name, bin, "--state-dir", state, "--listen", l.Addr().String(), "--softnet-drops-critical", "1000000")
	for _, label := range []string{"softnet_dropped_rate", "softnet_squeezed_rate"} {
		if v := testenv.PerfValue(t, r, label); v < 0 {
			t.Errorf("%s %v", label, v)
		}
	}
	if !regexp.MustCompile(`softnet_dropped_rate=[0-9.]+;;1000000;0`).MatchString(r.FirstLine()) {
		t.Errorf("softnet_dropped_rate without its critical range:\n%s", r.FirstLine())
	}
}

// TestWorkerOpenFiles runs nginx with worker_rlimit_nofile 32 and fills
// its worker's descriptors with connections that sent half a request:
// the check's count is the worker's /proc/PID/fd, its limit what prlimit
// reports, and a worker out of descriptors (nginx logs "accept4() failed
// (24: Too many open files)") is CRITICAL with the worker_rlimit_nofile
// hint.
func TestWorkerOpenFiles(t *testing.T) {
	testenv.Require(t, "netns", "nginx", "prlimit")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ns := testenv.NewNetns(t, "nginxf")
	const limit = 32
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Main: fmt.Sprintf("worker_rlimit_nofile %d;", limit)})
	args := []string{"--pidfile", ng.PidFile, "--state-dir", t.TempDir()}
	w := ng.Workers()[0]

	r := testenv.RunCheck(t, bin, nil, args...)
	expect(t, r, 0, "NGINX_QUEUE OK")
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", w))
	if err != nil {
		t.Fatal(err)
	}
	if got := testenv.PerfValue(t, r, "worker_open_files"); got != float64(len(ents)) {
		t.Errorf("worker_open_files %v, /proc/%d/fd has %d entries", got, w, len(ents))
	}
	pl, err := exec.Command("prlimit", "--pid", strconv.Itoa(w), "--nofile", "--noheadings", "--output", "SOFT").Output()
	if err != nil || strings.TrimSpace(string(pl)) != strconv.Itoa(limit) {
		t.Fatalf("prlimit says %q (%v), want %d", pl, err, limit)
	}
	if !strings.Contains(r.Stdout, fmt.Sprintf("nginx worker PID %d: %d open files of %d allowed", w, len(ents), limit)) {
		t.Errorf("no worker line:\n%s", r.Stdout)
	}

	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	err = ns.Do(func() error {
		for range limit {
			c, err := net.DialTimeout("tcp", ng.Addr, 2*time.Second)
			if err != nil {
				return err
			}
			held = append(held, c)
			if _, err := c.Write([]byte("GET /hello HTTP/1.1\r\nHost: x\r\n")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r = runUntil(t, bin, args, 2, 5*time.Second)
	// RLIMIT_NOFILE bounds the numbers of new descriptors, not how many
	// there are: a worker can hold more than its limit (descriptors it
	// inherited from the master), and the percentage then exceeds 100.
	expect(t, r, 2, "NGINX_QUEUE CRITICAL - ")
	m := regexp.MustCompile(fmt.Sprintf(`nginx worker PID %d: (\d+) open files of %d allowed`, w, limit)).FindStringSubmatch(r.FirstLine())
	if m == nil {
		t.Fatalf("no worker finding in the summary:\n%s", r.Stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n < limit || testenv.PerfValue(t, r, "worker_open_files_pct") < 100 {
		t.Errorf("worker at %d of %d open files, want the limit reached:\n%s", n, limit, r.FirstLine())
	}
	if !strings.Contains(r.Stdout, "set worker_rlimit_nofile in nginx.conf's main context") {
		t.Errorf("no worker_rlimit_nofile hint:\n%s", r.Stdout)
	}
	log, _ := os.ReadFile(ng.ErrorLog)
	if !strings.Contains(string(log), "accept4() failed (24: Too many open files)") {
		t.Errorf("nginx's error log lacks the EMFILE of accept4:\n%s", log)
	}
}
