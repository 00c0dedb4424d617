package conntrack

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Judge turns an observation and the options into the result. It reads
// nothing. While the drops and the timeout are OK they stay out of the
// summary (they are in the long output): the table's fill is the line an
// operator reads, and a summary of several findings is joined with "; ",
// which Nagios 4 rewrites to ": " in the plugin output it records.
func Judge(obs Observation, o *Options) *plugin.Result {
	res := &plugin.Result{}
	if !obs.InUse {
		f := res.Add(plugin.OK, "connection tracking not in use")
		f.Detailf("the kernel tracks no connections in %s: the nf_conntrack module is not loaded (no /proc/sys/net/netfilter/nf_conntrack_count), so no flow can be dropped for a full table", obs.Netns.Desc)
		return res
	}
	judgeFill(res, obs, o)
	judgeDrops(res, obs, o)
	judgeTimeout(res, obs)
	return res
}

// judgeFill compares the namespace's entries with the global maximum.
func judgeFill(res *plugin.Result, obs Observation, o *Options) {
	if obs.Count < 0 {
		// A count of entries is never below zero: such a value comes
		// from a broken procfs tree (a fixture, a container runtime's
		// synthetic /proc), and is no fill to judge.
		res.Add(plugin.Unknown, fmt.Sprintf("nf_conntrack_count is %d in %s: not a number of entries, the table cannot be judged", obs.Count, obs.Netns.Desc))
		return
	}
	if obs.Max == 0 {
		noLimit(res, obs)
		return
	}
	pct := 0.0
	if obs.Max > 0 {
		pct = float64(obs.Count) * 100 / float64(obs.Max)
	}
	text := fmt.Sprintf("conntrack table %s%% full (%d of %d entries) in %s", num(pct), obs.Count, obs.Max, obs.Netns.Desc)
	f := res.Judge(text,
		plugin.Perf{Label: "used", Value: round(pct), UOM: "%", Thresholds: o.Fill(), Min: plugin.F(0), Max: plugin.F(100)},
		plugin.Perf{Label: "entries", Value: float64(obs.Count), Min: plugin.F(0), Max: plugin.F(float64(obs.Max))},
		plugin.Perf{Label: "max", Value: float64(obs.Max), Min: plugin.F(0)},
		plugin.Perf{Label: "buckets", Value: float64(obs.Buckets), Min: plugin.F(0)},
	)
	st := f.State
	if obs.Max <= 0 {
		f.State = plugin.Unknown
		f.Text = fmt.Sprintf("nf_conntrack_max is %d: the table cannot be judged", obs.Max)
		return
	}
	target := obs.Max // the maximum the hash table should be sized for
	if st != plugin.OK {
		target = nextPow2(2 * obs.Max)
		f.Detailf("when the table is full the kernel evicts unreplied entries (early_drop), then drops the first packet of every new flow (kernel log: \"nf_conntrack: table full, dropping packet\")")
		where := ""
		if obs.Netns.Enter != "" {
			where = " on the host (nf_conntrack_max is global: one limit that every network namespace applies to its own entries)"
		}
		f.Detailf("fix%s: sysctl -w net.netfilter.nf_conntrack_max=%d", where, target)
		f.Detailf("persist it: echo 'net.netfilter.nf_conntrack_max = %d' >> /etc/sysctl.d/90-conntrack.conf", target)
	}
	// Since Linux 5.15 the kernel sets nf_conntrack_max to the bucket count
	// by default (4 times it before), and hashes every entry twice (both
	// directions): a full table then has chains of 2 entries
	// (Documentation/networking/nf_conntrack-sysctl.rst). A bucket costs a
	// pointer, an entry a whole struct nf_conn: buckets are cheap.
	if obs.Buckets > 0 && (target > 4*obs.Buckets || (st != plugin.OK && target > obs.Buckets)) {
		f.Detailf("the hash table has %d buckets for up to %d entries: a full table walks chains of about %d entries per packet", obs.Buckets, target, 2*target/obs.Buckets)
		f.Detailf("resize it on the host: echo %d > /sys/module/nf_conntrack/parameters/hashsize; persist: echo 'options nf_conntrack hashsize=%d' > /etc/modprobe.d/nf_conntrack.conf (nf_conntrack.hashsize=%d on the kernel command line when it is built in)", target, target, target)
	}
}

