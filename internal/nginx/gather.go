package nginx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/target"
)

// Observation is everything check_nginx_queue reads on one run. The
// verdicts (judge*.go) are pure functions of it and the options.
type Observation struct {
	// Target is how the watched nginx was named ("nginx (PID 12 from
	// /run/nginx.pid)"); empty without --pid, --pidfile or --process.
	Target string
	Netns  string // the network namespace looked into, net:[inode]
	// NetnsElsewhere says nginx's namespace is not the check's own, from
	// which --status-url is fetched.
	NetnsElsewhere bool

	Sockets   []linux.Socket // the selected listening sockets, as the kernel lists them
	Listeners []Listener     // Sockets by address
	Missing   []string       // requested ports and addresses that nothing serves
	// SynRecvCounted says the listeners' SynRecv were counted.
	SynRecvCounted bool

	Sysctl Sysctls
	// Netstat are the TcpExt counters of netstatCounters in the
	// namespace, read from NetstatPath; KernelRates their rates since the
	// previous run.
	Netstat     map[string]uint64
	NetstatPath string
	KernelRates state.Rates

	// Softnet are the CPUs' receive-path counters (host-wide), sampled
	// with the namespace's counters into KernelRates; Netdev the
	// host's sysctls that bound them (nil when this namespace cannot
	// see them: they exist in the host's namespace only).
	Softnet []linux.SoftnetStat
	Netdev  NetdevSysctls

	// Workers are the file descriptors of the watched nginx's workers
	// (with --pid, --pidfile or --process).
	Workers []WorkerFiles

	// Stub is the stub_status page (with --status-url), or StubErr why it
	// could not be read; StubRates are its counters' rates.
	Stub      *StubStatus
	StubErr   *FetchError
	StubRates state.Rates
}

// Sysctls are the namespace's settings the audit reads.
type Sysctls struct {
	Somaxconn, MaxSynBacklog, Syncookies int64
}

// WorkerFiles are one worker's open descriptors and RLIMIT_NOFILE.
type WorkerFiles struct {
	linux.Process
	Open  int
	Limit linux.Limit
}

// NetdevSysctls are the receive path's limits, nil when not readable.
type NetdevSysctls struct {
	MaxBacklog, Budget *int64
}

// softnetKey names a CPU's softnet counter in the state sample.
func softnetKey(what string, cpu int) string { return fmt.Sprintf("softnet_%s_cpu%d", what, cpu) }

// netstatCounters are the TcpExt counters sampled for rates: the accept
// queue's overflows and drops, then the SYN queue's (include/uapi/linux/
// snmp.h; all there since Linux 3.1).
var netstatCounters = []string{"ListenOverflows", "ListenDrops",
	"TCPReqQFullDrop", "TCPReqQFullDoCookies", "SyncookiesSent", "SyncookiesFailed"}

