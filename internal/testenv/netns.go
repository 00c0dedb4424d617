package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/linux"
)

// Netns is a network namespace created by a test and deleted when it ends.
type Netns struct {
	Name   string
	t      testing.TB
	ctLock *os.File // the conntrack test lock (NewConntrackNetns)
}

var nsSeq atomic.Int64

// NewNetns creates a fresh network namespace named after prefix, the
// process id and a counter (so parallel test binaries never collide), with
// loopback up. It needs root and iproute2.
func NewNetns(t testing.TB, prefix string) *Netns {
	t.Helper()
	Require(t, "netns")
	name := fmt.Sprintf("oc-%s-%d-%d", prefix, os.Getpid(), nsSeq.Add(1))
	if len(name) > 40 {
		name = name[:40]
	}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		Missing(t, "cannot create a network namespace: %v: %s", err, out)
	}
	ns := &Netns{Name: name, t: t}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ns.MustRun("ip", "link", "set", "lo", "up")
	return ns
}

// Command returns a command that runs inside the namespace.
func (n *Netns) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// MustRun runs a command inside the namespace and fails the test on error.
func (n *Netns) MustRun(name string, args ...string) string {
	n.t.Helper()
	out, err := n.Command(name, args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("in netns %s: %s %s: %v\n%s", n.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Sysctl sets a sysctl inside the namespace (net.* sysctls are per
// namespace, so this never touches the host's) and reads it back: some
// (net.core.rmem_max) are global on recent kernels and refuse the write.
func (n *Netns) Sysctl(key, value string) {
	n.t.Helper()
	n.MustRun("sysctl", "-q", "-w", key+"="+value)
	got := strings.Join(strings.Fields(n.MustRun("sysctl", "-n", key)), " ")
	if want := strings.Join(strings.Fields(value), " "); got != want {
		n.t.Fatalf("in netns %s: sysctl %s is %q after writing %q (not per namespace on this kernel?)", n.Name, key, got, want)
	}
}

// Do runs f on an OS thread that has entered the namespace, so sockets f
// creates live there; the thread is moved back afterwards.
func (n *Netns) Do(f func() error) error {
	fd, err := unix.Open("/run/netns/"+n.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return linux.InNetns(fd, f)
}

// Veth joins two namespaces with a veth pair and gives each end an
// address (CIDR form, e.g. "10.99.1.1/24"; these addresses exist only
// inside the test's namespaces).
func Veth(t testing.TB, a *Netns, addrA string, b *Netns, addrB string) {
	t.Helper()
	ifa := fmt.Sprintf("va%d", nsSeq.Add(1))
	ifb := fmt.Sprintf("vb%d", nsSeq.Add(1))
	if out, err := exec.Command("ip", "link", "add", ifa, "netns", a.Name, "type", "veth", "peer", "name", ifb, "netns", b.Name).CombinedOutput(); err != nil {
		t.Fatalf("creating veth pair: %v: %s", err, out)
	}
	a.MustRun("ip", "addr", "add", addrA, "dev", ifa)
	a.MustRun("ip", "link", "set", ifa, "up")
	b.MustRun("ip", "addr", "add", addrB, "dev", ifb)
	b.MustRun("ip", "link", "set", ifb, "up")
}

// ID is the namespace's identity as /proc/PID/ns/net reads it
// ("net:[INODE]"), the form checks print in their details.
func (n *Netns) ID() string {
	n.t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/run/netns/"+n.Name, &st); err != nil {
		n.t.Fatalf("netns %s: %v", n.Name, err)
	}
	return fmt.Sprintf("net:[%d]", st.Ino)
}

// CommandAs returns a command that runs inside the namespace as uid/gid
// with no supplementary groups (util-linux setpriv drops the privilege
// after ip netns exec entered the namespace, which needs root).
func (n *Netns) CommandAs(uid, gid uint32, name string, args ...string) *exec.Cmd {
	return n.Command("setpriv", append([]string{fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", gid), "--clear-groups", "--", name}, args...)...)
}
