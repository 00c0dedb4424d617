// Package keepalive checks TCP keepalive settings against the idle timeout
// of a NAT device or load balancer in the path: the keepalive sysctls of
// the network namespace that matters, and the keepalive timer and idle
// time of each established socket.
package keepalive

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Config is what the check needs from its options.
type Config struct {
	FS         linux.FS
	Idle       IdleTimeout
	PID        int
	Process    string
	Ports      []Port
	Remotes    []plugin.Prefix
	Sockets    bool
	MaxDetect  time.Duration // 0: no threshold
	Warn, Crit *thresholds.Range
}

// Sysctls are the keepalive settings of one network namespace, in seconds.
type Sysctls struct {
	Time, Intvl, Probes int64
}

// namespace is the network namespace the check audits, as the output
// names it.
type namespace struct {
	*linux.Netns
	desc  string // for the output
	enter string // command prefix that runs a command inside it
}

// Check runs the host audit and, when asked for, the per-socket audit.
func Check(ctx context.Context, cfg Config, env plugin.Env) (*plugin.Result, error) {
	if cfg.PID < 0 {
		return nil, plugin.InvalidPID(strconv.Itoa(cfg.PID))
	}
	if cfg.PID > 0 && cfg.Process != "" {
		return nil, errors.New("give either --pid or --process, not both")
	}
	if cfg.Idle.D <= 0 {
		return nil, errors.New("--idle-timeout must be greater than zero")
	}
	pids, scope, err := targets(cfg)
	if err != nil {
		return nil, err
	}
	perSocket := cfg.Sockets || len(pids) > 0 || len(cfg.Ports) > 0 || len(cfg.Remotes) > 0

	filter := Filter{Ports: cfg.Ports, Remotes: cfg.Remotes}
	if len(pids) > 0 {
		mustRun := 1 // --pid
		if cfg.Process != "" {
			mustRun = 0 // processes found by name may exit since we listed them
		}
		if filter.Inodes, err = cfg.FS.SocketInodes(pids, mustRun); err != nil {
			return nil, err
		}
	}

	ns, err := pickNamespace(cfg, pids)
	if err != nil {
		return nil, err
	}
	defer ns.Close()

	var v []int64
	// /proc/sys/net shows the namespace of the thread that opens it.
	err = ns.Do(func() (err error) {
		v, err = cfg.FS.SysctlIntEach("net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes")
		return err
	})
	if err != nil {
		return nil, err
	}
	sc := Sysctls{Time: v[0], Intvl: v[1], Probes: v[2]}

	res := &plugin.Result{}
	HostFindings(res, sc, cfg, ns)

	if perSocket {
		a := NewAudit(cfg.Idle.D, filter)
		q := linux.Query{States: linux.StateMask(linux.TCPEstablished), Info: true, NetNSFD: ns.FD}
		if err := linux.DumpTCP(ctx, q, a.Add); err != nil {
			return nil, err
		}
		SocketFindings(res, a, cfg, scope)
	}
	return res, nil
}

// targets resolves --pid and --process to PIDs, and names them for the
// output.
func targets(cfg Config) ([]int, string, error) {
	switch {
	case cfg.PID > 0:
		// A PID that does not run is reported by SocketInodes, with the
		// same "no process with PID N".
		return []int{cfg.PID}, fmt.Sprintf(" of PID %d", cfg.PID), nil
	case cfg.Process != "":
		procs, err := cfg.FS.ProcessesNamed(cfg.Process)
		if err != nil {
			return nil, "", err
		}
		return linux.PIDs(procs), fmt.Sprintf(" of process %s (%d PIDs)", cfg.Process, len(procs)), nil
	}
	return nil, "", nil
}

