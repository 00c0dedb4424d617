package nginx

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Judge turns an observation and the options into the result; it reads
// nothing. Nothing listening where the check was told to look is a
// CRITICAL error: there is no queue to judge.
func Judge(obs *Observation, o *Options, verbose int) (*plugin.Result, error) {
	res := &plugin.Result{}
	if err := queues(res, obs, o); err != nil {
		return nil, err
	}
	synRecv(res, obs, o)
	openFiles(res, obs, o)
	audit(res, obs, o)
	stubStatus(res, obs, o)
	if kernelDrops(res, obs, o) {
		synQueues(res, obs, o)
		softnet(res, obs, o)
	}
	nginxRates(res, obs, o)
	if verbose > 0 {
		res.Detailf("network namespace %s; %d listening socket(s) selected", obs.Netns, len(obs.Sockets))
		for _, s := range obs.Sockets {
			res.Detailf("socket %s inode %d queue %d backlog %d uid %d", s.Src, s.Inode, s.RQueue, s.WQueue, s.UID)
		}
		for _, c := range obs.Softnet {
			res.Detailf("softnet CPU %d: processed %d dropped %d time_squeeze %d", c.CPU, c.Processed, c.Dropped, c.TimeSqueeze)
		}
	}
	return res, nil
}

// where names the namespace whose counters are read, for the details.
func (obs *Observation) where() string {
	if obs.Target == "" {
		return "this host's network namespace"
	}
	return "the network namespace of " + obs.Target
}

const queueHint = "the kernel holds connections nginx has not accept()ed yet: workers are blocked or busy (CPU, blocking upstream or disk, stopped process) or worker_connections is exhausted; look at the workers (top, strace -p), then raise backlog= on the listen directive together with net.core.somaxconn to absorb bursts"

// queues judges each listener's accept queue against its backlog.
func queues(res *plugin.Result, obs *Observation, o *Options) error {
	if len(obs.Listeners) == 0 {
		switch {
		case len(obs.Missing) > 0 && obs.Target != "":
			return plugin.Errorf(plugin.Critical, "%s does not listen on %s", obs.Target, strings.Join(obs.Missing, ", "))
		case len(obs.Missing) > 0:
			return plugin.Errorf(plugin.Critical, "nothing listens on %s", strings.Join(obs.Missing, ", "))
		default:
			return plugin.Errorf(plugin.Critical, "%s has no listening TCP socket", obs.Target)
		}
	}
	for _, m := range obs.Missing {
		what := "nothing listens on " + m
		if obs.Target != "" {
			what = obs.Target + " does not listen on " + m
		}
		res.Add(plugin.Critical, what).Detailf("start nginx or fix its listen directive (or the --port/--listen of this check)")
	}
	for _, l := range obs.Listeners {
		// Labels of the scheme (plugin.Label), from the listener's address:
		// queue_8080 for 0.0.0.0:8080, queue_ip6_8080 for [::]:8080,
		// queue_127-0-0-1_8080, queue_ip6--1_8080 for [::1]:8080. Never a
		// position: another address on the port renames no graph.
		ep := plugin.Endpoint(l.Name())
		fill := plugin.Perf{Label: plugin.Label("fill", ep...), Value: round(l.Fill()), UOM: "%", Thresholds: o.fillThresholds(), Min: plugin.F(0)}
		st := fill.State()
		text := fmt.Sprintf("%s accept queue %d/%d (%s%%)", l.Name(), l.Queue, l.Backlog, num(fill.Value))
		if l.Sockets > 1 {
			text += fmt.Sprintf(" (fullest of %d sockets)", l.Sockets)
		}
		f := res.Add(st, text,
			plugin.Perf{Label: plugin.Label("queue", ep...), Value: float64(l.Queue), Min: plugin.F(0), Max: plugin.F(float64(l.Backlog) + 1)},
			plugin.Perf{Label: plugin.Label("backlog", ep...), Value: float64(l.Backlog), Min: plugin.F(0)},
			fill,
		)
		if st != plugin.OK {
			f.Detailf("%s", queueHint)
		}
	}
	return nil
}