// noLimit reports a table without a maximum: the kernel compares the
// count with nf_conntrack_max only when it is set (nf_conntrack_alloc,
// net/netfilter/nf_conntrack_core.c: "if (nf_conntrack_max && ..."), so
// 0 means no table-full drops, and no fill to judge.
func noLimit(res *plugin.Result, obs Observation) {
	f := res.Add(plugin.OK, fmt.Sprintf("conntrack table has no limit (nf_conntrack_max 0): %d entries in %s", obs.Count, obs.Netns.Desc),
		plugin.Perf{Label: "used", Value: math.NaN(), UOM: "%", Min: plugin.F(0), Max: plugin.F(100)},
		plugin.Perf{Label: "entries", Value: float64(obs.Count), Min: plugin.F(0)},
		plugin.Perf{Label: "max", Value: 0, Min: plugin.F(0)},
		plugin.Perf{Label: "buckets", Value: float64(obs.Buckets), Min: plugin.F(0)},
	)
	f.Detailf("nf_conntrack_max 0 is no limit: the kernel never drops a packet for a full table, and the table grows with the flows until memory runs out (a flood of new flows can exhaust it)")
	f.Detailf("to set one on the host: sysctl -w net.netfilter.nf_conntrack_max=%d (persist it in /etc/sysctl.d/90-conntrack.conf)", max(obs.Buckets, nextPow2(2*obs.Count)))
}

// dropCounter is a per-CPU counter whose increase is judged.
type dropCounter struct {
	name string
	what string // one line for the operator: what happened
}

var dropCounters = []dropCounter{
	{"drop", "packets dropped: the table was full and no entry could be evicted (kernel log: \"nf_conntrack: table full, dropping packet\"); raise nf_conntrack_max"},
	{"early_drop", "entries evicted early: the table was full and the kernel dropped unreplied flows to make room; raise nf_conntrack_max"},
	{"insert_failed", "packets dropped because their new entry clashed with one inserted at the same moment (often parallel UDP DNS queries through NAT); see the clash-resolution notes of your kernel and resolver (single-request-reopen)"},
}

// infoCounters are reported but not judged.
var infoCounters = []string{"search_restart", "invalid", "error"}

// judgeDrops judges the rates of the per-CPU counters since the previous
// run.
func judgeDrops(res *plugin.Result, obs Observation, o *Options) {
	dropPerf := func(name string, v float64) plugin.Perf {
		return plugin.Perf{Label: plugin.Label(name, "rate"), Value: v, Thresholds: o.Drops(), Min: plugin.F(0)}
	}
	if obs.StatErr != nil {
		res.Add(plugin.Unknown, "cannot read the per-CPU conntrack statistics: "+obs.StatErr.Error())
		return
	}
	var perf []plugin.Perf
	if st, why, ready := obs.Rates.Pending(); !ready {
		for _, c := range dropCounters {
			perf = append(perf, dropPerf(c.name, math.NaN()))
		}
		for _, n := range infoCounters {
			perf = append(perf, plugin.Perf{Label: plugin.Label(n, "rate"), Value: math.NaN(), Min: plugin.F(0)})
		}
		f := res.Add(st, "drops: "+why, perf...)
		f.Quiet = true
		f.Detailf("%s", totals(obs))
		return
	}
	rates := obs.Rates.PerSecond
	worst := plugin.OK
	var bad []dropCounter
	for _, c := range dropCounters {
		p := dropPerf(c.name, round(rates[c.name]))
		if st := p.State(); st != plugin.OK {
			bad = append(bad, c)
			worst = plugin.Worst(worst, st)
		}
		perf = append(perf, p)
	}
	for _, n := range infoCounters {
		perf = append(perf, plugin.Perf{Label: plugin.Label(n, "rate"), Value: round(rates[n]), Min: plugin.F(0)})
	}
	if len(bad) == 0 {
		f := res.Add(plugin.OK, "no drops, early drops or insert failures since the last run", perf...)
		f.Quiet = true
		f.Detailf("%s", totals(obs))
		return
	}
	text := ""
	for i, c := range bad {
		if i > 0 {
			text += ", "
		}
		text += fmt.Sprintf("%s %s/s", c.name, num(rates[c.name]))
	}
	text += " since the last run"
	f := res.Add(worst, text, perf...)
	for _, c := range bad {
		f.Detailf("%s: %s", c.name, c.what)
	}
	f.Detailf("%s", totals(obs))
	for i, c := range obs.Stat.CPUs {
		if c.Drop > 0 || c.EarlyDrop > 0 || c.InsertFailed > 0 {
			f.Detailf("cpu %d: drop %d, early_drop %d, insert_failed %d", i, c.Drop, c.EarlyDrop, c.InsertFailed)
		}
	}
}

