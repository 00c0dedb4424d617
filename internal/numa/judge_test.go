package numa

import (
	"errors"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/testenv"
)

const gib = int64(1) << 30

// Literal observations for the table: a one-node machine, a two-node one.
var (
	oneNode = Topology{Nodes: []Node{{ID: 0, HasMemory: true, HasCPU: true, MemTotal: 8 * gib, MemFree: 4 * gib}}}
	twoNode = Topology{Nodes: []Node{
		{ID: 0, HasMemory: true, HasCPU: true, CPUs: "0-7", MemTotal: 64 * gib, MemFree: 20 * gib},
		{ID: 1, HasMemory: true, HasCPU: true, CPUs: "8-15", MemTotal: 64 * gib, MemFree: 40 * gib},
	}}
	zero, three = int64(0), int64(3)
	// since boot: node0 1% misses, node1 none
	bootStat = map[int]map[string]int64{
		0: {"numa_hit": 9900, "numa_miss": 100, "numa_foreign": 5, "interleave_hit": 7},
		1: {"numa_hit": 10000, "numa_miss": 0, "numa_foreign": 100, "interleave_hit": 7},
	}
	baseline = state.Rates{Note: "collecting baseline"}
)

func mongod(pid int, pol Policy) ProcObservation {
	return ProcObservation{Process: linux.Process{PID: pid, Comm: "mongod"}, Policy: pol}
}

var (
	interleaveAll = Policy{Mode: ModeInterleave, Nodes: []int{0, 1}}
	defaultPolicy = Policy{Mode: ModeDefault}
	bindOne       = Policy{Mode: ModeBind, Nodes: []int{1}}
)

