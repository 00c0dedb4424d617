package conntrack

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/target"
	"github.com/opschecks/opschecks/internal/testenv"
)

// openNetns opens a test namespace as --netns does.
func openNetns(t *testing.T, ns *testenv.Netns) Namespace {
	t.Helper()
	n, err := linux.Host.OpenNetnsFile("/run/netns/" + ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	out := Namespace{Netns: n}
	out.Desc, out.Enter = target.Describe(n)
	return out
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

// procTree writes a fixture /proc below a temporary root: files maps
// paths below proc/ to contents.
func procTree(t *testing.T, files map[string]string) linux.FS {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, "proc", p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return linux.Under(root)
}

var keepaliveFiles = map[string]string{
	"sys/net/ipv4/tcp_keepalive_time": "7200\n", "sys/net/ipv4/tcp_keepalive_intvl": "75\n", "sys/net/ipv4/tcp_keepalive_probes": "9\n",
}

func withKeepalive(m map[string]string) map[string]string {
	for k, v := range keepaliveFiles {
		m[k] = v
	}
	return m
}

// TestGatherFixtures reads fixture /proc trees: a kernel without
// nf_conntrack, one without CONFIG_NF_CONNTRACK_PROCFS, a full one.
func TestGatherFixtures(t *testing.T) {
	stat, err := os.ReadFile(filepath.Join("..", "linux", "testdata", "nf_conntrack", "5.4-busy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tracked := func() map[string]string {
		return withKeepalive(map[string]string{
			"sys/net/netfilter/nf_conntrack_count": "262120\n", "sys/net/netfilter/nf_conntrack_max": "262144\n",
			"sys/net/netfilter/nf_conntrack_buckets": "65536\n", "sys/net/netfilter/nf_conntrack_tcp_timeout_established": "3600\n",
		})
	}
	now := func() time.Time { return t0 }
	ns := Namespace{Netns: &linux.Netns{}, Desc: "fixture"}

	obs, err := Gather(procTree(t, withKeepalive(map[string]string{})), ns, now)
	if err != nil || obs.InUse {
		t.Fatalf("no nf_conntrack: %+v %v", obs, err)
	}
	// A directory that is no procfs at all (a mistyped --procfs) is not a
	// kernel without connection tracking.
	notProc := linux.NewFS(t.TempDir(), "/sys")
	if _, err := Gather(notProc, ns, now); err == nil || err.Error() != notProc.Proc+" is not a procfs tree (no sys/net): expected --procfs to name where procfs is mounted" {
		t.Fatalf("not a procfs: %v", err)
	}

	obs, err = Gather(procTree(t, tracked()), ns, now)
	if err != nil || !obs.InUse || obs.StatErr == nil || !strings.Contains(obs.StatErr.Error(), "CONFIG_NF_CONNTRACK_PROCFS") {
		t.Fatalf("no statistics file: %+v %v", obs, err)
	}

	files := tracked()
	files["net/stat/nf_conntrack"] = string(stat)
	obs, err = Gather(procTree(t, files), ns, now)
	if err != nil || obs.StatErr != nil {
		t.Fatal(err, obs.StatErr)
	}
	want := Observation{Netns: ns, Time: t0, InUse: true, Count: 262120, Max: 262144, Buckets: 65536,
		Stat: obs.Stat, TCPTimeoutEstablished: 3600, KeepaliveTime: 7200, KeepaliveIntvl: 75, KeepaliveProbes: 9}
	if !reflect.DeepEqual(obs, want) || obs.Stat.Total().Drop != 0x3e8+0x18 || len(obs.Stat.CPUs) != 4 {
		t.Fatalf("got %+v\nwant %+v", obs, want)
	}

	files = tracked()
	files["sys/net/netfilter/nf_conntrack_tcp_timeout_established"] = "soon\n"
	if _, err := Gather(procTree(t, files), ns, now); err == nil || !strings.Contains(err.Error(), `"soon" is not an integer`) {
		t.Fatalf("garbage timeout: %v", err)
	}
}
