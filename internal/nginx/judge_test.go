package nginx

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/testenv"
)

// Literal pieces of observations for the table.
var (
	baseline  = state.Rates{Note: "collecting baseline"}
	noRates   = state.Rates{Err: errors.New("cannot create state directory /nonexistent: permission denied")}
	sysctls   = Sysctls{Somaxconn: 4096, MaxSynBacklog: 512, Syncookies: 1}
	netstat0  = map[string]uint64{"ListenOverflows": 0, "ListenDrops": 0, "TCPReqQFullDrop": 0, "TCPReqQFullDoCookies": 0, "SyncookiesSent": 0, "SyncookiesFailed": 0}
	kernel0   = kernelRates(nil)
	idle8080  = Listener{Addr: ap("127.0.0.1:8080"), Queue: 0, Backlog: 511, Sockets: 1}
	full8080  = Listener{Addr: ap("127.0.0.1:8080"), Queue: 9, Backlog: 8, Sockets: 1}
	half8080  = Listener{Addr: ap("127.0.0.1:8080"), Queue: 5, Backlog: 8, Sockets: 4}
	busyStub  = &StubStatus{Active: 291, Accepts: 16630948, Handled: 16630948, Requests: 31070465, Reading: 6, Writing: 179, Waiting: 106}
	stubRates = func(dropped float64) state.Rates {
		return state.Rates{PerSecond: map[string]float64{"dropped": dropped, "requests": 120.5, "accepts": 30.25}}
	}
)

// kernelRates are the kernel counters' rates (the namespace's and two
// CPUs' softnet): 0 but those given.
func kernelRates(v map[string]float64) state.Rates {
	r := map[string]float64{}
	for _, n := range append(netstatCounters, "softnet_dropped_cpu0", "softnet_squeezed_cpu0", "softnet_dropped_cpu1", "softnet_squeezed_cpu1") {
		r[n] = v[n]
	}
	return state.Rates{PerSecond: r}
}

var (
	twoCPUs            = []linux.SoftnetStat{{CPU: 0, CPUKnown: true}, {CPU: 1, CPUKnown: true}}
	maxBacklog, budget = int64(1000), int64(300)
)

// worker is a worker with open descriptors under a soft limit (hard 4096).
func worker(pid, open int, soft uint64) WorkerFiles {
	return WorkerFiles{Process: linux.Process{PID: pid, PPID: 12, Comm: "nginx"}, Open: open, Limit: linux.Limit{Name: "Max open files", Soft: soft, Hard: 4096}}
}

// obs is an observation of one idle listener with the given changes.
func obs(change func(*Observation)) *Observation {
	o := &Observation{Netns: "net:[4026531840]", Listeners: []Listener{idle8080}, Sysctl: sysctls,
		Netstat: netstat0, NetstatPath: "/proc/net/netstat", KernelRates: kernel0,
		Softnet: twoCPUs, Netdev: NetdevSysctls{MaxBacklog: &maxBacklog, Budget: &budget}}
	if change != nil {
		change(o)
	}
	return o
}

