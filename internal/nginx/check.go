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
	"github.com/opschecks/opschecks/thresholds"
)

// CheckName names the state files.
const CheckName = "check_nginx_queue"

// Config is what the check needs from its options.
type Config struct {
	FS      linux.FS
	Ports   []string
	Listens []string
	PID     int
	Pidfile string
	Process string

	Warn, Crit           thresholds.Range // queue fill in percent
	DropsWarn, DropsCrit thresholds.Range // drops per second
	ExpectBacklog        int

	StatusURL      string
	StatusInsecure bool

	StateDir state.Dir
	Now      func() time.Time
}

// Check runs the whole check.
func Check(ctx context.Context, c Config, env plugin.Env) (*plugin.Result, error) {
	if c.FS.Proc == "" {
		c.FS = linux.Host
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	sel, err := c.selector()
	if err != nil {
		return nil, err
	}
	target, err := FindTarget(c.FS, c.PID, c.Pidfile, c.Process)
	if err != nil {
		return nil, err
	}
	if target == nil && len(sel.Ports) == 0 && len(sel.Listens) == 0 {
		return nil, errors.New("nothing to check: give --port, --listen, --pid, --pidfile or --process (e.g. --process nginx)")
	}
	master := 0
	if target != nil {
		master = target.PIDs[0]
		// The master must run; a worker that exits meanwhile is skipped.
		if sel.Inodes, err = c.FS.SocketInodes(target.PIDs, 1); err != nil {
			return nil, err
		}
	}
	ns, err := c.FS.OpenNetns(master)
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
	if err := c.queues(res, listeners, sel, target); err != nil {
		return nil, err
	}
	if err := c.audit(res, ns, listeners); err != nil {
		return nil, err
	}

	var stub *StubStatus
	if c.StatusURL != "" {
		s, err := FetchStubStatus(ctx, c.StatusURL, c.StatusInsecure)
		var se *StatusError
		switch {
		case errors.As(err, &se):
			f := res.Add(se.State, "stub_status: "+se.Msg)
			if se.Hint != "" {
				f.Detailf("%s", se.Hint)
			}
		case err != nil:
			return nil, err
		default:
			stub = &s
			stubFinding(res, s)
		}
	}

	netstat := c.FS.ProcPath("net", "netstat")
	if master != 0 {
		netstat = c.FS.ProcPath(strconv.Itoa(master), "net", "netstat")
	}
	if err := c.drops(ctx, res, netstat, ns, stub, target); err != nil {
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

func (c Config) selector() (Selector, error) {
	var sel Selector
	for _, p := range c.Ports {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 65535 {
			return sel, fmt.Errorf("invalid --port %q: expected a TCP port from 1 to 65535", p)
		}
		sel.Ports = append(sel.Ports, uint16(n))
	}
	for _, l := range c.Listens {
		ap, err := ParseListen(l)
		if err != nil {
			return sel, err
		}
		sel.Listens = append(sel.Listens, ap)
	}
	n := 0
	for _, set := range []bool{c.PID != 0, c.Pidfile != "", c.Process != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return sel, errors.New("--pid, --pidfile and --process are alternatives: give at most one")
	}
	if c.StatusURL != "" {
		if _, err := parseStatusURL(c.StatusURL); err != nil {
			return sel, err
		}
	}
	if c.ExpectBacklog < 0 {
		return sel, fmt.Errorf("invalid --expect-backlog %d: expected a positive number of connections", c.ExpectBacklog)
	}
	return sel, nil
}

// stateKey names the state file of the counters named what after
// everything that decides what they mean, so two services never share
// one: the network namespace they are counted in (one host running the
// check in several namespaces, such as containers or test hosts, keeps
// one file per namespace instead of a baseline reset at each
// alternation), then the options.
func (c Config) stateKey(what, netnsID string) string {
	parts := []string{what, "netns=" + netnsID}
	if c.PID != 0 {
		parts = append(parts, "pid="+strconv.Itoa(c.PID))
	}
	if c.Pidfile != "" {
		parts = append(parts, "pidfile="+c.Pidfile)
	}
	if c.Process != "" {
		parts = append(parts, "process="+c.Process)
	}
	for _, p := range c.Ports {
		parts = append(parts, "port="+p)
	}
	for _, l := range c.Listens {
		parts = append(parts, "listen="+l)
	}
	if c.StatusURL != "" {
		parts = append(parts, "status="+redact(c.StatusURL))
	}
	return state.Key(CheckName, parts...)
}

const queueHint = "the kernel holds connections nginx has not accept()ed yet: workers are blocked or busy (CPU, blocking upstream or disk, stopped process) or worker_connections is exhausted; look at the workers (top, strace -p), then raise backlog= on the listen directive together with net.core.somaxconn to absorb bursts"

func (c Config) queues(res *plugin.Result, ls []Listener, sel Selector, t *Target) error {
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
		fill := plugin.Perf{Label: l.Name() + "_fill", Value: round(l.Fill()), UOM: "%", Thresholds: thresholds.NewPair(&c.Warn, &c.Crit), Min: plugin.F(0)}
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

func (c Config) audit(res *plugin.Result, ns *linux.Netns, ls []Listener) error {
	var v []int64
	err := ns.Do(func() (err error) {
		v, err = c.FS.SysctlIntEach("net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies")
		return err
	})
	if err != nil {
		return err
	}
	somaxconn, synBacklog, cookies := v[0], v[1], v[2]
	f := res.Add(plugin.OK, fmt.Sprintf("net.core.somaxconn %d, tcp_max_syn_backlog %d, tcp_syncookies %d", somaxconn, synBacklog, cookies),
		plugin.Perf{Label: "somaxconn", Value: float64(somaxconn), Min: plugin.F(0)},
		plugin.Perf{Label: "tcp_max_syn_backlog", Value: float64(synBacklog), Min: plugin.F(0)},
	)
	f.Quiet = true
	if cookies == 0 {
		f.Detailf("tcp_syncookies is 0: a SYN flood or a long SYN queue drops connections; sysctl -w net.ipv4.tcp_syncookies=1")
	}
	want := int64(c.ExpectBacklog)
	if want == 0 {
		return nil
	}
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

func (c Config) drops(ctx context.Context, res *plugin.Result, netstatPath string, ns *linux.Netns, stub *StubStatus, t *Target) error {
	b, err := linux.ReadFile(netstatPath)
	if err != nil {
		return err
	}
	v, err := linux.NetstatCounters(b, "TcpExt", "ListenOverflows", "ListenDrops")
	if err != nil {
		return fmt.Errorf("%s: %v", netstatPath, err)
	}
	overflows, drops := v[0], v[1]
	now := c.Now()
	// The stub_status sample has a file of its own, so a failed fetch
	// leaves it for the next run.
	kernel := state.Sample(ctx, c.StateDir, c.stateKey("kernel", ns.ID), state.Counters{Time: now, Of: ns.ID, Values: map[string]float64{
		"ListenOverflows": float64(overflows), "ListenDrops": float64(drops)}})

	where := "this host's network namespace"
	if t != nil {
		where = "the network namespace of " + t.What
	}
	pair := thresholds.NewPair(&c.DropsWarn, &c.DropsCrit)
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
		f := res.Judge(fmt.Sprintf("listen drops %s/s (overflows %s/s)", num(dr), num(or)),
			drops, append([]plugin.Perf{perf(round(or), "listen_overflows_rate")}, totals...)...)
		if f.State != plugin.OK {
			f.Detailf("counted in %s (TcpExt of %s), for all its listeners", where, netstatPath)
			if or > 0 {
				f.Detailf("ListenOverflows: an accept queue was full and the kernel dropped the SYN or the handshake's last ACK; %s", queueHint)
			}
			if dr > or {
				f.Detailf("ListenDrops beyond overflows: SYNs dropped for other reasons (SYN queue full without syncookies, memory pressure, no route back); check tcp_max_syn_backlog and tcp_syncookies")
			}
		}
	}

	if stub == nil {
		return nil
	}
	nginxRates := state.Sample(ctx, c.StateDir, c.stateKey("stub_status", ns.ID), state.Counters{Time: now, Of: ns.ID, Values: map[string]float64{"dropped": float64(stub.Dropped())}})
	if st, why, ready := nginxRates.Pending(); !ready {
		res.Add(st, "nginx dropped connections: "+why, perf(math.NaN(), "nginx_dropped_rate"))
		return nil
	}
	d := nginxRates.PerSecond["dropped"]
	f := res.Judge(fmt.Sprintf("nginx dropped %s/s connections (accepts - handled)", num(d)), perf(round(d), "nginx_dropped_rate"))
	if f.State != plugin.OK {
		f.Detailf("nginx accepted connections and closed them at once: worker_connections is exhausted; raise worker_connections (and worker_rlimit_nofile) or add workers")
	}
	return nil
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

func num(v float64) string { return strconv.FormatFloat(round(v), 'f', -1, 64) }

// String helps tests print a listener.
func (l Listener) String() string {
	return fmt.Sprintf("%s %d/%d (%d sockets)", l.Addr, l.Queue, l.Backlog, l.Sockets)
}