// audit reports the namespace's settings and, with --expect-backlog,
// judges each listener's backlog.
func audit(res *plugin.Result, obs *Observation, o *Options) {
	sc := obs.Sysctl
	fd := res.Add(plugin.OK, fmt.Sprintf("net.core.somaxconn %d, tcp_max_syn_backlog %d, tcp_syncookies %d", sc.Somaxconn, sc.MaxSynBacklog, sc.Syncookies),
		plugin.Perf{Label: "somaxconn", Value: float64(sc.Somaxconn), Min: plugin.F(0)},
		plugin.Perf{Label: "tcp_max_syn_backlog", Value: float64(sc.MaxSynBacklog), Min: plugin.F(0)},
	)
	fd.Quiet = true
	if sc.Syncookies == 0 {
		fd.Detailf("tcp_syncookies is 0: a SYN flood or a long SYN queue drops connections; sysctl -w net.ipv4.tcp_syncookies=1")
	}
	if o.ExpectBacklog == nil {
		return
	}
	want := int64(*o.ExpectBacklog)
	for _, l := range obs.Listeners {
		b := int64(l.Backlog)
		switch {
		case b >= want:
		case b == sc.Somaxconn:
			res.Add(plugin.Warning, fmt.Sprintf("%s backlog %d clipped by net.core.somaxconn %d (expected %d)", l.Name(), b, sc.Somaxconn, want)).
				Detailf("the kernel caps listen(2)'s backlog at net.core.somaxconn: sysctl -w net.core.somaxconn=%d, persist it in /etc/sysctl.d/, then restart nginx so it calls listen() again", want).
				Detailf("with a larger backlog also consider net.ipv4.tcp_max_syn_backlog=%d", max(want, sc.MaxSynBacklog))
		default:
			res.Add(plugin.Warning, fmt.Sprintf("%s backlog %d below the expected %d", l.Name(), b, want)).
				Detailf("nginx asks for 511 unless told: add backlog=%d to the listen directive of %s and reload nginx", want, l.Name())
		}
	}
}

// stubStatus reports the stub_status page, or why it could not be read.
func stubStatus(res *plugin.Result, obs *Observation, o *Options) {
	if e := obs.StubErr; e != nil {
		st, hint := fetchVerdict(e)
		if obs.NetnsElsewhere && (e.Kind == FetchRefused || e.Kind == FetchNoAnswer || e.Kind == FetchNetwork) {
			st, hint = elsewhereVerdict(st, obs, o)
		}
		f := res.Add(st, "stub_status: "+e.Msg)
		if hint != "" {
			f.Detailf("%s", hint)
		}
		return
	}
	s := obs.Stub
	if s == nil {
		return
	}
	active := plugin.Perf{Label: "active", Value: float64(s.Active), Thresholds: thresholds.NewPair(o.ActiveWarning, o.ActiveCritical), Min: plugin.F(0)}
	waiting := plugin.Perf{Label: "waiting", Value: float64(s.Waiting), Thresholds: thresholds.NewPair(o.WaitingWarning, o.WaitingCritical), Min: plugin.F(0)}
	f := res.Add(plugin.Worst(active.State(), waiting.State()), fmt.Sprintf("nginx %d active connections (reading %d, writing %d, waiting %d)", s.Active, s.Reading, s.Writing, s.Waiting),
		active,
		plugin.Perf{Label: "reading", Value: float64(s.Reading), Min: plugin.F(0)},
		plugin.Perf{Label: "writing", Value: float64(s.Writing), Min: plugin.F(0)},
		waiting,
		plugin.Perf{Label: "accepts", Value: float64(s.Accepts), UOM: "c", Min: plugin.F(0)},
		plugin.Perf{Label: "handled", Value: float64(s.Handled), UOM: "c", Min: plugin.F(0)},
		plugin.Perf{Label: "requests", Value: float64(s.Requests), UOM: "c", Min: plugin.F(0)},
	)
	if st := active.State(); st != plugin.OK {
		f.Detailf("%d active connections are outside the %s range: every worker holds at most worker_connections of them (worker_processes x worker_connections is nginx's ceiling, including upstream connections)", s.Active, strings.ToLower(st.String()))
	}
	if st := waiting.State(); st != plugin.OK {
		f.Detailf("%d idle keep-alive connections are outside the %s range: each holds a worker_connections slot; lower keepalive_timeout or keepalive_requests to free them sooner", s.Waiting, strings.ToLower(st.String()))
	}
	// A fork's further columns (Tengine's request_time) become perfdata
	// under stub_NAME: counters of the accepts row as counters, further
	// Name: N pairs as gauges; the first maxStubColumns of them, the rest
	// named in the long output.
	seen := map[string]bool{}
	var left []string
	for i, c := range append(append([]Column(nil), s.Counters...), s.Gauges...) {
		label := plugin.Label("stub", plugin.Split(c.Name, "_")...)
		if seen[label] {
			continue
		}
		if len(seen) == maxStubColumns {
			left = append(left, c.Name)
			continue
		}
		seen[label] = true
		p := plugin.Perf{Label: label, Value: float64(c.Value), Min: plugin.F(0)}
		if i < len(s.Counters) {
			p.UOM = "c"
		}
		f.Perf = append(f.Perf, p)
		f.Detailf("stub_status column %s: %d (perfdata %s)", plugin.Clip(c.Name, 40), c.Value, label)
	}
	if len(left) > 0 {
		f.Detailf("%d further stub_status columns left out of the perfdata (at most %d become perfdata): %s", len(left), maxStubColumns, plugin.Clip(strings.Join(left, " "), 400))
	}
}

