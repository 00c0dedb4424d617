package nginx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/target"
)

// CheckName names the state files.
const CheckName = "check_nginx_queue"

// Check runs the whole check on this host.
func Check(ctx context.Context, o *Options, env plugin.Env) (*plugin.Result, error) {
	return check(ctx, linux.Host, time.Now(), o, env)
}

// check runs it with /proc read through f, at time now (tests pass
// fixture trees and clocks).
func check(ctx context.Context, f linux.FS, now time.Time, o *Options, env plugin.Env) (*plugin.Result, error) {
	sel := o.selector()
	t, err := target.Resolve(f, o.Process, target.Want{Children: true})
	if err != nil {
		return nil, err
	}
	if t != nil {
		if sel.Inodes, err = t.SocketInodes(f); err != nil {
			return nil, err
		}
	}
	ns, err := target.Namespace(f, t, target.Netns{})
	if err != nil {
		return nil, err
	}
	defer ns.Close()

	socks, err := ListenSockets(ctx, ns.FD, sel)
	if err != nil {
		return nil, err
	}
	listeners := Group(socks)
	res := &plugin.Result{}
	if err := o.queues(res, listeners, sel, t); err != nil {
		return nil, err
	}
	if err := o.audit(f, res, ns, listeners); err != nil {
		return nil, err
	}

	var stub *StubStatus
	if o.StatusURL != "" {
		s, err := FetchStubStatus(ctx, o.StatusURL, o.StatusInsecure)
		var se *StatusError
		switch {
		case errors.As(err, &se):
			fd := res.Add(se.State, "stub_status: "+se.Msg)
			if se.Hint != "" {
				fd.Detailf("%s", se.Hint)
			}
		case err != nil:
			return nil, err
		default:
			stub = &s
			stubFinding(res, s)
		}
	}

	if err := o.drops(ctx, f, now, res, ns, stub, t); err != nil {
		return nil, err
	}
	if env.Verbose > 0 {
		res.Detailf("network namespace %s; %d listening socket(s) selected", ns.ID, len(socks))
		for _, s := range socks {
			res.Detailf("socket %s inode %d queue %d backlog %d uid %d", s.Src, s.Inode, s.RQueue, s.WQueue, s.UID)
		}
	}
	return res, nil
}

func (o *Options) selector() Selector {
	var sel Selector
	for _, p := range o.Port {
		sel.Ports = append(sel.Ports, uint16(p))
	}
	for _, l := range o.Listen {
		sel.Listens = append(sel.Listens, l.AddrPort)
	}
	return sel
}

// stateKey names the state file of the counters named what after
// everything that decides what they mean, so two services never share
// one: the network namespace they are counted in (one host running the
// check in several namespaces, such as containers or test hosts, keeps
// one file per namespace instead of a baseline reset at each
// alternation), then the options.
func (o *Options) stateKey(what, netnsID string) string {
	parts := append([]string{what, "netns=" + netnsID}, o.Process.Key()...)
	for _, p := range o.Port {
		parts = append(parts, fmt.Sprintf("port=%d", p))
	}
	for _, l := range o.Listen {
		parts = append(parts, "listen="+l.String())
	}
	if o.StatusURL != "" {
		parts = append(parts, "status="+redact(o.StatusURL))
	}
	return state.Key(CheckName, parts...)
}

const queueHint = "the kernel holds connections nginx has not accept()ed yet: workers are blocked or busy (CPU, blocking upstream or disk, stopped process) or worker_connections is exhausted; look at the workers (top, strace -p), then raise backlog= on the listen directive together with net.core.somaxconn to absorb bursts"

