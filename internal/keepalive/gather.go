package keepalive

import (
	"context"
	"errors"
	"io/fs"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/target"
)

// Sysctls are the keepalive settings of one network namespace, in seconds.
type Sysctls struct {
	Time, Intvl, Probes int64
}

// Namespace is the network namespace the check audits, as the output
// names it.
type Namespace struct {
	Desc  string // "the network namespace of PID 12 (net:[4026532281])"
	Enter string // command prefix that runs a command inside it; "" for ours
}

// Observation is what one run reads: the keepalive sysctls of the
// namespace that matters and, when asked for, the per-socket audit.
type Observation struct {
	Namespace Namespace
	Sysctls   Sysctls
	// Audit is the per-socket audit, nil when it did not run. It is
	// already classified: the audit counts each socket as the kernel
	// reports it (see the package doc).
	Audit *Audit
	Scope string // which sockets were audited, for the output: " of sshd (PID 812)"
	// ConntrackTimeout is the namespace's
	// net.netfilter.nf_conntrack_tcp_timeout_established in seconds, read
	// for --idle-timeout conntrack; 0 when not read or when the kernel
	// tracks no connections (NoConntrack).
	ConntrackTimeout int64
	NoConntrack      bool
}

// Idle is the idle timeout the observation is judged against: the
// option's, or for the conntrack preset the namespace's own
// nf_conntrack_tcp_timeout_established when the kernel tracks
// connections.
func (obs *Observation) Idle(o *Options) IdleTimeout {
	if o.IdleTimeout.Preset == PresetConntrack && obs.ConntrackTimeout > 0 {
		return IdleTimeout{D: secs(obs.ConntrackTimeout), Preset: PresetConntrack, Sysctl: "nf_conntrack_tcp_timeout_established"}
	}
	return o.IdleTimeout
}

// Check runs the check on this host: Gather, then Judge.
func Check(ctx context.Context, o *Options, _ plugin.Env) (*plugin.Result, error) {
	obs, err := Gather(ctx, linux.Host, o)
	if err != nil {
		return nil, err
	}
	return Judge(obs, o), nil
}

// Gather resolves the watched processes, enters their network namespace,
// reads its keepalive sysctls and, when asked for, audits its
// established sockets.
func Gather(ctx context.Context, f linux.FS, o *Options) (*Observation, error) {
	t, err := target.Resolve(f, o.Process, target.Want{})
	if err != nil {
		return nil, err
	}
	obs := &Observation{}
	filter := Filter{Ports: o.Port, Remotes: o.Remote}
	if t != nil {
		if filter.Inodes, err = t.SocketInodes(f); err != nil {
			return nil, err
		}
		obs.Scope = " of " + t.What
	}
	ns, err := target.Namespace(f, t, target.Netns{})
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	obs.Namespace.Desc, obs.Namespace.Enter = target.Describe(ns)

	// /proc/sys/net shows the namespace of the thread that opens it.
	var v []int64
	err = ns.Do(func() (err error) {
		v, err = f.SysctlIntEach("net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes")
		if err != nil || o.IdleTimeout.Preset != PresetConntrack {
			return err
		}
		obs.ConntrackTimeout, err = f.SysctlInt(linux.SysctlConntrackTCPTimeoutEstablished)
		if errors.Is(err, fs.ErrNotExist) {
			obs.NoConntrack, err = true, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	obs.Sysctls = Sysctls{Time: v[0], Intvl: v[1], Probes: v[2]}

	if o.perSocket() {
		obs.Audit = NewAudit(obs.Idle(o).D, filter)
		q := linux.Query{States: linux.StateMask(linux.TCPEstablished), Info: true, NetNSFD: ns.FD}
		if err := linux.DumpTCP(ctx, q, obs.Audit.Add); err != nil {
			return nil, err
		}
	}
	return obs, nil
}