// maxStubColumns bounds the further columns of a status page that become
// perfdata. The forks add few (Tengine one, request_time; Angie and
// freenginx none), while a page of thousands (a broken or hostile status
// location, within the 64 KiB read) would make as many metrics: a graph
// and a database file each in every consumer, and a first line far past
// the 8 KiB of plugin output Nagios 4 reads (MAX_PLUGIN_OUTPUT_LENGTH).
// Sixteen leaves room for any fork we know of.
const maxStubColumns = 16

// fetchVerdict is the state of a status page that could not be read: a
// refused or unanswered connection is nginx down or out of room
// (CRITICAL), an answer that is not the page is a wrong --status-url
// (UNKNOWN).
func fetchVerdict(e *FetchError) (plugin.State, string) {
	switch e.Kind {
	case FetchRefused:
		return plugin.Critical, "nginx is not running or does not listen there: check systemctl status nginx and the listen directive of the status server"
	case FetchNoAnswer:
		return plugin.Critical, "nginx closes connections it has no room for when worker_connections are exhausted: look for \"worker_connections are not enough\" in its error log"
	case FetchTLSVerify:
		return plugin.Critical, "give the CA that signed nginx's certificate with SSL_CERT_FILE=/path/to/ca.pem in the check's environment, or skip verification with --status-insecure"
	case FetchStatus:
		if e.Code == 401 {
			return plugin.Unknown, "the status location asks for a password (auth_basic): give --status-user and --status-password-file"
		}
		return plugin.Unknown, "point --status-url at a location with \"stub_status;\" that allows this host (allow 127.0.0.1;); on a name-based virtual host reached by address, give its name with --status-host"
	case FetchNotStub:
		return plugin.Unknown, "point --status-url at a location with \"stub_status;\""
	}
	return plugin.Critical, ""
}

// elsewhereVerdict is the state and hint of a status page that could not
// be reached while nginx runs in another network namespace than the
// check, which fetches --status-url from its own. A loopback URL there
// cannot reach this nginx at all: the URL is wrong (UNKNOWN), not nginx
// down (its listeners were just found).
func elsewhereVerdict(st plugin.State, obs *Observation, o *Options) (plugin.State, string) {
	host := "this address"
	if u, err := url.Parse(o.StatusURL); err == nil {
		host = u.Hostname()
		if a, err := netip.ParseAddr(host); host == "localhost" || err == nil && a.IsLoopback() {
			st = plugin.Unknown
		}
	}
	return st, fmt.Sprintf("the check fetches --status-url from its own network namespace, and nginx runs in another (%s), so %s is reached from the check's side: give an address of nginx's namespace that the check's namespace can reach (a container's address), or run the check inside nginx's namespace (nsenter --net=/proc/PID/ns/net or ip netns exec)", obs.Netns, host)
}