func (o *Options) queues(res *plugin.Result, ls []Listener, sel Selector, t *target.Target) error {
	missing := sel.Missing(ls)
	if len(ls) == 0 {
		switch {
		case len(missing) > 0 && t != nil:
			return plugin.Errorf(plugin.Critical, "%s does not listen on %s", t.What, strings.Join(missing, ", "))
		case len(missing) > 0:
			return plugin.Errorf(plugin.Critical, "nothing listens on %s", strings.Join(missing, ", "))
		default:
			return plugin.Errorf(plugin.Critical, "%s has no listening TCP socket", t.What)
		}
	}
	for _, m := range missing {
		what := "nothing listens on " + m
		if t != nil {
			what = t.What + " does not listen on " + m
		}
		res.Add(plugin.Critical, what).Detailf("start nginx or fix its listen directive (or the --port/--listen of this check)")
	}
	for _, l := range ls {
		fill := plugin.Perf{Label: l.Name() + "_fill", Value: round(l.Fill()), UOM: "%", Thresholds: o.fillThresholds(), Min: plugin.F(0)}
		st := fill.State()
		text := fmt.Sprintf("%s accept queue %d/%d (%s%%)", l.Name(), l.Queue, l.Backlog, num(fill.Value))
		if l.Sockets > 1 {
			text += fmt.Sprintf(" (fullest of %d sockets)", l.Sockets)
		}
		f := res.Add(st, text,
			plugin.Perf{Label: l.Name() + "_queue", Value: float64(l.Queue), Min: plugin.F(0), Max: plugin.F(float64(l.Backlog) + 1)},
			plugin.Perf{Label: l.Name() + "_backlog", Value: float64(l.Backlog), Min: plugin.F(0)},
			fill,
		)
		if st != plugin.OK {
			f.Detailf("%s", queueHint)
		}
	}
	return nil
}

func (o *Options) audit(f linux.FS, res *plugin.Result, ns *linux.Netns, ls []Listener) error {
	var v []int64
	err := ns.Do(func() (err error) {
		v, err = f.SysctlIntEach("net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies")
		return err
	})
	if err != nil {
		return err
	}
	somaxconn, synBacklog, cookies := v[0], v[1], v[2]
	fd := res.Add(plugin.OK, fmt.Sprintf("net.core.somaxconn %d, tcp_max_syn_backlog %d, tcp_syncookies %d", somaxconn, synBacklog, cookies),
		plugin.Perf{Label: "somaxconn", Value: float64(somaxconn), Min: plugin.F(0)},
		plugin.Perf{Label: "tcp_max_syn_backlog", Value: float64(synBacklog), Min: plugin.F(0)},
	)
	fd.Quiet = true
	if cookies == 0 {
		fd.Detailf("tcp_syncookies is 0: a SYN flood or a long SYN queue drops connections; sysctl -w net.ipv4.tcp_syncookies=1")
	}
	if o.ExpectBacklog == nil {
		return nil
	}
	want := int64(*o.ExpectBacklog)
	for _, l := range ls {
		b := int64(l.Backlog)
		switch {
		case b >= want:
		case b == somaxconn:
			res.Add(plugin.Warning, fmt.Sprintf("%s backlog %d clipped by net.core.somaxconn %d (expected %d)", l.Name(), b, somaxconn, want)).
				Detailf("the kernel caps listen(2)'s backlog at net.core.somaxconn: sysctl -w net.core.somaxconn=%d, persist it in /etc/sysctl.d/, then restart nginx so it calls listen() again", want).
				Detailf("with a larger backlog also consider net.ipv4.tcp_max_syn_backlog=%d", max(want, synBacklog))
		default:
			res.Add(plugin.Warning, fmt.Sprintf("%s backlog %d below the expected %d", l.Name(), b, want)).
				Detailf("nginx asks for 511 unless told: add backlog=%d to the listen directive of %s and reload nginx", want, l.Name())
		}
	}
	return nil
}

func stubFinding(res *plugin.Result, s StubStatus) {
	res.Add(plugin.OK, fmt.Sprintf("nginx %d active connections (reading %d, writing %d, waiting %d)", s.Active, s.Reading, s.Writing, s.Waiting),
		plugin.Perf{Label: "active", Value: float64(s.Active), Min: plugin.F(0)},
		plugin.Perf{Label: "reading", Value: float64(s.Reading), Min: plugin.F(0)},
		plugin.Perf{Label: "writing", Value: float64(s.Writing), Min: plugin.F(0)},
		plugin.Perf{Label: "waiting", Value: float64(s.Waiting), Min: plugin.F(0)},
		plugin.Perf{Label: "accepts", Value: float64(s.Accepts), UOM: "c", Min: plugin.F(0)},
		plugin.Perf{Label: "handled", Value: float64(s.Handled), UOM: "c", Min: plugin.F(0)},
		plugin.Perf{Label: "requests", Value: float64(s.Requests), UOM: "c", Min: plugin.F(0)},
	)
}

