package nginx

import (
	"fmt"
	"math"

	"github.com/opschecks/opschecks/internal/plugin"
)

// synCounter is one SYN-queue counter of TcpExt with its perfdata name.
type synCounter struct {
	name, label string
}

// synCounters are judged or reported in this order. In the kernel
// (net/ipv4/tcp_input.c, tcp_conn_request and tcp_syn_flood_action): a
// SYN that finds its listener's SYN queue full (more requests than the
// listen backlog), or any SYN with tcp_syncookies=2, counts
// TCPReqQFullDoCookies and is answered with a cookie (SyncookiesSent)
// when syncookies are on; with them off it counts TCPReqQFullDrop and is
// dropped. SyncookiesFailed counts ACKs whose cookie did not validate.
var synCounters = []synCounter{
	{"TCPReqQFullDrop", "syn_queue_drops"},
	{"TCPReqQFullDoCookies", "syn_queue_cookies"},
	{"SyncookiesSent", "syncookies_sent"},
	{"SyncookiesFailed", "syncookies_failed"},
}

// synPerf is the rate perfdata of the SYN counters, judged by their
// options (NaN rates while there are none).
func synPerf(obs *Observation, o *Options, ready bool) []plugin.Perf {
	pairs := map[string]plugin.Perf{
		"TCPReqQFullDrop":  {Thresholds: o.synDropThresholds()},
		"SyncookiesSent":   {Thresholds: o.syncookieThresholds()},
		"SyncookiesFailed": {Thresholds: o.syncookieFailedThresholds()},
	}
	var out []plugin.Perf
	for _, c := range synCounters {
		p := pairs[c.name]
		p.Label, p.Value, p.Min = c.label+"_rate", math.NaN(), plugin.F(0)
		if ready {
			p.Value = round(obs.KernelRates.PerSecond[c.name])
		}
		out = append(out, p)
	}
	for _, c := range synCounters {
		out = append(out, plugin.Perf{Label: c.label + "_total", Value: float64(obs.Netstat[c.name]), UOM: "c", Min: plugin.F(0)})
	}
	return out
}

// synQueues judges the SYN queue counters' rates. While OK the finding
// stays out of the summary: the accept queue is the line operators read.
func synQueues(res *plugin.Result, obs *Observation, o *Options) {
	perf := synPerf(obs, o, true)
	st := plugin.OK
	for _, p := range perf {
		st = plugin.Worst(st, p.State())
	}
	r := obs.KernelRates.PerSecond
	fd := res.Add(st, fmt.Sprintf("SYN queues: %s/s dropped, %s/s full with cookies (syncookies sent %s/s, failed %s/s)",
		num(r["TCPReqQFullDrop"]), num(r["TCPReqQFullDoCookies"]), num(r["SyncookiesSent"]), num(r["SyncookiesFailed"])), perf...)
	fd.Quiet = true
	if st == plugin.OK {
		return
	}
	fd.Detailf("counted in %s (TcpExt of %s), for all its listeners", obs.where(), obs.NetstatPath)
	if r["TCPReqQFullDrop"] > 0 {
		fd.Detailf("TCPReqQFullDrop: a listener's SYN queue was full and tcp_syncookies is off, so the kernel dropped new SYNs (clients retry after 1 s, 3 s, 7 s): sysctl -w net.ipv4.tcp_syncookies=1; the SYN queue holds as many half-open connections as the listen backlog: raise backlog= on the listen directive with net.core.somaxconn (and net.ipv4.tcp_max_syn_backlog, which without syncookies keeps its last quarter for peers the kernel knows)")
	}
	if obs.Sysctl.Syncookies == 2 && r["SyncookiesSent"] > 0 {
		fd.Detailf("tcp_syncookies is 2: the kernel answers every SYN with a cookie, so these rates count new connections, not overflows")
	} else if r["SyncookiesSent"] > 0 {
		fd.Detailf("SyncookiesSent: a listener's SYN queue overflowed (a burst of connections or a SYN flood) and the kernel answered with cookies; connections still open, but without TCP options that need the SYN (window scaling, SACK) unless timestamps carry them: raise backlog= on the listen directive together with net.core.somaxconn, or find the flood (ss -tn state syn-recv)")
	}
	if r["SyncookiesFailed"] > 0 {
		fd.Detailf("SyncookiesFailed: ACKs whose cookie did not validate: late handshakes (a cookie is valid for about 2 minutes) or forged ACKs (an ACK flood)")
	}
}

// synRecv judges each listener's half-open connections, when counted.
func synRecv(res *plugin.Result, obs *Observation, o *Options) {
	if !obs.SynRecvCounted {
		return
	}
	for _, l := range obs.Listeners {
		fd := res.Judge(fmt.Sprintf("%s SYN_RECV %d (SYN queue limit %d)", l.Name(), l.SynRecv, l.Backlog),
			plugin.Perf{Label: plugin.Label("synrecv", plugin.Endpoint(l.Name())...), Value: float64(l.SynRecv), Thresholds: o.synRecvThresholds(), Min: plugin.F(0)})
		fd.Quiet = true
		if fd.State != plugin.OK {
			fd.Detailf("half-open connections wait for the client's final ACK (lost ACKs, slow or far clients, or a SYN flood from forged addresses: ss -tn state syn-recv sport = :%d shows the peers); beyond %d the kernel sends syncookies (tcp_syncookies=1) or drops SYNs (0)", l.Addr.Port(), l.Backlog)
		}
	}
}