// totals is the detail line of the counters since the namespace was made.
func totals(obs Observation) string {
	t := obs.Stat.Total()
	return fmt.Sprintf("since the namespace was created (the host's: since boot), over %d CPUs: drop %d, early_drop %d, insert_failed %d, search_restart %d, invalid %d, error %d",
		len(obs.Stat.CPUs), t.Drop, t.EarlyDrop, t.InsertFailed, t.SearchRestart, t.Invalid, t.Error)
}

// judgeTimeout compares how long an idle established flow stays tracked
// with the keepalive probe gap of the same namespace.
func judgeTimeout(res *plugin.Result, obs Observation) {
	gap, gapName := obs.KeepaliveTime, "tcp_keepalive_time"
	if obs.KeepaliveIntvl > gap {
		gap, gapName = obs.KeepaliveIntvl, "tcp_keepalive_intvl"
	}
	atOrBelowGap := &thresholds.Range{Start: math.Inf(-1), End: float64(gap), Inside: true}
	perf := []plugin.Perf{
		{Label: "tcp_timeout_established", Value: float64(obs.TCPTimeoutEstablished), UOM: "s", Thresholds: thresholds.NewPair(atOrBelowGap, nil), Min: plugin.F(0)},
		{Label: "keepalive_probe_gap", Value: float64(gap), UOM: "s", Min: plugin.F(0)},
	}
	est := obs.TCPTimeoutEstablished
	if perf[0].State() == plugin.OK {
		res.Add(plugin.OK, fmt.Sprintf("idle established flows tracked for %ds > keepalive probe gap %ds", est, gap), perf...).Quiet = true
		return
	}
	f := res.Judge(fmt.Sprintf("idle established flows are forgotten after %ds (nf_conntrack_tcp_timeout_established) <= keepalive probe gap %ds (%s) in %s", est, gap, gapName, obs.Netns.Desc), perf[0], perf[1])
	f.Detailf("a connection idle longer than %ds loses its conntrack entry before the next keepalive probe refreshes it: NAT forgets its mapping and a stateful firewall drops its next packet (it is INVALID), so the connection hangs", est)
	keep := max(432000, 2*gap) // 432000 s (5 days) is the kernel's default
	f.Detailf("fix for this namespace: %ssysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=%d", obs.Netns.Enter, keep)
	if obs.Netns.Enter != "" {
		f.Detailf("persist it where the namespace is made, e.g. docker run --sysctl net.netfilter.nf_conntrack_tcp_timeout_established=%d, or a Kubernetes pod securityContext.sysctls entry", keep)
	} else {
		f.Detailf("persist it: echo 'net.netfilter.nf_conntrack_tcp_timeout_established = %d' >> /etc/sysctl.d/90-conntrack.conf", keep)
	}
	if est > 3 {
		f.Detailf("or probe sooner: %ssysctl -w net.ipv4.tcp_keepalive_time=%d net.ipv4.tcp_keepalive_intvl=%d (applies to sockets that set SO_KEEPALIVE; hosts behind this box need the same)", obs.Netns.Enter, est/3, min(obs.KeepaliveIntvl, est/3))
	}
}

func nextPow2(v int64) int64 {
	if v <= 1 {
		return 1
	}
	return int64(1) << bits.Len64(uint64(v-1))
}

// num formats a rate or a percentage for the output: two decimals, or two
// significant digits below 1 so that 1 drop a day is not shown as 0.
func num(v float64) string {
	if v == 0 || math.IsNaN(v) || math.Abs(v) >= 1 {
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', 1-int(math.Floor(math.Log10(math.Abs(v)))), 64)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

// round is v as num shows it, so that the perfdata agree with the text.
func round(v float64) float64 {
	r, err := strconv.ParseFloat(num(v), 64)
	if err != nil {
		return v
	}
	return r
}