// TestJudge: every verdict of check_numa from a literal observation and
// options; nothing is read.
func TestJudge(t *testing.T) {
	numaObs := func(procs ...ProcObservation) Observation {
		return Observation{Topology: twoNode, Procs: procs, ZoneReclaim: &zero, Numastat: bootStat, Rates: baseline}
	}
	tests := []struct {
		name  string
		obs   Observation
		args  []string
		state plugin.State
		lines []string // substrings of the rendered output
	}{
		{"one node", Observation{Topology: oneNode, ZoneReclaim: &zero}, nil, plugin.OK,
			[]string{"NUMA OK - not a NUMA machine (1 node) | nodes=1;;;1 node0_free=4294967296B;;;0;8589934592 node0_total=8589934592B;;;0 zone_reclaim_mode=0;;;0;7"}},
		{"one node, --require-numa", Observation{Topology: oneNode, ZoneReclaim: &zero}, []string{"--require-numa"}, plugin.Critical,
			[]string{"NUMA CRITICAL - not a NUMA machine (1 node), but --require-numa was given", "node interleaving is off in the BIOS"}},
		{"one node, no NUMA support", Observation{Topology: Topology{NoNUMA: true, Nodes: oneNode.Nodes}}, nil, plugin.OK,
			[]string{"NUMA OK - not a NUMA machine (the kernel has no NUMA support) | nodes=1"}},
		{"one node, a process is not checked", Observation{Topology: oneNode, ZoneReclaim: &three, Procs: []ProcObservation{mongod(7, Policy{})}}, nil, plugin.OK,
			[]string{"mongod (PID 7): memory policy not checked, nothing to interleave on one node", "zone_reclaim_mode 3 (1: reclaim on the local node before allocating on another, 2: reclaim writes dirty pages out)"}},
		{"two nodes, no process", numaObs(), nil, plugin.OK,
			[]string{"NUMA OK - 2 NUMA nodes - zone_reclaim_mode 0 |", "miss_ratio=0.5%;10;25;0;100", "node0: cpus 0-7, 20.0 GiB free of 64.0 GiB", "node0: numa_miss 1.00% of allocations", "rates: collecting baseline", "not measured in this run, so left out of the perfdata: node0_numa_miss_rate, node0_numa_foreign_rate"}},
		{"interleaved", numaObs(mongod(7, interleaveAll)), nil, plugin.OK,
			[]string{"NUMA OK - 2 NUMA nodes - 1 of 1 process interleaved -", "[OK] mongod (PID 7): memory policy interleave:0-1", "interleaved=100%"}},
		{"interleaved over part of the nodes", numaObs(mongod(7, Policy{Mode: ModeInterleave, Nodes: []int{0}})), nil, plugin.OK,
			[]string{"it interleaves over node 0 only; node 1 also has memory"}},
		{"not interleaved", numaObs(mongod(7, defaultPolicy)), nil, plugin.Warning,
			[]string{"NUMA WARNING - mongod (PID 7) is not interleaved (memory policy default) -", "numactl --interleave=all <command>", "interleaved=0%"}},
		{"not interleaved, --policy-state critical", numaObs(mongod(7, defaultPolicy)), []string{"--policy-state", "critical"}, plugin.Critical,
			[]string{"NUMA CRITICAL - mongod (PID 7) is not interleaved"}},
		{"prefers a node", numaObs(mongod(7, Policy{Mode: ModePrefer, Nodes: []int{0}})), nil, plugin.Warning,
			[]string{"mongod (PID 7) is not interleaved (prefers node 0)"}},
		{"bound to one node", numaObs(mongod(7, bindOne)), nil, plugin.Warning,
			[]string{"mongod (PID 7) is not interleaved (bound to node 1)", "pass --allow-bind"}},
		{"bound to one node, allowed", numaObs(mongod(7, bindOne)), []string{"--allow-bind"}, plugin.OK,
			[]string{"mongod (PID 7): bound to node 1 (allowed by --allow-bind)"}},
		{"bound to two nodes, not allowed", numaObs(mongod(7, Policy{Mode: ModeBind, Nodes: []int{0, 1}})), []string{"--allow-bind"}, plugin.Warning,
			[]string{"mongod (PID 7) is not interleaved (bound to nodes 0-1)"}},
		{"no memory mappings", numaObs(ProcObservation{Process: linux.Process{PID: 2, Comm: "kthreadd"}, Err: ErrNoMappings}), nil, plugin.Unknown,
			[]string{"NUMA UNKNOWN - kthreadd (PID 2): " + ErrNoMappings.Error()}},
		{"distribution imbalanced", numaObs(ProcObservation{Process: linux.Process{PID: 7, Comm: "mysqld"}, Policy: defaultPolicy,
			Dist: &Distribution{Mappings: 3, Bytes: map[int]int64{0: 9 * gib, 1: gib}}}), []string{"--distribution"}, plugin.Critical,
			[]string{"NUMA CRITICAL - mysqld (PID 7) is not interleaved (memory policy default), pages 80.0% imbalanced over nodes 0-1",
				"imbalance=80%;20;50;0;100", "proc_node0=9663676416B", "10.0 GiB resident in 3 mappings, imbalance 80.0% over nodes 0-1: N0 9.0 GiB (90%), N1 1.0 GiB (10%)"}},
		{"distribution balanced but warned", numaObs(ProcObservation{Process: linux.Process{PID: 7, Comm: "mongod"}, Policy: interleaveAll,
			Dist: &Distribution{Mappings: 1, InterleavedPart: 1, Bytes: map[int]int64{0: gib, 1: gib}}}), []string{"--distribution", "-w", "@0:1"}, plugin.Warning,
			[]string{"mongod (PID 7): memory policy interleave:0-1, pages 0.0% imbalanced over nodes 0-1", "imbalance=0%;@1;50", "interleaved_pages=100%"}},
		{"zone reclaim on a NUMA machine", Observation{Topology: twoNode, ZoneReclaim: &three, Numastat: bootStat, Rates: baseline}, nil, plugin.Warning,
			[]string{"NUMA WARNING - zone_reclaim_mode 3 (", "sysctl -w vm.zone_reclaim_mode=0"}},
		{"zone reclaim unreadable", Observation{Topology: twoNode, ZoneReclaimErr: errors.New("cannot read /proc/sys/vm/zone_reclaim_mode: permission denied"), Numastat: bootStat, Rates: baseline}, nil, plugin.Unknown,
			[]string{"NUMA UNKNOWN - cannot read /proc/sys/vm/zone_reclaim_mode: permission denied"}},
		{"miss ratio since boot over the warning", numaObs(), []string{"--miss-warning", "0.4"}, plugin.Warning,
			[]string{"NUMA WARNING - numa_miss 0.50% of allocations since boot", "miss_ratio=0.5%;0.4;25", "allocations fall back to a remote node"}},
		{"miss rates since the last run", Observation{Topology: twoNode, ZoneReclaim: &zero, Numastat: bootStat, Rates: state.Rates{PerSecond: map[string]float64{
			"node0.numa_hit": 10, "node0.numa_miss": 30, "node0.numa_foreign": 0, "node0.interleave_hit": 1,
			"node1.numa_hit": 40, "node1.numa_miss": 0, "node1.numa_foreign": 30, "node1.interleave_hit": 0}}}, nil, plugin.Critical,
			[]string{"NUMA CRITICAL - numa_miss 37.50% of allocations since the last run", "node0: numa_miss 75.00% of allocations, numa_miss 30/s, numa_foreign 0/s, interleave_hit 1/s", "node1_numa_foreign_rate=30;;;0"}},
		{"unusable state dir", Observation{Topology: twoNode, ZoneReclaim: &zero, Numastat: bootStat, Rates: state.Rates{Err: errors.New("cannot create state directory /x: permission denied")}}, nil, plugin.Unknown,
			[]string{"NUMA UNKNOWN - numastat rates: cannot create state directory /x: permission denied", "numa_miss 0.50% of allocations since boot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testenv.ParseOptions[Options](t, tt.args...)
			out, st := plugin.Render("NUMA", Judge(&tt.obs, o))
			if st != tt.state {
				t.Errorf("state %s, want %s\n%s", st, tt.state, out)
			}
			for _, l := range tt.lines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
		})
	}
}
