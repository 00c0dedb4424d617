package numa

import (
	"context"
	"github.com/opschecks/opschecks/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// options are the options of a run on the fixture host (sysfs tree) with
// the fixture processes, and a fresh state directory.
func options(t *testing.T, host string, args ...string) *Options {
	base := []string{"--sysfs", filepath.Join("testdata", host, "sys"), "--procfs", filepath.Join("testdata", "procs", "proc"), "--state-dir", t.TempDir()}
	return testenv.ParseOptions[Options](t, append(base, args...)...)
}

// run gathers (through the fixture trees) and judges at time now, and
// renders the result as the binary would.
func run(t *testing.T, o *Options, now time.Time) (string, plugin.State) {
	t.Helper()
	obs, err := Gather(context.Background(), o.Mounts.FS(), o, now)
	if err != nil {
		return "NUMA " + plugin.StateOf(err).String() + " - " + err.Error(), plugin.StateOf(err)
	}
	return plugin.Render("NUMA", Judge(obs, o))
}

func TestCheckFixtures(t *testing.T) {
	tests := []struct {
		name   string
		host   string
		args   []string
		state  plugin.State
		want   []string // substrings of the output
		golden string
	}{
		{"one node", "host1", nil, plugin.OK,
			[]string{"NUMA OK - not a NUMA machine (1 node) | nodes=1;;;1 node0_free=3242754048B;;;0;5463289856 node0_total=5463289856B;;;0 zone_reclaim_mode=0;;;0;7"}, ""},
		{"one node require", "host1", []string{"--require-numa"}, plugin.Critical,
			[]string{"NUMA CRITICAL - not a NUMA machine (1 node), but --require-numa was given", "node interleaving is off in the BIOS"}, ""},
		{"one node process not checked", "host1", []string{"--pid", "1002"}, plugin.OK,
			[]string{"mysqld (PID 1002): memory policy not checked"}, ""},
		{"two nodes no process", "host2", nil, plugin.OK,
			[]string{"NUMA OK - 2 NUMA nodes - zone_reclaim_mode 0 |", "miss_ratio=0.206%;10;25;0;100", "not measured in this run, so left out of the perfdata: node0_numa_miss_rate, node0_numa_foreign_rate", "node1: cpus 8-15, 39.3 GiB free of 63.0 GiB"}, "host2.txt"},
		{"interleaved", "host2", []string{"--pid", "1001"}, plugin.OK,
			[]string{"NUMA OK - 2 NUMA nodes - 1 of 1 process interleaved -", "[OK] mongod (PID 1001): memory policy interleave:0-1", "interleaved=100%"}, ""},
		{"default policy", "host2", []string{"--pid", "1002"}, plugin.Warning,
			[]string{"NUMA WARNING - mysqld (PID 1002) is not interleaved (memory policy default) -", "numactl --interleave=all <command>", "NUMAPolicy=interleave and NUMAMask=all", "interleaved=0%"}, "default.txt"},
		{"default critical", "host2", []string{"--pid", "1002", "--policy-state", "critical"}, plugin.Critical,
			[]string{"NUMA CRITICAL - mysqld (PID 1002) is not interleaved"}, ""},
		{"prefer", "host2", []string{"--pid", "1004"}, plugin.Warning,
			[]string{"postgres (PID 1004) is not interleaved (prefers node 0)"}, ""},
		{"bind single", "host2", []string{"--pid", "1003"}, plugin.Warning,
			[]string{"redis-server (PID 1003) is not interleaved (bound to node 1)", "pass --allow-bind"}, ""},
		{"bind single allowed", "host2", []string{"--pid", "1003", "--allow-bind"}, plugin.OK,
			[]string{"redis-server (PID 1003): bound to node 1 (allowed by --allow-bind)"}, ""},
		{"bind multi not allowed", "host2", []string{"--pid", "1008", "--allow-bind"}, plugin.Warning,
			[]string{"app (PID 1008) is not interleaved (bound to nodes 0-1)"}, ""},
		{"weighted interleave on four nodes", "host4", []string{"--pid", "1006"}, plugin.OK,
			[]string{"NUMA OK - 4 NUMA nodes (0-2 with memory) -", "weighted interleave:0-3", "node3: cpus 12-15, no memory", "node3_total=0B"}, "host4.txt"},
		{"interleave over part of the nodes", "host4", []string{"--pid", "1001"}, plugin.OK,
			[]string{"it interleaves over nodes 0-1 only; node 2 also has memory"}, ""},
		{"process by name", "host2", []string{"--process", "mongod"}, plugin.OK,
			[]string{"2 of 2 processes interleaved", "mongod (PID 1001)", "mongod (PID 1006)"}, ""},
		{"pidfile and pid deduplicated", "host2", []string{"--pid", "1001", "--pidfile", "testdata/mongod.pid"}, plugin.OK,
			[]string{"1 of 1 process interleaved"}, ""},
		{"distribution", "host2", []string{"--pid", "1001", "--pid", "1002", "--distribution"}, plugin.Critical,
			[]string{"mysqld (PID 1002) is not interleaved (memory policy default), pages 89.9% imbalanced over nodes 0-1",
				"imbalance=89.922%;20;50;0;100", "interleaved_pages=", "proc_node0=", "N0 2.1 GiB (95%), N1 116.5 MiB (5%)",
				"1.1 GiB resident in 6 mappings, imbalance 0.0% over nodes 0-1"}, "distribution.txt"},
		{"distribution warning", "host2", []string{"--pid", "1001", "--distribution", "-w", "@0:1"}, plugin.Warning, []string{"mongod (PID 1001): memory policy interleave:0-1, pages 0.0% imbalanced", "imbalance=0.001%;@1;50"}, ""},
		{"no mappings", "host2", []string{"--pid", "1007"}, plugin.Unknown,
			[]string{"has no memory mappings"}, ""},
		{"malformed first line", "host2", []string{"--pid", "1009"}, plugin.Unknown,
			[]string{`NUMA UNKNOWN - testdata/procs/proc/1009/numa_maps: malformed numa_maps line "55a4c8e00000 spread:0-1 anon=1 N0=1 kernelpagesize_kB=4": unknown memory policy "spread:0-1"`}, ""},
		{"malformed later line, default mode reads one", "host2", []string{"--pid", "1005"}, plugin.OK,
			[]string{"broken (PID 1005): memory policy interleave:0-1"}, ""},
		{"malformed later line, distribution", "host2", []string{"--pid", "1005", "--distribution"}, plugin.Unknown,
			[]string{`line 2: malformed numa_maps line "7f3b40000000 interleave:0-1 anon=lots`}, ""},
		// The service not running: CRITICAL, as in every check (target).
		{"no such pid", "host2", []string{"--pid", "999999"}, plugin.Critical,
			[]string{"NUMA CRITICAL - no process with PID 999999 is running"}, ""},
		{"no such process", "host2", []string{"--process", "mariadbd"}, plugin.Critical,
			[]string{`NUMA CRITICAL - no process named "mariadbd" is running`}, ""},
		{"pid file of a dead process", "host2", []string{"--pidfile", "testdata/dead.pid"}, plugin.Critical,
			[]string{"NUMA CRITICAL - pid file testdata/dead.pid names PID 999998, which is not running: the service is down"}, ""},
		{"pid file missing", "host2", []string{"--pidfile", "testdata/none.pid"}, plugin.Critical,
			[]string{"NUMA CRITICAL - pid file testdata/none.pid does not exist: the service is not running"}, ""},
		{"bad pidfile", "host2", []string{"--pidfile", "testdata/bad.pid"}, plugin.Unknown,
			[]string{"does not hold a PID (found 7 bytes that are not a number, not shown)"}, ""},
		{"zone reclaim on", "host2", []string{"--procfs", "testdata/zr3/proc"}, plugin.Warning,
			[]string{"NUMA WARNING - zone_reclaim_mode 3 (1: reclaim on the local node before allocating on another, 2: reclaim writes dirty pages out)",
				"sysctl -w vm.zone_reclaim_mode=0", "zone_reclaim_mode=3;;;0;7"}, ""},
		{"zone reclaim on one node", "host1", []string{"--procfs", "testdata/zr3/proc"}, plugin.OK,
			[]string{"NUMA OK - not a NUMA machine (1 node) - zone_reclaim_mode 3"}, ""},
		{"miss ratio since boot over threshold", "host4", []string{"--miss-warning", "1"}, plugin.Warning,
			[]string{"NUMA WARNING - numa_miss 1.56% of allocations since boot", "miss_ratio=1.559%;1;25", "allocations fall back to a remote node"}, ""},
		{"not a sysfs", "nonexistent", nil, plugin.Unknown,
			[]string{"testdata/nonexistent/sys is not a sysfs tree"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := run(t, options(t, tt.host, tt.args...), t0)
			if st != tt.state {
				t.Errorf("state %s, want %s\n%s", st, tt.state, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.golden != "" {
				testenv.Golden(t, tt.golden, out)
			}
		})
	}
}

// TestCheckRates runs the check twice over a sysfs copy whose counters
// move in between, as they do on a live machine.
func TestCheckRates(t *testing.T) {
	sys := t.TempDir()
	copyTree(t, filepath.Join("testdata", "host2"), sys)
	cfg := options(t, "host2", "--sysfs", filepath.Join(sys, "sys"))
	now := t0

	out, st := run(t, cfg, now)
	if st != plugin.OK || !strings.Contains(out, "since boot") || !strings.Contains(out, "rates: collecting baseline") {
		t.Fatalf("first run: %s\n%s", st, out)
	}
	// 60 s later: node0 had 1000 hits and 500 misses (33%), node1 nothing.
	write := func(node, body string) {
		if err := os.WriteFile(filepath.Join(sys, "sys/devices/system/node", node, "numastat"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("node0", "numa_hit 912346678\nnuma_miss 1235067\nnuma_foreign 2345678\ninterleave_hit 40472\nlocal_node 1\nother_node 1\n")
	now = now.Add(60 * time.Second)
	out, st = run(t, cfg, now)
	for _, w := range []string{
		"NUMA CRITICAL - numa_miss 33.33% of allocations since the last run",
		"miss_ratio=33.333%;10;25;0;100",
		"node0_miss_ratio=33.333%", "node0_numa_miss_rate=8.333;;;0", "node0_interleave_hit_rate=1;;;0",
		"node1_numa_miss_rate=0;;;0",
		"node0: numa_miss 33.33% of allocations, numa_miss 8.333/s, numa_foreign 0/s, interleave_hit 1/s",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("second run lacks %q:\n%s", w, out)
		}
	}
	if st != plugin.Critical {
		t.Errorf("second run: %s, want CRITICAL", st)
	}
	// A reboot resets the counters: re-baseline instead of a negative rate.
	write("node0", "numa_hit 10\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 0\n")
	now = now.Add(60 * time.Second)
	out, _ = run(t, cfg, now)
	if !strings.Contains(out, "went backwards") || !strings.Contains(out, "not measured in this run, so left out of the perfdata: node0_numa_miss_rate") {
		t.Errorf("after a counter reset:\n%s", out)
	}
}

func TestCheckStateDirUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := options(t, "host2", "--state-dir", filepath.Join(file, "sub")) // below a regular file
	out, st := run(t, cfg, t0)
	// The one behaviour of every rate check: an UNKNOWN finding naming the
	// directory, the other findings (the ratio since boot) still made.
	if st != plugin.Unknown || !strings.Contains(out, "NUMA UNKNOWN - numastat rates: cannot create state directory") || !strings.Contains(out, "numa_miss 0.21% of allocations since boot") {
		t.Errorf("unusable state dir: %s\n%s", st, out)
	}
}

func TestCheckDeadline(t *testing.T) {
	cfg := options(t, "host2", "--pid", "1001")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Gather(ctx, cfg.Mounts.FS(), cfg, t0); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled context: %v", err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