// TestJudge: every verdict of check_nginx_queue from a literal
// observation and options; nothing is read.
func TestJudge(t *testing.T) {
	tests := []struct {
		name  string
		obs   *Observation
		args  []string
		state plugin.State
		lines []string // substrings of the rendered output
	}{
		{"idle listener, no drops", obs(nil), nil, plugin.OK, []string{
			"NGINX_QUEUE OK - 127.0.0.1:8080 accept queue 0/511 (0%) - listen drops 0/s (overflows 0/s) | queue_127-0-0-1_8080=0;;;0;512 backlog_127-0-0-1_8080=511;;;0 fill_127-0-0-1_8080=0%;50;90;0 somaxconn=4096;;;0 tcp_max_syn_backlog=512;;;0 listen_drops_rate=0;0;10;0 listen_overflows_rate=0;0;10;0 listen_overflows_total=0c;;;0 listen_drops_total=0c;;;0 syn_queue_drops_rate=0;0;;0 syn_queue_cookies_rate=0;;;0 syncookies_sent_rate=0;;;0 syncookies_failed_rate=0;;;0 syn_queue_drops_total=0c;;;0 syn_queue_cookies_total=0c;;;0 syncookies_sent_total=0c;;;0 syncookies_failed_total=0c;;;0 softnet_dropped_rate=0;;;0 softnet_squeezed_rate=0;;;0"}},
		{"full queue", obs(func(o *Observation) { o.Listeners = []Listener{full8080} }), nil, plugin.Critical, []string{
			"NGINX_QUEUE CRITICAL - 127.0.0.1:8080 accept queue 9/8 (112.5%) - listen drops", "queue_127-0-0-1_8080=9;;;0;9", "workers are blocked"}},
		{"half full reuseport", obs(func(o *Observation) { o.Listeners = []Listener{half8080} }), nil, plugin.Warning, []string{
			"WARNING - 127.0.0.1:8080 accept queue 5/8 (62.5%) (fullest of 4 sockets)"}},
		{"half full, own ranges", obs(func(o *Observation) { o.Listeners = []Listener{half8080} }), []string{"-w", "70", "-c", "80"}, plugin.OK, []string{
			"fill_127-0-0-1_8080=62.5%;70;80;0"}},
		{"a requested port nobody serves", obs(func(o *Observation) { o.Missing = []string{"port 81"} }), nil, plugin.Critical, []string{
			"NGINX_QUEUE CRITICAL - nothing listens on port 81 - 127.0.0.1:8080 accept queue 0/511", "start nginx or fix its listen directive"}},
		{"nginx does not listen on a requested address", obs(func(o *Observation) { o.Target = "nginx (PID 12)"; o.Missing = []string{"127.0.0.1:81"} }), nil, plugin.Critical, []string{
			"CRITICAL - nginx (PID 12) does not listen on 127.0.0.1:81"}},
		{"syncookies off", obs(func(o *Observation) { o.Sysctl.Syncookies = 0 }), nil, plugin.OK, []string{
			"tcp_syncookies is 0: a SYN flood or a long SYN queue drops connections; sysctl -w net.ipv4.tcp_syncookies=1"}},
		{"backlog clipped by somaxconn", obs(func(o *Observation) { o.Sysctl.Somaxconn = 511 }), []string{"--expect-backlog", "4096"}, plugin.Warning, []string{
			"WARNING - 127.0.0.1:8080 backlog 511 clipped by net.core.somaxconn 511 (expected 4096)", "sysctl -w net.core.somaxconn=4096", "net.ipv4.tcp_max_syn_backlog=4096"}},
		{"backlog not asked for", obs(nil), []string{"--expect-backlog", "1024"}, plugin.Warning, []string{
			"WARNING - 127.0.0.1:8080 backlog 511 below the expected 1024", "add backlog=1024 to the listen directive of 127.0.0.1:8080"}},
		{"backlog as expected", obs(nil), []string{"--expect-backlog", "511"}, plugin.OK, nil},
		{"drops baseline", obs(func(o *Observation) { o.KernelRates = baseline }), nil, plugin.OK, []string{
			"listen drops: collecting baseline", "listen_drops_total=0c;;;0 syn_queue_drops_total=0c;;;0 syn_queue_cookies_total=0c;;;0 syncookies_sent_total=0c;;;0 syncookies_failed_total=0c;;;0\n",
			"not measured in this run, so left out of the perfdata: listen_drops_rate, listen_overflows_rate, syn_queue_drops_rate, syn_queue_cookies_rate, syncookies_sent_rate, syncookies_failed_rate, softnet_dropped_rate, softnet_squeezed_rate"}},
		{"SYN queue full, syncookies off", obs(func(o *Observation) {
			o.Sysctl.Syncookies = 0
			o.KernelRates = kernelRates(map[string]float64{"TCPReqQFullDrop": 3.5, "ListenDrops": 3.5})
		}), nil, plugin.Warning, []string{
			"NGINX_QUEUE WARNING - listen drops 3.5/s (overflows 0/s) - SYN queues: 3.5/s dropped, 0/s full with cookies (syncookies sent 0/s, failed 0/s) - 127.0.0.1:8080 accept queue",
			"syn_queue_drops_rate=3.5;0;;0", "TCPReqQFullDrop: a listener's SYN queue was full and tcp_syncookies is off", "sysctl -w net.ipv4.tcp_syncookies=1"}},
		{"SYN queue drops critical", obs(func(o *Observation) {
			o.KernelRates = kernelRates(map[string]float64{"TCPReqQFullDrop": 12})
		}), []string{"--syn-drops-critical", "10"}, plugin.Critical, []string{"CRITICAL - SYN queues: 12/s dropped", "syn_queue_drops_rate=12;0;10;0"}},
		{"syncookies sent: only with a range", obs(func(o *Observation) {
			o.KernelRates = kernelRates(map[string]float64{"TCPReqQFullDoCookies": 40, "SyncookiesSent": 40})
		}), nil, plugin.OK, []string{"[OK] SYN queues: 0/s dropped, 40/s full with cookies (syncookies sent 40/s, failed 0/s)"}},
		{"syncookies sent over the range", obs(func(o *Observation) {
			o.KernelRates = kernelRates(map[string]float64{"TCPReqQFullDoCookies": 40, "SyncookiesSent": 40})
		}), []string{"--syncookies-warning", "10", "--syncookies-critical", "100"}, plugin.Warning, []string{
			"WARNING - SYN queues: 0/s dropped, 40/s full with cookies (syncookies sent 40/s, failed 0/s)", "syncookies_sent_rate=40;10;100;0",
			"SyncookiesSent: a listener's SYN queue overflowed"}},
		{"syncookies always on", obs(func(o *Observation) {
			o.Sysctl.Syncookies = 2
			o.KernelRates = kernelRates(map[string]float64{"TCPReqQFullDoCookies": 40, "SyncookiesSent": 40})
		}), []string{"--syncookies-warning", "10"}, plugin.Warning, []string{
			"tcp_syncookies is 2: the kernel answers every SYN with a cookie, so these rates count new connections, not overflows"}},
		{"syncookies failed", obs(func(o *Observation) {
			o.KernelRates = kernelRates(map[string]float64{"SyncookiesFailed": 7})
		}), []string{"--syncookies-failed-critical", "5"}, plugin.Critical, []string{
			"CRITICAL - SYN queues: 0/s dropped, 0/s full with cookies (syncookies sent 0/s, failed 7/s)", "syncookies_failed_rate=7;;5;0", "forged ACKs"}},
		{"softnet drops: only with a range", obs(func(o *Observation) {
			o.KernelRates = kernelRates(map[string]float64{"softnet_dropped_cpu1": 250})
		}), nil, plugin.OK, []string{"softnet_dropped_rate=250;;;0", "[OK] softnet (host-wide, 2 CPUs): 250/s dropped, 0/s squeezed"}},
		{"softnet drops", obs(func(o *Observation) {
			o.KernelRates = kernelRates(map[string]float64{"softnet_dropped_cpu1": 250, "softnet_squeezed_cpu0": 3, "softnet_squeezed_cpu1": 1.5})
		}), []string{"--softnet-drops-warning", "0", "--softnet-drops-critical", "1000"}, plugin.Warning, []string{
			"NGINX_QUEUE WARNING - softnet (host-wide, 2 CPUs): 250/s dropped, 4.5/s squeezed", "softnet_dropped_rate=250;0;1000;0 softnet_squeezed_rate=4.5;;;0",
			"per CPU (/proc/net/softnet_stat, every network namespace of the host): CPU 0 0/s dropped, 3/s squeezed; CPU 1 250/s dropped, 1.5/s squeezed",
			"net.core.netdev_max_backlog (now 1000) packets", "raise net.core.netdev_max_backlog"}},
		{"softnet squeezes, old kernel, no sysctls", obs(func(o *Observation) {
			o.Softnet = []linux.SoftnetStat{{CPU: 0}, {CPU: 1}}
			o.Netdev = NetdevSysctls{}
			o.KernelRates = kernelRates(map[string]float64{"softnet_squeezed_cpu0": 30})
		}), []string{"--softnet-squeeze-critical", "10"}, plugin.Critical, []string{
			"CRITICAL - softnet (host-wide, 2 CPUs): 0/s dropped, 30/s squeezed", "CPUs are numbered by line",
			"out of net.core.netdev_budget packets or netdev_budget_usecs"}},
		{"worker files", obs(func(o *Observation) { o.Workers = []WorkerFiles{worker(13, 20, 1024), worker(14, 40, 1024)} }), nil, plugin.OK, []string{
			"worker_open_files_pct=3.91%;80;95;0;100 worker_open_files=40;;;0;1024", "[OK] nginx fullest of 2 workers, PID 14: 40 open files of 1024 allowed (3.91%)"}},
		{"worker near its limit", obs(func(o *Observation) { o.Workers = []WorkerFiles{worker(13, 900, 1024), worker(14, 30, 65536)} }), nil, plugin.Warning, []string{
			"NGINX_QUEUE WARNING - nginx fullest of 2 workers, PID 13: 900 open files of 1024 allowed (87.89%)", "worker_open_files_pct=87.89%;80;95;0;100",
			"nginx PID 13: 900 open files, RLIMIT_NOFILE 1024 (hard 4096)", "nginx PID 14: 30 open files, RLIMIT_NOFILE 65536", "set worker_rlimit_nofile"}},
		{"worker out of files", obs(func(o *Observation) { o.Workers = []WorkerFiles{worker(13, 32, 32)} }), []string{"--pid", "12"}, plugin.Critical, []string{
			"NGINX_QUEUE CRITICAL - nginx worker PID 13: 32 open files of 32 allowed (100%)", `"Too many open files" (24)`}},
		{"worker without limit", obs(func(o *Observation) {
			w := worker(13, 5000, 0)
			w.Limit.Soft = linux.Unlimited
			o.Workers = []WorkerFiles{w}
		}), nil, plugin.OK, []string{"nginx worker PID 13: 5000 open files of unlimited allowed (0%)", "worker_open_files=5000;;;0 "}},
		{"SYN_RECV counted", obs(func(o *Observation) {
			o.Listeners = []Listener{{Addr: ap("0.0.0.0:80"), Backlog: 511, Sockets: 1, SynRecv: 3}, {Addr: ap("[::]:80"), Backlog: 511, Sockets: 1, SynRecv: 0}}
			o.SynRecvCounted = true
		}), []string{"--syn-recv"}, plugin.OK, []string{"synrecv_80=3;;;0 synrecv_ip6_80=0;;;0", "[OK] 0.0.0.0:80 SYN_RECV 3 (SYN queue limit 511)", "queue_ip6_80=0;;;0;512"}},
		{"SYN_RECV over the range", obs(func(o *Observation) {
			o.Listeners = []Listener{{Addr: ap("127.0.0.1:8080"), Backlog: 8, Sockets: 1, SynRecv: 9}}
			o.SynRecvCounted = true
		}), []string{"--syn-recv-warning", "4"}, plugin.Warning, []string{"NGINX_QUEUE WARNING - 127.0.0.1:8080 SYN_RECV 9 (SYN queue limit 8)",
			"synrecv_127-0-0-1_8080=9;4;;0", "ss -tn state syn-recv sport = :8080", "beyond 8 the kernel sends syncookies"}},
		{"state dir unusable", obs(func(o *Observation) { o.KernelRates = noRates }), nil, plugin.Unknown, []string{
			"NGINX_QUEUE UNKNOWN - listen drops: cannot create state directory /nonexistent", "127.0.0.1:8080 accept queue 0/511"}},
		{"overflows", obs(func(o *Observation) {
			o.KernelRates = kernelRates(map[string]float64{"ListenOverflows": 2, "ListenDrops": 2.5})
			o.Target = "nginx (PID 12)"
			o.NetstatPath = "/proc/12/net/netstat"
		}), nil, plugin.Warning, []string{
			"WARNING - listen drops 2.5/s (overflows 2/s)", "counted in the network namespace of nginx (PID 12) (TcpExt of /proc/12/net/netstat)",
			"ListenOverflows: an accept queue was full", "ListenDrops beyond overflows"}},
		{"many drops", obs(func(o *Observation) {
			o.KernelRates = kernelRates(map[string]float64{"ListenOverflows": 20, "ListenDrops": 20})
		}), nil, plugin.Critical, []string{"CRITICAL - listen drops 20/s (overflows 20/s)", "counted in this host's network namespace"}},
		{"stub_status", obs(func(o *Observation) { o.Stub = busyStub; o.StubRates = baseline }), nil, plugin.OK, []string{
			"nginx 291 active connections (reading 6, writing 179, waiting 106)", "nginx dropped connections: collecting baseline",
			"active=291;;;0 reading=6;;;0 writing=179;;;0 waiting=106;;;0 accepts=16630948c;;;0 handled=16630948c;;;0 requests=31070465c;;;0", "not measured in this run, so left out of the perfdata: nginx_dropped_rate"}},
		{"tengine's request_time", obs(func(o *Observation) {
			o.Stub = &StubStatus{Active: 3, Accepts: 1127, Handled: 1127, Requests: 4056, Writing: 1, Waiting: 2,
				Counters: []Column{{"request_time", 98321}}, Gauges: []Column{{"Queued.x", 4}, {"Queued:x", 5}}}
			o.StubRates = baseline
		}), nil, plugin.OK, []string{
			// Queued.x and Queued:x: two columns, two labels (the
			// first label scheme wrote both stub_queued-x).
			"requests=4056c;;;0 stub_request_time=98321c;;;0 " + plugin.Label("stub", "Queued.x") + "=4;;;0 " + plugin.Label("stub", "Queued:x") + "=5;;;0 listen_drops_rate",
			"stub_status column Queued.x: 4 (perfdata " + plugin.Label("stub", "Queued.x") + ")",
			"stub_status column request_time: 98321 (perfdata stub_request_time)"}},
		{"further columns are capped", obs(func(o *Observation) {
			st := *busyStub
			for i := range maxStubColumns + 3 {
				st.Counters = append(st.Counters, Column{fmt.Sprintf("c%d", i), int64(i)})
			}
			st.Gauges = []Column{{"Queued", 7}}
			o.Stub, o.StubRates = &st, baseline
		}), nil, plugin.OK, []string{
			fmt.Sprintf("stub_c%d=%dc;;;0 listen_drops_rate", maxStubColumns-1, maxStubColumns-1),
			fmt.Sprintf("stub_status column c%d: %d (perfdata stub_c%d)", maxStubColumns-1, maxStubColumns-1, maxStubColumns-1),
			fmt.Sprintf("4 further stub_status columns left out of the perfdata (at most %d become perfdata): c%d c%d c%d Queued", maxStubColumns, maxStubColumns, maxStubColumns+1, maxStubColumns+2)}},
		{"nginx drops connections", obs(func(o *Observation) { o.Stub = busyStub; o.StubRates = stubRates(2) }), nil, plugin.Warning, []string{
			"WARNING - nginx dropped 2/s connections (accepts - handled)", "raise worker_connections (and worker_rlimit_nofile)"}},
		{"throughput", obs(func(o *Observation) { o.Stub = busyStub; o.StubRates = stubRates(0) }), nil, plugin.OK, []string{
			"nginx dropped 0/s connections (accepts - handled) | ", "nginx_dropped_rate=0;0;10;0 requests_rate=120.5;;;0 accepts_rate=30.25;;;0",
			"[OK] nginx 120.5 requests/s, 30.25 connections accepted/s"}},
		{"throughput baseline", obs(func(o *Observation) { o.Stub = busyStub; o.StubRates = baseline }), nil, plugin.OK, []string{
			"not measured in this run, so left out of the perfdata: nginx_dropped_rate, requests_rate, accepts_rate"}},
		{"requests rate over its range", obs(func(o *Observation) { o.Stub = busyStub; o.StubRates = stubRates(0) }),
			[]string{"--status-url", "http://x/s", "--requests-rate-warning", "100", "--requests-rate-critical", "1000", "--accepts-rate-critical", "@~:1"}, plugin.Warning, []string{
				"NGINX_QUEUE WARNING - nginx 120.5 requests/s, 30.25 connections accepted/s -", "requests_rate=120.5;100;1000;0 accepts_rate=30.25;;@~:1;0"}},
		{"accepts rate too low", obs(func(o *Observation) {
			o.Stub = busyStub
			o.StubRates = state.Rates{PerSecond: map[string]float64{"accepts": 0.5}}
		}),
			[]string{"--status-url", "http://x/s", "--accepts-rate-critical", "@~:1"}, plugin.Critical, []string{
				"NGINX_QUEUE CRITICAL - nginx 0 requests/s, 0.5 connections accepted/s"}},
		{"active over its range", obs(func(o *Observation) { o.Stub = busyStub; o.StubRates = baseline }),
			[]string{"--status-url", "http://x/s", "--active-warning", "200", "--active-critical", "1000"}, plugin.Warning, []string{
				"NGINX_QUEUE WARNING - nginx 291 active connections (reading 6, writing 179, waiting 106)", "active=291;200;1000;0",
				"291 active connections are outside the warning range: every worker holds at most worker_connections"}},
		{"waiting over its range", obs(func(o *Observation) { o.Stub = busyStub; o.StubRates = baseline }),
			[]string{"--status-url", "http://x/s", "--active-warning", "1000", "--waiting-critical", "100"}, plugin.Critical, []string{
				"NGINX_QUEUE CRITICAL - nginx 291 active connections", "active=291;1000;;0", "waiting=106;;100;0",
				"106 idle keep-alive connections are outside the critical range: each holds a worker_connections slot"}},
		{"nginx drops many", obs(func(o *Observation) { o.Stub = busyStub; o.StubRates = stubRates(20) }), nil, plugin.Critical, []string{
			"CRITICAL - nginx dropped 20/s connections"}},
		{"status refused", obs(func(o *Observation) {
			o.StubErr = &FetchError{Kind: FetchRefused, Msg: "http://127.0.0.1:9/s refused the connection"}
		}), nil, plugin.Critical, []string{
			"CRITICAL - stub_status: http://127.0.0.1:9/s refused the connection", "nginx is not running or does not listen there"}},
		{"status refused, nginx in another namespace, loopback URL", obs(func(o *Observation) {
			o.NetnsElsewhere, o.Netns = true, "net:[4026532999]"
			o.StubErr = &FetchError{Kind: FetchRefused, Msg: "http://127.0.0.1:8080/s refused the connection"}
		}), []string{"--status-url", "http://127.0.0.1:8080/s"}, plugin.Unknown, []string{
			"UNKNOWN - stub_status: http://127.0.0.1:8080/s refused the connection",
			"the check fetches --status-url from its own network namespace, and nginx runs in another (net:[4026532999]), so 127.0.0.1 is reached from the check's side"}},
		{"status refused, nginx in another namespace, its address", obs(func(o *Observation) {
			o.NetnsElsewhere = true
			o.StubErr = &FetchError{Kind: FetchRefused, Msg: "http://172.17.0.2/s refused the connection"}
		}), []string{"--status-url", "http://172.17.0.2/s"}, plugin.Critical, []string{
			"CRITICAL - stub_status: http://172.17.0.2/s refused the connection", "so 172.17.0.2 is reached from the check's side"}},
		{"status unanswered", obs(func(o *Observation) {
			o.StubErr = &FetchError{Kind: FetchNoAnswer, Msg: "cannot fetch http://x/s: closed"}
		}), nil, plugin.Critical, []string{
			`look for "worker_connections are not enough" in its error log`}},
		{"status certificate", obs(func(o *Observation) {
			o.StubErr = &FetchError{Kind: FetchTLSVerify, Msg: "cannot fetch https://x/s: x509"}
		}), nil, plugin.Critical, []string{
			"SSL_CERT_FILE=/path/to/ca.pem", "--status-insecure"}},
		{"status network", obs(func(o *Observation) {
			o.StubErr = &FetchError{Kind: FetchNetwork, Msg: "cannot fetch http://x/s: no route to host"}
		}), nil, plugin.Critical, []string{
			"CRITICAL - stub_status: cannot fetch http://x/s: no route to host"}},
		{"status 404", obs(func(o *Observation) {
			o.StubErr = &FetchError{Kind: FetchStatus, Msg: "http://x/s answered 404 Not Found, expected 200"}
		}), nil, plugin.Unknown, []string{
			"UNKNOWN - stub_status: http://x/s answered 404 Not Found", "allow 127.0.0.1;"}},
		{"status 401", obs(func(o *Observation) {
			o.StubErr = &FetchError{Kind: FetchStatus, Code: 401, Msg: "http://x/s answered 401 Unauthorized, expected 200"}
		}), nil, plugin.Unknown, []string{"UNKNOWN - stub_status: http://x/s answered 401 Unauthorized", "give --status-user and --status-password-file"}},
		{"status not stub_status", obs(func(o *Observation) {
			o.StubErr = &FetchError{Kind: FetchNotStub, Msg: "http://x/s: not stub_status output"}
		}), nil, plugin.Unknown, []string{
			"UNKNOWN - stub_status: http://x/s: not stub_status output", `a location with "stub_status;"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testenv.ParseOptions[Options](t, append([]string{"--port", "8080"}, tc.args...)...)
			res, err := Judge(tc.obs, o, 0)
			if err != nil {
				t.Fatal(err)
			}
			out, st := plugin.Render("NGINX_QUEUE", res)
			if st != tc.state {
				t.Errorf("state %v, want %v:\n%s", st, tc.state, out)
			}
			for _, l := range tc.lines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
		})
	}
}

// TestJudgeNothingListens: no listener at all is one CRITICAL line,
// worded after how the check was told where to look.
func TestJudgeNothingListens(t *testing.T) {
	for _, tc := range []struct {
		target  string
		missing []string
		want    string
	}{
		{"", []string{"127.0.0.1:9"}, "nothing listens on 127.0.0.1:9"},
		{"", []string{"port 80", "port 81"}, "nothing listens on port 80, port 81"},
		{"nginx (PID 12)", []string{"port 81"}, "nginx (PID 12) does not listen on port 81"},
		{"nginx (PID 12)", nil, "nginx (PID 12) has no listening TCP socket"},
	} {
		o := testenv.ParseOptions[Options](t, "--port", "80")
		_, err := Judge(&Observation{Target: tc.target, Missing: tc.missing}, o, 0)
		if err == nil || err.Error() != tc.want || plugin.StateOf(err) != plugin.Critical {
			t.Errorf("%q %q: %v (%v), want CRITICAL %q", tc.target, tc.missing, err, plugin.StateOf(err), tc.want)
		}
	}
}