// Gather does every read of a run through f (the proc mount) and samples
// the counters in the state files at now: the watched nginx and its
// sockets, the namespace's LISTEN sockets, sysctls and TcpExt counters,
// and the stub_status page. A watched nginx that is not running is the
// target's CRITICAL error; what cannot be read is an error that names the
// file or privilege.
func Gather(ctx context.Context, f linux.FS, o *Options, now time.Time) (*Observation, error) {
	sel := o.selector()
	t, err := target.Resolve(f, o.Process, target.Want{Children: true})
	if err != nil {
		return nil, err
	}
	obs := &Observation{}
	if t != nil {
		obs.Target = t.What
		if sel.Inodes, err = t.SocketInodes(f); err != nil {
			return nil, err
		}
	}
	if obs.Workers, err = workerFiles(f, t); err != nil {
		return nil, err
	}
	ns, err := target.Namespace(f, t, target.Netns{})
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	obs.Netns, obs.NetnsElsewhere = ns.ID, !ns.Own()

	if obs.Sockets, err = ListenSockets(ctx, ns.FD, sel); err != nil {
		return nil, err
	}
	obs.Listeners = Group(obs.Sockets)
	obs.Missing = sel.Missing(obs.Listeners)
	if o.CountSynRecv() {
		if err := CountSynRecv(ctx, ns.FD, obs.Listeners); err != nil {
			return nil, err
		}
		obs.SynRecvCounted = true
	}

	var v []int64
	err = ns.Do(func() (err error) {
		v, err = f.SysctlIntEach("net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies")
		return err
	})
	if err != nil {
		return nil, err
	}
	obs.Sysctl = Sysctls{Somaxconn: v[0], MaxSynBacklog: v[1], Syncookies: v[2]}

	b, path, err := f.ReadNet(ns, "netstat")
	if err != nil {
		return nil, err
	}
	counts, err := linux.NetstatCounters(b, "TcpExt", netstatCounters...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	obs.NetstatPath = path
	obs.Netstat = map[string]uint64{}
	sample := map[string]float64{}
	for i, name := range netstatCounters {
		obs.Netstat[name] = counts[i]
		sample[name] = float64(counts[i])
	}
	if obs.Softnet, err = f.SoftnetStat(); err != nil {
		return nil, err
	}
	for _, c := range obs.Softnet {
		sample[softnetKey("dropped", c.CPU)] = float64(c.Dropped)
		sample[softnetKey("squeezed", c.CPU)] = float64(c.TimeSqueeze)
	}
	// Global sysctls, read in the check's own namespace (a network
	// namespace other than the host's has no net.core.netdev_* files),
	// and only for the hints of a softnet range: two files are 15-20 us
	// of a run that has about 1 ms of its own.
	if o.softnetJudged() {
		for dst, name := range map[**int64]string{&obs.Netdev.MaxBacklog: "net.core.netdev_max_backlog", &obs.Netdev.Budget: "net.core.netdev_budget"} {
			if v, err := f.SysctlInt(name); err == nil {
				*dst = &v
			}
		}
	}
	obs.KernelRates = state.Sample(ctx, o.StateDir, o.stateKey("kernel", ns.ID), state.Counters{Time: now, Of: ns.ID, Values: sample})

	if o.StatusURL != "" {
		// The stub_status sample has a file of its own, so a failed
		// fetch leaves it for the next run.
		req, err := o.statusRequest()
		if err != nil {
			return nil, err
		}
		s, err := FetchStubStatus(ctx, req)
		var fe *FetchError
		switch {
		case errors.As(err, &fe):
			obs.StubErr = fe
		case err != nil:
			return nil, err
		default:
			obs.Stub = &s
			obs.StubRates = state.Sample(ctx, o.StateDir, o.stateKey("stub_status", ns.ID), state.Counters{Time: now, Of: ns.ID,
				Values: map[string]float64{"dropped": float64(s.Dropped()), "accepts": float64(s.Accepts), "requests": float64(s.Requests)}})
		}
	}
	return obs, nil
}

// workerFiles reads the descriptors and RLIMIT_NOFILE of the target's
// workers: the processes whose parent is one of the target's (nginx's
// master forks them), or every process of a target without children
// (master_process off). One that exits meanwhile is left out.
func workerFiles(f linux.FS, t *target.Target) ([]WorkerFiles, error) {
	if t == nil {
		return nil, nil
	}
	in := map[int]bool{}
	for _, w := range t.Procs {
		in[w.PID] = true
	}
	var procs []linux.Process
	for _, w := range t.Procs {
		if in[w.PPID] {
			procs = append(procs, w.Process)
		}
	}
	if len(procs) == 0 {
		for _, w := range t.Procs {
			procs = append(procs, w.Process)
		}
	}
	var out []WorkerFiles
	for _, p := range procs {
		n, err := f.CountFDs(p.PID)
		if errors.Is(err, linux.ErrNoProcess) {
			continue
		}
		if err != nil {
			return nil, err
		}
		l, err := f.NoFileLimit(p.PID)
		if errors.Is(err, linux.ErrNoProcess) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, WorkerFiles{Process: p, Open: n, Limit: l})
	}
	return out, nil
}

// statusRequest is the stub_status request the options describe, the
// password read from --status-password-file (its first line).
func (o *Options) statusRequest() (StatusRequest, error) {
	r := StatusRequest{URL: o.StatusURL, Insecure: o.StatusInsecure, Host: o.StatusHost, User: o.StatusUser}
	if o.StatusPassFile == "" {
		return r, nil
	}
	pw, err := linux.ReadFirstLine(o.StatusPassFile, linux.MaxSecretLine)
	if err != nil {
		return r, fmt.Errorf("--status-password-file: %w", err)
	}
	r.Password = pw
	if r.Password == "" {
		return r, fmt.Errorf("--status-password-file %s is empty: expected the password on its first line", o.StatusPassFile)
	}
	return r, nil
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