// pickNamespace returns the network namespace of the target processes, or
// our own when there are none or they share ours.
func pickNamespace(cfg Config, pids []int) (namespace, error) {
	if len(pids) == 0 {
		own, err := cfg.FS.OpenNetns(0)
		if err != nil {
			// Fixture roots have no ns link; our own namespace needs no opening.
			return namespace{Netns: &linux.Netns{}, desc: "the check's own network namespace"}, nil
		}
		return namespace{Netns: own, desc: fmt.Sprintf("the check's own network namespace (%s)", own.ID)}, nil
	}
	groups, err := cfg.FS.GroupByNetns(pids, cfg.Process != "")
	if err != nil {
		return namespace{}, err
	}
	switch {
	case len(groups) == 0:
		return namespace{}, plugin.Errorf(plugin.Critical, "no process named %q is running", cfg.Process)
	case len(groups) > 1:
		names := make([]string, len(groups))
		for i, g := range groups {
			names[i] = fmt.Sprintf("%s PIDs %v", g.ID, g.PIDs)
		}
		sort.Strings(names)
		return namespace{}, fmt.Errorf("processes named %q live in %d network namespaces (%s); choose one with --pid", cfg.Process, len(groups), strings.Join(names, ", "))
	}
	pid := groups[0].PIDs[0]
	ns, err := cfg.FS.OpenNetns(pid)
	if err != nil {
		return namespace{}, err
	}
	if ns.Own() {
		return namespace{Netns: ns, desc: fmt.Sprintf("the check's own network namespace (%s), shared with PID %d", ns.ID, pid)}, nil
	}
	return namespace{
		Netns: ns,
		desc:  fmt.Sprintf("the network namespace of PID %d (%s)", pid, ns.ID),
		enter: fmt.Sprintf("nsenter --net=/proc/%d/ns/net ", pid),
	}, nil
}

func secs(v int64) time.Duration { return time.Duration(v) * time.Second }

// recommend returns a keepalive time comfortably below the idle timeout:
// a third of it, whole seconds, between 1 s and 600 s (90 s gives 30 s).
func recommend(idle time.Duration) int64 {
	return min(max(int64(idle/time.Second)/3, 1), 600)
}