// kernelDrops judges the namespace's listen drops per second. Without
// rates this run (a baseline, an unusable state file) its one finding
// carries every kernel rate as not measured (NaN: left out of the
// perfdata and named in the long output) with the totals, and it returns
// false.
func kernelDrops(res *plugin.Result, obs *Observation, o *Options) bool {
	pair := o.dropThresholds()
	perf := func(r float64, name string) plugin.Perf {
		return plugin.Perf{Label: name, Value: r, Thresholds: pair, Min: plugin.F(0)}
	}
	totals := []plugin.Perf{
		{Label: "listen_overflows_total", Value: float64(obs.Netstat["ListenOverflows"]), UOM: "c", Min: plugin.F(0)},
		{Label: "listen_drops_total", Value: float64(obs.Netstat["ListenDrops"]), UOM: "c", Min: plugin.F(0)},
	}
	if st, why, ready := obs.KernelRates.Pending(); !ready {
		more := append([]plugin.Perf{perf(math.NaN(), "listen_overflows_rate")}, totals...)
		more = append(append(more, synPerf(obs, o, false)...), softnetPerf(obs, o, false)...)
		res.Add(st, "listen drops: "+why, append([]plugin.Perf{perf(math.NaN(), "listen_drops_rate")}, more...)...)
		return false
	}
	dr, or := obs.KernelRates.PerSecond["ListenDrops"], obs.KernelRates.PerSecond["ListenOverflows"]
	fd := res.Judge(fmt.Sprintf("listen drops %s/s (overflows %s/s)", num(dr), num(or)),
		perf(round(dr), "listen_drops_rate"), append([]plugin.Perf{perf(round(or), "listen_overflows_rate")}, totals...)...)
	if fd.State == plugin.OK {
		return true
	}
	fd.Detailf("counted in %s (TcpExt of %s), for all its listeners", obs.where(), obs.NetstatPath)
	if or > 0 {
		fd.Detailf("ListenOverflows: an accept queue was full and the kernel dropped the SYN or the handshake's last ACK; %s", queueHint)
	}
	if dr > or {
		fd.Detailf("ListenDrops beyond overflows: SYNs dropped for other reasons: a full SYN queue without syncookies (the SYN queues line), memory pressure, no route back")
	}
	return true
}

// nginxRates judges the connections nginx accepted and closed at once
// (stub_status accepts - handled) per second, and the request and accept
// rates against the capacity thresholds.
func nginxRates(res *plugin.Result, obs *Observation, o *Options) {
	if obs.Stub == nil {
		return
	}
	dropped := plugin.Perf{Label: "nginx_dropped_rate", Value: math.NaN(), Thresholds: o.dropThresholds(), Min: plugin.F(0)}
	requests := plugin.Perf{Label: "requests_rate", Value: math.NaN(), Thresholds: thresholds.NewPair(o.RequestsRateWarning, o.RequestsRateCritical), Min: plugin.F(0)}
	accepts := plugin.Perf{Label: "accepts_rate", Value: math.NaN(), Thresholds: thresholds.NewPair(o.AcceptsRateWarning, o.AcceptsRateCritical), Min: plugin.F(0)}
	if st, why, ready := obs.StubRates.Pending(); !ready {
		res.Add(st, "nginx dropped connections: "+why, dropped, requests, accepts)
		return
	}
	r := obs.StubRates.PerSecond
	dropped.Value, requests.Value, accepts.Value = round(r["dropped"]), round(r["requests"]), round(r["accepts"])
	fd := res.Judge(fmt.Sprintf("nginx dropped %s/s connections (accepts - handled)", num(r["dropped"])), dropped)
	if fd.State != plugin.OK {
		fd.Detailf("nginx accepted connections and closed them at once: worker_connections is exhausted; raise worker_connections (and worker_rlimit_nofile) or add workers")
	}
	ft := res.Add(plugin.Worst(requests.State(), accepts.State()), fmt.Sprintf("nginx %s requests/s, %s connections accepted/s", num(r["requests"]), num(r["accepts"])), requests, accepts)
	ft.Quiet = true
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

func num(v float64) string { return strconv.FormatFloat(round(v), 'f', -1, 64) }
