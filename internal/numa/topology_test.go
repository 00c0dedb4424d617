package numa

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

func TestReadTopologyFixtures(t *testing.T) {
	const kb = 1024
	tests := []struct {
		host     string
		numa     bool
		memNodes []int
		nodes    []Node
		stat     map[int]map[string]int64
	}{
		{"host1", false, []int{0}, []Node{
			{ID: 0, HasMemory: true, HasCPU: true, CPUs: "0-1", MemTotal: 5335244 * kb, MemFree: 3166752 * kb},
		}, map[int]map[string]int64{0: {"numa_hit": 7007356, "numa_miss": 0, "numa_foreign": 0, "interleave_hit": 1138, "local_node": 7007356, "other_node": 0}}},
		{"host2", true, []int{0, 1}, []Node{
			{ID: 0, HasMemory: true, HasCPU: true, CPUs: "0-7", MemTotal: 65842436 * kb, MemFree: 20132212 * kb},
			{ID: 1, HasMemory: true, HasCPU: true, CPUs: "8-15", MemTotal: 66060288 * kb, MemFree: 41220300 * kb},
		}, nil},
		{"host4", true, []int{0, 1, 2}, []Node{
			{ID: 0, HasMemory: true, HasCPU: true, CPUs: "0-3", MemTotal: 33457352 * kb, MemFree: 10240000 * kb},
			{ID: 1, HasMemory: true, HasCPU: true, CPUs: "4-7", MemTotal: 33554432 * kb, MemFree: 12000000 * kb},
			{ID: 2, HasMemory: true, HasCPU: true, CPUs: "8-11", MemTotal: 33554432 * kb, MemFree: 30000000 * kb},
			{ID: 3, HasMemory: false, HasCPU: true, CPUs: "12-15"},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			f := linux.Under(filepath.Join("testdata", tt.host))
			topo, err := ReadTopology(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := topo.ReadMeminfo(f); err != nil {
				t.Fatal(err)
			}
			topo.ReadCPUs(f)
			if !reflect.DeepEqual(topo.Nodes, tt.nodes) {
				t.Errorf("nodes = %+v\nwant    %+v", topo.Nodes, tt.nodes)
			}
			if topo.NUMA() != tt.numa || !reflect.DeepEqual(topo.MemoryNodes(), tt.memNodes) {
				t.Errorf("NUMA %v, memory nodes %v; want %v, %v", topo.NUMA(), topo.MemoryNodes(), tt.numa, tt.memNodes)
			}
			stat, err := topo.ReadNumastat(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(stat) != len(tt.nodes) {
				t.Errorf("numastat of %d nodes, want %d", len(stat), len(tt.nodes))
			}
			if tt.stat != nil && !reflect.DeepEqual(stat, tt.stat) {
				t.Errorf("numastat = %v, want %v", stat, tt.stat)
			}
		})
	}
}

func TestReadTopologyNoNUMA(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sys", "devices", "system", "cpu"), 0o755); err != nil {
		t.Fatal(err)
	}
	topo, err := ReadTopology(linux.Under(dir))
	if err != nil || !topo.NoNUMA || topo.NUMA() {
		t.Errorf("kernel without NUMA: %+v, %v", topo, err)
	}
	_, err = ReadTopology(linux.Under(filepath.Join(dir, "nothing")))
	if err == nil || !strings.Contains(err.Error(), "is not a sysfs tree") {
		t.Errorf("not a sysfs: %v", err)
	}
}

func TestParseMeminfo(t *testing.T) {
	m, err := ParseMeminfo(strings.NewReader("Node 1 MemTotal:       66060288 kB\nNode 1 HugePages_Total:     4\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"MemTotal": 66060288 * 1024, "HugePages_Total": 4}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %v, want %v", m, want)
	}
	for _, bad := range []string{
		"MemTotal: 5 kB",
		"Node x MemTotal: 5 kB",
		"Node 0 MemTotal 5 kB",
		"Node 0 MemTotal: five kB",
		"Node 0 MemTotal: 5 MB",
		"Node 0 MemTotal: -5 kB",
		"Node 0 MemTotal: 99999999999999999 kB",
	} {
		if _, err := ParseMeminfo(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "malformed meminfo line") {
			t.Errorf("ParseMeminfo(%q) = %v, want a malformed-line error", bad, err)
		}
	}
}

func TestParseNumastat(t *testing.T) {
	m, err := ParseNumastat(strings.NewReader("numa_hit 7\nnuma_miss 0\n"))
	if err != nil || !reflect.DeepEqual(m, map[string]int64{"numa_hit": 7, "numa_miss": 0}) {
		t.Errorf("got %v, %v", m, err)
	}
	for _, bad := range []string{"numa_hit", "numa_hit 1 2", "numa_hit x", "numa_hit -1"} {
		if _, err := ParseNumastat(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "malformed numastat line") {
			t.Errorf("ParseNumastat(%q) = %v, want a malformed-line error", bad, err)
		}
	}
}
