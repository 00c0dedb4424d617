package conntrack

import (
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/testenv"
)

// openNetns opens a test namespace the way the check enters one.
func openNetns(t *testing.T, ns *testenv.Netns) Namespace {
	t.Helper()
	path := "/run/netns/" + ns.Name
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	n := &linux.Netns{ID: fmt.Sprintf("net:[%d]", st.Ino), FD: fd}
	t.Cleanup(n.Close)
	return Namespace{Netns: n, Desc: "netns " + ns.Name, Enter: "ip netns exec " + ns.Name + " "}
}

// TestGatherCountsAsConntrackTools makes real tracked connections in a
// namespace and compares what Gather reads with conntrack-tools run in
// the same namespace: the count with `conntrack -C`, every per-CPU
// counter with `conntrack -S`.
func TestGatherCountsAsConntrackTools(t *testing.T) {
	ns := testenv.NewConntrackNetns(t, "ctgather")
	target := openNetns(t, ns)

	const conns = 25
	clients := ns.TrackTCP(conns)
	obs, err := Gather(linux.Host, target, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if !obs.InUse || obs.Count != conns {
		t.Fatalf("in use %v, count %d, want %d tracked connections", obs.InUse, obs.Count, conns)
	}
	if c := ns.ConntrackCount(); c != obs.Count {
		t.Fatalf("count %d, conntrack -C says %d", obs.Count, c)
	}
	host, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_max")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(obs.Max)+"\n" != string(host) || obs.Buckets <= 0 {
		t.Fatalf("max %d (host %q), buckets %d", obs.Max, host, obs.Buckets)
	}

	// Untrackable packets for the invalid counter: with loose pick-up off,
	// data on a connection whose entry was flushed matches nothing and is
	// no SYN.
	ns.Sysctl("net.netfilter.nf_conntrack_tcp_loose", "0")
	ns.MustRun("conntrack", "-F")
	for _, c := range clients {
		if _, err := c.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}

	obs, err = Gather(linux.Host, target, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	tools := ns.ConntrackStats()
	if len(tools) != len(obs.Stat.CPUs) {
		t.Fatalf("%d CPU lines, conntrack -S has %d", len(obs.Stat.CPUs), len(tools))
	}
	for i, c := range obs.Stat.CPUs {
		for name, v := range map[string]uint64{
			"found": c.Found, "invalid": c.Invalid, "insert": c.Insert, "insert_failed": c.InsertFailed,
			"drop": c.Drop, "early_drop": c.EarlyDrop, "error": c.Error, "search_restart": c.SearchRestart,
		} {
			if tools[i][name] != v {
				t.Errorf("cpu %d %s = %d, conntrack -S says %d", i, name, v, tools[i][name])
			}
		}
	}
	if obs.Stat.Total().Invalid == 0 {
		t.Fatalf("no invalid packets counted after writing on %d untracked connections: %+v", conns, obs.Stat)
	}
}
