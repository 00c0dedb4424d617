package keepalive

import (
	"fmt"
	"math"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Judge turns an observation into the check's findings: the host audit,
// then the per-socket audit when it ran. It reads nothing.
func Judge(obs *Observation, o *Options) *plugin.Result {
	res := &plugin.Result{}
	idle := obs.Idle(o)
	f := hostFindings(res, obs.Sysctls, idle, o, obs.Namespace)
	if f.State != plugin.OK && idle.Sysctl != "" {
		f.Detailf("or keep idle flows tracked longer in this namespace: %ssysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=432000 (the kernel's default, 5 days)", obs.Namespace.Enter)
	}
	if obs.NoConntrack {
		f.Detailf("the kernel tracks no connections in %s (no net.netfilter.nf_conntrack_tcp_timeout_established): the conntrack preset is the kernel's default", obs.Namespace.Desc)
	}
	if obs.Audit != nil {
		socketFindings(res, obs.Audit, idle, o, obs.Scope)
	}
	return res
}

func secs(v int64) time.Duration { return time.Duration(v) * time.Second }

// recommend returns a keepalive time comfortably below the idle timeout:
// a third of it, whole seconds, between 1 s and 600 s (90 s gives 30 s).
func recommend(idle time.Duration) int64 {
	return min(max(int64(idle/time.Second)/3, 1), 600)
}

// hostFindings judges the namespace's keepalive sysctls against the idle
// timeout and returns the finding of the probe gap.
func hostFindings(res *plugin.Result, sc Sysctls, idleTimeout IdleTimeout, o *Options, ns Namespace) *plugin.Finding {
	idle := idleTimeout.D
	gap, gapName := sc.Time, "tcp_keepalive_time"
	if sc.Intvl > sc.Time {
		gap, gapName = sc.Intvl, "tcp_keepalive_intvl"
	}
	detect := sc.Time + sc.Intvl*sc.Probes

	idleS := idle.Seconds()
	atOrAbove := &thresholds.Range{Start: idleS, End: math.Inf(1), Inside: true}
	perf := []plugin.Perf{
		{Label: "tcp_keepalive_time", Value: float64(sc.Time), UOM: "s", Thresholds: thresholds.NewPair(nil, atOrAbove), Min: plugin.F(0), Whole: true},
		{Label: "tcp_keepalive_intvl", Value: float64(sc.Intvl), UOM: "s", Thresholds: thresholds.NewPair(nil, atOrAbove), Min: plugin.F(0), Whole: true},
		{Label: "tcp_keepalive_probes", Value: float64(sc.Probes), Min: plugin.F(0), Whole: true},
	}
	detectPerf := plugin.Perf{Label: "keepalive_detect_time", Value: float64(detect), UOM: "s", Min: plugin.F(0), Whole: true}
	if o.MaxDetect > 0 {
		detectPerf.Thresholds.Warn = &thresholds.Range{Start: 0, End: o.MaxDetect.D().Seconds()}
	}
	perf = append(perf, detectPerf, plugin.Perf{Label: "idle_timeout", Value: idleS, UOM: "s", Min: plugin.F(0)})

	var f *plugin.Finding
	if secs(gap) >= idle {
		f = res.Add(plugin.Critical, fmt.Sprintf("keepalive probe gap %ds (%s) >= idle timeout %s in %s", gap, gapName, idleTimeout, ns.Desc), perf...)
		rec := recommend(idle)
		intvl := min(sc.Intvl, rec)
		f.Detailf("the device forgets an idle connection before the next keepalive probe: the first probe comes after tcp_keepalive_time, then one every max(tcp_keepalive_time, tcp_keepalive_intvl)")
		f.Detailf("fix for this namespace: %ssysctl -w net.ipv4.tcp_keepalive_time=%d net.ipv4.tcp_keepalive_intvl=%d", ns.Enter, rec, intvl)
		if ns.Enter != "" {
			f.Detailf("persist it where the namespace is made, e.g. docker run --sysctl net.ipv4.tcp_keepalive_time=%d, or a Kubernetes pod securityContext.sysctls entry", rec)
		} else {
			f.Detailf("persist it: printf 'net.ipv4.tcp_keepalive_time = %d\\nnet.ipv4.tcp_keepalive_intvl = %d\\n' > /etc/sysctl.d/90-keepalive.conf && sysctl --system", rec, intvl)
		}
		f.Detailf("per socket instead: setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1) and setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, %d) (TCP_KEEPINTVL %d) in the application, e.g. Go net.KeepAliveConfig{Idle: %ds}, libpq keepalives_idle=%d", rec, intvl, rec, rec)
		f.Detailf("the sysctls only apply to sockets that set SO_KEEPALIVE; audit the sockets with --sockets, --pid or --process")
	} else {
		f = res.Add(plugin.OK, fmt.Sprintf("keepalive probe gap %ds < idle timeout %s in %s", gap, idleTimeout, ns.Desc), perf...)
		f.Detailf("the sysctls only apply to sockets that set SO_KEEPALIVE; audit the sockets with --sockets, --pid or --process")
	}
	if o.MaxDetect > 0 && secs(detect) > o.MaxDetect.D() {
		f := res.Add(plugin.Warning, fmt.Sprintf("a dead peer is detected after %ds (tcp_keepalive_time + tcp_keepalive_intvl * tcp_keepalive_probes) > --max-detect %s", detect, seconds(o.MaxDetect.D())))
		f.Detailf("lower tcp_keepalive_intvl or tcp_keepalive_probes: %ssysctl -w net.ipv4.tcp_keepalive_probes=N net.ipv4.tcp_keepalive_intvl=S (or TCP_KEEPINTVL/TCP_KEEPCNT per socket)", ns.Enter)
	}
	return f
}

// socketFindings reports the per-socket audit; scope says which sockets
// were audited (" of nginx (PID 12)").
func socketFindings(res *plugin.Result, a *Audit, idleTimeout IdleTimeout, o *Options, scope string) {
	idle := idleTimeout.String()
	if scope == "" && (len(o.Port) > 0 || len(o.Remote) > 0) {
		scope = " matching the filter"
	}
	text := fmt.Sprintf("%d established sockets%s: %d without keepalive, %d with a keepalive timer above %s, %d idle longer than %s",
		a.Total, scope, a.NoKeepalive, a.LongGap, idle, a.AtRisk, idle)
	atRisk := plugin.Perf{Label: "sockets_at_risk", Value: float64(a.AtRisk), Thresholds: o.atRisk(), Min: plugin.F(0), Whole: true}
	st := atRisk.State()
	f := res.Add(st, text,
		plugin.Perf{Label: "sockets_total", Value: float64(a.Total), Min: plugin.F(0), Whole: true},
		plugin.Perf{Label: "sockets_no_keepalive", Value: float64(a.NoKeepalive), Min: plugin.F(0), Whole: true},
		plugin.Perf{Label: "sockets_long_interval", Value: float64(a.LongGap), Min: plugin.F(0), Whole: true},
		atRisk,
	)
	names := [kinds]string{"without keepalive", "keepalive timer above the idle timeout", "idle longer than the idle timeout"}
	for kind := range kinds {
		for _, ex := range a.examples(kind) {
			f.Detailf("%s: %s", names[kind], ex)
		}
	}
	if a.Busy > 0 {
		f.Detailf("%d sockets had a retransmit or window probe timer pending, which hides the keepalive timer; they were not judged on keepalive", a.Busy)
	}
	if a.NoKeepalive > 0 || a.LongGap > 0 || a.AtRisk > 0 {
		rec := recommend(idleTimeout.D)
		f.Detailf("fix in the application: enable SO_KEEPALIVE with TCP_KEEPIDLE and TCP_KEEPINTVL below the idle timeout (e.g. %ds), or for sockets that set SO_KEEPALIVE without TCP_KEEPIDLE lower net.ipv4.tcp_keepalive_time", rec)
	}
}