func (o *Options) drops(ctx context.Context, f linux.FS, now time.Time, res *plugin.Result, ns *linux.Netns, stub *StubStatus, t *target.Target) error {
	b, netstatPath, err := f.ReadNet(ns, "netstat")
	if err != nil {
		return err
	}
	v, err := linux.NetstatCounters(b, "TcpExt", "ListenOverflows", "ListenDrops")
	if err != nil {
		return fmt.Errorf("%s: %v", netstatPath, err)
	}
	overflows, drops := v[0], v[1]
	// The stub_status sample has a file of its own, so a failed fetch
	// leaves it for the next run.
	kernel := state.Sample(ctx, o.StateDir, o.stateKey("kernel", ns.ID), state.Counters{Time: now, Of: ns.ID, Values: map[string]float64{
		"ListenOverflows": float64(overflows), "ListenDrops": float64(drops)}})

	where := "this host's network namespace"
	if t != nil {
		where = "the network namespace of " + t.What
	}
	pair := o.dropThresholds()
	perf := func(r float64, name string) plugin.Perf {
		return plugin.Perf{Label: name, Value: r, Thresholds: pair, Min: plugin.F(0)}
	}
	totals := []plugin.Perf{
		{Label: "listen_overflows_total", Value: float64(overflows), UOM: "c", Min: plugin.F(0)},
		{Label: "listen_drops_total", Value: float64(drops), UOM: "c", Min: plugin.F(0)},
	}
	if st, why, ready := kernel.Pending(); !ready {
		res.Add(st, "listen drops: "+why,
			append([]plugin.Perf{perf(math.NaN(), "listen_drops_rate"), perf(math.NaN(), "listen_overflows_rate")}, totals...)...)
	} else {
		dr, or := kernel.PerSecond["ListenDrops"], kernel.PerSecond["ListenOverflows"]
		drops := perf(round(dr), "listen_drops_rate")
		fd := res.Judge(fmt.Sprintf("listen drops %s/s (overflows %s/s)", num(dr), num(or)),
			drops, append([]plugin.Perf{perf(round(or), "listen_overflows_rate")}, totals...)...)
		if fd.State != plugin.OK {
			fd.Detailf("counted in %s (TcpExt of %s), for all its listeners", where, netstatPath)
			if or > 0 {
				fd.Detailf("ListenOverflows: an accept queue was full and the kernel dropped the SYN or the handshake's last ACK; %s", queueHint)
			}
			if dr > or {
				fd.Detailf("ListenDrops beyond overflows: SYNs dropped for other reasons (SYN queue full without syncookies, memory pressure, no route back); check tcp_max_syn_backlog and tcp_syncookies")
			}
		}
	}

	if stub == nil {
		return nil
	}
	nginxRates := state.Sample(ctx, o.StateDir, o.stateKey("stub_status", ns.ID), state.Counters{Time: now, Of: ns.ID, Values: map[string]float64{"dropped": float64(stub.Dropped())}})
	if st, why, ready := nginxRates.Pending(); !ready {
		res.Add(st, "nginx dropped connections: "+why, perf(math.NaN(), "nginx_dropped_rate"))
		return nil
	}
	d := nginxRates.PerSecond["dropped"]
	fd := res.Judge(fmt.Sprintf("nginx dropped %s/s connections (accepts - handled)", num(d)), perf(round(d), "nginx_dropped_rate"))
	if fd.State != plugin.OK {
		fd.Detailf("nginx accepted connections and closed them at once: worker_connections is exhausted; raise worker_connections (and worker_rlimit_nofile) or add workers")
	}
	return nil
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

func num(v float64) string { return strconv.FormatFloat(round(v), 'f', -1, 64) }

// String helps tests print a listener.
func (l Listener) String() string {
	return fmt.Sprintf("%s %d/%d (%d sockets)", l.Addr, l.Queue, l.Backlog, l.Sockets)
}