// HostFindings judges the namespace's keepalive sysctls.
func HostFindings(res *plugin.Result, sc Sysctls, cfg Config, ns namespace) {
	idle := cfg.Idle.D
	gap, gapName := sc.Time, "tcp_keepalive_time"
	if sc.Intvl > sc.Time {
		gap, gapName = sc.Intvl, "tcp_keepalive_intvl"
	}
	detect := sc.Time + sc.Intvl*sc.Probes

	idleS := idle.Seconds()
	atOrAbove := &thresholds.Range{Start: idleS, End: math.Inf(1), Inside: true}
	perf := []plugin.Perf{
		{Label: "tcp_keepalive_time", Value: float64(sc.Time), UOM: "s", Thresholds: thresholds.NewPair(nil, atOrAbove), Min: plugin.F(0)},
		{Label: "tcp_keepalive_intvl", Value: float64(sc.Intvl), UOM: "s", Thresholds: thresholds.NewPair(nil, atOrAbove), Min: plugin.F(0)},
		{Label: "tcp_keepalive_probes", Value: float64(sc.Probes), Min: plugin.F(0)},
	}
	detectPerf := plugin.Perf{Label: "keepalive_detect_time", Value: float64(detect), UOM: "s", Min: plugin.F(0)}
	if cfg.MaxDetect > 0 {
		detectPerf.Thresholds.Warn = &thresholds.Range{Start: 0, End: cfg.MaxDetect.Seconds()}
	}
	perf = append(perf, detectPerf, plugin.Perf{Label: "idle_timeout", Value: idleS, UOM: "s", Min: plugin.F(0)})

	if secs(gap) >= idle {
		f := res.Add(plugin.Critical, fmt.Sprintf("keepalive probe gap %ds (%s) >= idle timeout %s in %s", gap, gapName, cfg.Idle, ns.desc), perf...)
		rec := recommend(idle)
		intvl := min(sc.Intvl, rec)
		f.Detailf("the device forgets an idle connection before the next keepalive probe: the first probe comes after tcp_keepalive_time, then one every max(tcp_keepalive_time, tcp_keepalive_intvl)")
		f.Detailf("fix for this namespace: %ssysctl -w net.ipv4.tcp_keepalive_time=%d net.ipv4.tcp_keepalive_intvl=%d", ns.enter, rec, intvl)
		if ns.enter != "" {
			f.Detailf("persist it where the namespace is made, e.g. docker run --sysctl net.ipv4.tcp_keepalive_time=%d, or a Kubernetes pod securityContext.sysctls entry", rec)
		} else {
			f.Detailf("persist it: printf 'net.ipv4.tcp_keepalive_time = %d\\nnet.ipv4.tcp_keepalive_intvl = %d\\n' > /etc/sysctl.d/90-keepalive.conf && sysctl --system", rec, intvl)
		}
		f.Detailf("per socket instead: setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1) and setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, %d) (TCP_KEEPINTVL %d) in the application, e.g. Go net.KeepAliveConfig{Idle: %ds}, libpq keepalives_idle=%d", rec, intvl, rec, rec)
		f.Detailf("the sysctls only apply to sockets that set SO_KEEPALIVE; audit the sockets with --sockets, --pid or --process")
	} else {
		f := res.Add(plugin.OK, fmt.Sprintf("keepalive probe gap %ds < idle timeout %s in %s", gap, cfg.Idle, ns.desc), perf...)
		f.Detailf("the sysctls only apply to sockets that set SO_KEEPALIVE; audit the sockets with --sockets, --pid or --process")
	}
	if cfg.MaxDetect > 0 && secs(detect) > cfg.MaxDetect {
		f := res.Add(plugin.Warning, fmt.Sprintf("a dead peer is detected after %ds (tcp_keepalive_time + tcp_keepalive_intvl * tcp_keepalive_probes) > --max-detect %s", detect, seconds(cfg.MaxDetect)))
		f.Detailf("lower tcp_keepalive_intvl or tcp_keepalive_probes: %ssysctl -w net.ipv4.tcp_keepalive_probes=N net.ipv4.tcp_keepalive_intvl=S (or TCP_KEEPINTVL/TCP_KEEPCNT per socket)", ns.enter)
	}
}

// SocketFindings reports the per-socket audit.
func SocketFindings(res *plugin.Result, a *Audit, cfg Config, scope string) {
	idle := cfg.Idle.String()
	if scope == "" && (len(cfg.Ports) > 0 || len(cfg.Remotes) > 0) {
		scope = " matching the filter"
	}
	text := fmt.Sprintf("%d established sockets%s: %d without keepalive, %d with a keepalive timer above %s, %d idle longer than %s",
		a.Total, scope, a.NoKeepalive, a.LongGap, idle, a.AtRisk, idle)
	atRisk := plugin.Perf{Label: "sockets_at_risk", Value: float64(a.AtRisk), Thresholds: thresholds.NewPair(cfg.Warn, cfg.Crit), Min: plugin.F(0)}
	st := atRisk.State()
	f := res.Add(st, text,
		plugin.Perf{Label: "sockets_total", Value: float64(a.Total), Min: plugin.F(0)},
		plugin.Perf{Label: "sockets_no_keepalive", Value: float64(a.NoKeepalive), Min: plugin.F(0)},
		plugin.Perf{Label: "sockets_long_interval", Value: float64(a.LongGap), Min: plugin.F(0)},
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
		rec := recommend(cfg.Idle.D)
		f.Detailf("fix in the application: enable SO_KEEPALIVE with TCP_KEEPIDLE and TCP_KEEPINTVL below the idle timeout (e.g. %ds), or for sockets that set SO_KEEPALIVE without TCP_KEEPIDLE lower net.ipv4.tcp_keepalive_time", rec)
	}
}
