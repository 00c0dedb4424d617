package conntrack

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/state"
)

// Namespace is the network namespace a run looks into, as the output
// names it.
type Namespace struct {
	*linux.Netns
	Desc  string // "the network namespace of PID 42 (net:[4026532999])"
	Enter string // command prefix that runs a command inside it ("ip netns exec blue "), empty for our own
}

// Observation is everything one run reads; the verdicts (judge.go) are
// pure functions of it.
type Observation struct {
	Netns Namespace
	Time  time.Time // when the counters were read

	// InUse is false when the kernel tracks no connections (the
	// nf_conntrack module is not loaded); nothing else is then read.
	InUse bool

	Count   int64 // net.netfilter.nf_conntrack_count: entries of this namespace
	Max     int64 // net.netfilter.nf_conntrack_max: global, the limit of every namespace
	Buckets int64 // net.netfilter.nf_conntrack_buckets: global hash table size

	// Stat holds the per-CPU counters of /proc/net/stat/nf_conntrack;
	// StatErr says why they could not be read (then Stat is zero).
	Stat    linux.ConntrackStat
	StatErr error

	// TCPTimeoutEstablished is net.netfilter.nf_conntrack_tcp_timeout_established
	// in seconds: how long an idle established flow stays tracked.
	TCPTimeoutEstablished int64
	// Keepalive holds net.ipv4.tcp_keepalive_time, _intvl and _probes of
	// the same namespace, in seconds (probes: a count).
	KeepaliveTime, KeepaliveIntvl, KeepaliveProbes int64

	// Rates are the per-second rates of the counters since the previous
	// run (state.Sample of Sample(); set by Check, not by Gather).
	Rates state.Rates
}

// Sysctl names read by Gather.
const (
	sysctlCount   = "net.netfilter.nf_conntrack_count"
	sysctlMax     = "net.netfilter.nf_conntrack_max"
	sysctlBuckets = "net.netfilter.nf_conntrack_buckets"
)

// errNotLoaded stops the reads inside the namespace when the kernel has
// no connection tracking (no nf_conntrack_count).
var errNotLoaded = errors.New("nf_conntrack is not loaded")

// Gather reads the connection-tracking table of ns. nf_conntrack_max and
// nf_conntrack_buckets are global and are read in the check's own
// namespace (a namespace owned by another user namespace hides them); the
// count and the timeouts are per namespace and are read from a thread
// inside ns, the per-CPU statistics as ns sees /proc/net
// (linux.FS.ReadNet). The module being absent is not an error:
// Observation.InUse is then false.
func Gather(fsys linux.FS, ns Namespace, now func() time.Time) (Observation, error) {
	obs := Observation{Netns: ns}
	err := ns.Do(func() error {
		count, err := fsys.SysctlInt(sysctlCount)
		if errors.Is(err, fs.ErrNotExist) {
			// Absent from a procfs, or no procfs at all (a mistyped
			// --procfs): only the first means "not in use".
			if _, err := os.Stat(fsys.ProcPath("sys", "net")); err != nil {
				return fmt.Errorf("%s is not a procfs tree (no sys/net): expected --procfs to name where procfs is mounted", fsys.Proc)
			}
			return errNotLoaded
		}
		if err != nil {
			return err
		}
		obs.InUse, obs.Count = true, count
		v, err := fsys.SysctlIntEach(linux.SysctlConntrackTCPTimeoutEstablished, "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes")
		if err != nil {
			return err
		}
		obs.TCPTimeoutEstablished, obs.KeepaliveTime, obs.KeepaliveIntvl, obs.KeepaliveProbes = v[0], v[1], v[2], v[3]
		return nil
	})
	if errors.Is(err, errNotLoaded) {
		return obs, nil
	}
	if err != nil {
		return obs, err
	}
	obs.Time = now()
	obs.Stat, obs.StatErr = readStat(fsys, ns.Netns)
	v, err := fsys.SysctlIntEach(sysctlMax, sysctlBuckets)
	if err != nil {
		return obs, err
	}
	obs.Max, obs.Buckets = v[0], v[1]
	return obs, nil
}

// readStat reads /proc/net/stat/nf_conntrack as ns sees it.
func readStat(fsys linux.FS, ns *linux.Netns) (linux.ConntrackStat, error) {
	b, path, err := fsys.ReadNet(ns, "stat", "nf_conntrack")
	if errors.Is(err, fs.ErrNotExist) {
		return linux.ConntrackStat{}, fmt.Errorf("%w (the kernel was built without CONFIG_NF_CONNTRACK_PROCFS)", err)
	}
	if err != nil {
		return linux.ConntrackStat{}, err
	}
	st, err := linux.ParseConntrackStat(bytes.NewReader(b))
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// Sample is the counters a run keeps for the next one's rates.
func (o Observation) Sample() state.Counters {
	t := o.Stat.Total()
	return state.Counters{Time: o.Time, Of: o.Netns.ID, Values: map[string]float64{
		"drop": float64(t.Drop), "early_drop": float64(t.EarlyDrop), "insert_failed": float64(t.InsertFailed),
		"search_restart": float64(t.SearchRestart), "invalid": float64(t.Invalid), "error": float64(t.Error),
	}}
}
