package testenv

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ConntrackLock is held shared by every test (and the benchmark) that
// tracks connections, and exclusively while nf_conntrack_max is lowered.
const ConntrackLock = "/run/opschecks-conntrack.lock"

// Connection tracking is per network namespace, but its limit,
// net.netfilter.nf_conntrack_max, is global and writable only in the
// initial namespace. Every test that tracks connections holds a shared
// lock on ConntrackLock; LowerConntrackMax holds it exclusively, so no
// other test of this project loses flows while the limit is low. The
// original limit is written to conntrackMaxSaved before it is lowered and
// restored by a cleanup that always runs, and by the next test that takes
// the lock should a run have been killed in between.
const (
	conntrackMaxSaved = "/run/opschecks-conntrack-max.saved"
	conntrackMaxPath  = "/proc/sys/net/netfilter/nf_conntrack_max"
)

// lockConntrack takes (how: unix.LOCK_SH or LOCK_EX) or converts the lock
// held on f.
func lockConntrack(t testing.TB, f *os.File, how int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for unix.Flock(int(f.Fd()), how|unix.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("conntrack test lock %s held for 2 minutes by another test", ConntrackLock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	restoreSavedConntrackMax(t)
}

// restoreSavedConntrackMax puts back a limit left lowered by a killed run.
func restoreSavedConntrackMax(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(conntrackMaxSaved)
	if err != nil {
		return
	}
	if err := os.WriteFile(conntrackMaxPath, b, 0o644); err != nil {
		t.Fatalf("restoring nf_conntrack_max %s from %s: %v", strings.TrimSpace(string(b)), conntrackMaxSaved, err)
	}
	os.Remove(conntrackMaxSaved)
}

// NewConntrackNetns creates a network namespace (NewNetns) in which the
// kernel tracks connections: an iptables rule with a conntrack match, as
// a stateful firewall has, makes netfilter track every flow of the
// namespace. It needs root, iproute2, iptables and conntrack-tools (whose
// `conntrack` the tests compare with).
func NewConntrackNetns(t testing.TB, prefix string) *Netns {
	t.Helper()
	Require(t, "netns", "iptables", "conntrack")
	if _, err := os.Stat(conntrackMaxPath); err != nil {
		Missing(t, "the kernel has no connection tracking (%v)", err)
	}
	f, err := os.OpenFile(ConntrackLock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("conntrack test lock: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	lockConntrack(t, f, unix.LOCK_SH)
	ns := NewNetns(t, prefix)
	ns.ctLock = f
	ns.MustRun("iptables", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW,ESTABLISHED,RELATED,INVALID", "-j", "ACCEPT")
	return ns
}

// ConntrackCount is `conntrack -C` inside the namespace: conntrack-tools'
// count of the namespace's tracked connections.
func (n *Netns) ConntrackCount() int64 {
	n.t.Helper()
	out := strings.TrimSpace(n.MustRun("conntrack", "-C"))
	v, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		n.t.Fatalf("conntrack -C printed %q", out)
	}
	return v
}

// ConntrackStats is `conntrack -S` inside the namespace, one map per CPU
// line of "cpu=N found=... invalid=... drop=..." (conntrack-tools prints
// the CTA_STATS_* attributes of each CPU's ctnetlink statistics message by
// name; the names differ from the /proc header: "error" is icmp_error).
func (n *Netns) ConntrackStats() []map[string]uint64 {
	n.t.Helper()
	out := n.MustRun("conntrack", "-S")
	var cpus []map[string]uint64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m := map[string]uint64{}
		for _, kv := range strings.Fields(line) {
			k, v, ok := strings.Cut(kv, "=")
			x, err := strconv.ParseUint(v, 10, 64)
			if !ok || err != nil {
				n.t.Fatalf("conntrack -S: cannot read %q in %q", kv, line)
			}
			m[k] = x
		}
		if len(cpus) != int(m["cpu"]) {
			n.t.Fatalf("conntrack -S: line %q out of order (CPUs not numbered 0..n-1?)", line)
		}
		cpus = append(cpus, m)
	}
	return cpus
}

// TrackTCP opens n loopback TCP connections inside the namespace and
// keeps them open until the test ends. Each is one tracked connection
// (loopback sees both directions of one flow), ASSURED once established,
// so a full table cannot evict it. It returns the client ends.
func (n *Netns) TrackTCP(count int) []net.Conn {
	n.t.Helper()
	var ln net.Listener
	var conns, clients []net.Conn
	n.t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	err := n.Do(func() error {
		var err error
		if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			return err
		}
		defer ln.Close()
		for range count {
			c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
			if err != nil {
				return err
			}
			conns, clients = append(conns, c), append(clients, c)
			if c, err = ln.Accept(); err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	})
	if err != nil {
		n.t.Fatalf("in netns %s: opening %d loopback connections: %v", n.Name, count, err)
	}
	return clients
}

// LowerConntrackMax sets the global nf_conntrack_max to max for as long as
// the function it returns is not called (and at most until the test
// ends): call it as soon as the full table has been observed. Other
// namespaces on the machine share the limit, so keep the window short.
// The namespace must come from NewConntrackNetns: its shared test lock is
// made exclusive for the window.
func (n *Netns) LowerConntrackMax(max int64) (restore func()) {
	t := n.t
	t.Helper()
	if n.ctLock == nil {
		t.Fatal("LowerConntrackMax needs a namespace from NewConntrackNetns")
	}
	lockConntrack(t, n.ctLock, unix.LOCK_EX)
	orig, err := os.ReadFile(conntrackMaxPath)
	if err != nil {
		t.Fatalf("reading nf_conntrack_max: %v", err)
	}
	if err := os.WriteFile(conntrackMaxSaved, orig, 0o600); err != nil {
		t.Fatalf("saving nf_conntrack_max: %v", err)
	}
	done := false
	restore = func() {
		if done {
			return
		}
		done = true
		defer lockConntrack(t, n.ctLock, unix.LOCK_SH)
		if err := os.WriteFile(conntrackMaxPath, orig, 0o644); err != nil {
			t.Errorf("restoring nf_conntrack_max %s: %v (kept in %s for the next test)", strings.TrimSpace(string(orig)), err, conntrackMaxSaved)
			return
		}
		os.Remove(conntrackMaxSaved)
	}
	t.Cleanup(restore)
	if err := os.WriteFile(conntrackMaxPath, []byte(fmt.Sprint(max)), 0o644); err != nil {
		restore()
		t.Fatalf("lowering nf_conntrack_max to %d: %v", max, err)
	}
	return restore
}
