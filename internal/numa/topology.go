package numa

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/opschecks/opschecks/internal/plugin"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/linux"
)

// Node is one NUMA node as /sys/devices/system/node/nodeN shows it.
type Node struct {
	ID        int
	HasMemory bool
	HasCPU    bool
	CPUs      string // cpulist, e.g. "0-7,16-23"
	MemTotal  int64  // bytes
	MemFree   int64  // bytes
}

// Topology is the machine's node layout.
type Topology struct {
	Nodes []Node // online nodes
	// NoNUMA is set when the kernel has no NUMA support at all (no
	// devices/system/node): the machine is treated as one node.
	NoNUMA bool
}

// MemoryNodes returns the IDs of the nodes that have memory: the only
// nodes pages can be spread over.
func (t Topology) MemoryNodes() []int {
	var out []int
	for _, n := range t.Nodes {
		if n.HasMemory {
			out = append(out, n.ID)
		}
	}
	return out
}

// NUMA reports whether memory is split over more than one node, which is
// when placement policies matter.
func (t Topology) NUMA() bool { return len(t.MemoryNodes()) > 1 }

func nodeDir(f linux.FS, elem ...string) string {
	return f.SysPath(append([]string{"devices", "system", "node"}, elem...)...)
}

// readNodeList reads one of the node list files (online, has_memory...);
// found is false when the file does not exist (older kernels lack
// has_cpu).
func readNodeList(f linux.FS, name string) (nodes []int, found bool, err error) {
	path := nodeDir(f, name)
	b, err := linux.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	nodes, err = ParseNodeList(string(b))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %v", path, err)
	}
	return nodes, true, nil
}

// ReadTopology reads the online nodes, which have memory and CPUs, and the
// memory of each node from node*/meminfo.
func ReadTopology(f linux.FS) (Topology, error) {
	var t Topology
	online, found, err := readNodeList(f, "online")
	if err != nil {
		return t, err
	}
	if !found {
		// No node directory: either a kernel without CONFIG_NUMA, or a
		// --sysfs that is not a sysfs at all.
		if _, err := os.Stat(f.SysPath("devices", "system")); err != nil {
			return t, fmt.Errorf("%s is not a sysfs tree (no devices/system), expected --sysfs to name where sysfs is mounted", f.Sys)
		}
		return Topology{NoNUMA: true}, nil
	}
	if len(online) == 0 {
		return t, fmt.Errorf("%s lists no online node", nodeDir(f, "online"))
	}
	mem, memFound, err := readNodeList(f, "has_memory")
	if err != nil {
		return t, err
	}
	cpu, cpuFound, err := readNodeList(f, "has_cpu")
	if err != nil {
		return t, err
	}
	for _, id := range online {
		n := Node{ID: id, HasMemory: !memFound || slices.Contains(mem, id), HasCPU: !cpuFound || slices.Contains(cpu, id)}
		t.Nodes = append(t.Nodes, n)
	}
	return t, nil
}

// ReadMeminfo fills MemTotal and MemFree of every node from node*/meminfo.
func (t *Topology) ReadMeminfo(f linux.FS) error {
	for i := range t.Nodes {
		n := &t.Nodes[i]
		path, m, err := readNodeFile(f, n.ID, "meminfo", ParseMeminfo)
		if err != nil {
			return err
		}
		total, ok1 := m["MemTotal"]
		free, ok2 := m["MemFree"]
		if !ok1 || !ok2 {
			return fmt.Errorf("%s has no MemTotal or MemFree line", path)
		}
		n.MemTotal, n.MemFree = total, free
	}
	return nil
}

// ReadCPUs fills the cpulist of every node.
func (t *Topology) ReadCPUs(f linux.FS) {
	for i := range t.Nodes {
		if b, err := os.ReadFile(nodeDir(f, "node"+strconv.Itoa(t.Nodes[i].ID), "cpulist")); err == nil {
			t.Nodes[i].CPUs = strings.TrimSpace(string(b))
		}
	}
}

// ParseMeminfo parses node*/meminfo ("Node 0 MemTotal:  5335244 kB").
// Values with a kB unit are returned in bytes, others (HugePages_Total)
// as they are.
func ParseMeminfo(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "Node" || !isDigits(f[1]) || !strings.HasSuffix(f[2], ":") || len(f) > 5 {
			return nil, fmt.Errorf("malformed meminfo line %q (expected \"Node N Key: value [kB]\")", plugin.Clip(line, 160))
		}
		v, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("malformed meminfo line %q: %q is not a number", plugin.Clip(line, 160), plugin.Clip(f[3], 160))
		}
		if len(f) == 5 {
			if f[4] != "kB" {
				return nil, fmt.Errorf("malformed meminfo line %q: unknown unit %q", plugin.Clip(line, 160), plugin.Clip(f[4], 160))
			}
			if v > 1<<53 {
				return nil, fmt.Errorf("malformed meminfo line %q: value out of range", plugin.Clip(line, 160))
			}
			v *= 1024
		}
		out[strings.TrimSuffix(f[2], ":")] = v
	}
	return out, sc.Err()
}

// ParseNumastat parses node*/numastat ("numa_hit 7007356").
func ParseNumastat(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("malformed numastat line %q (expected \"counter value\")", plugin.Clip(line, 160))
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("malformed numastat line %q: %q is not a counter", plugin.Clip(line, 160), plugin.Clip(f[1], 160))
		}
		out[f[0]] = v
	}
	return out, sc.Err()
}

// ReadNumastat reads the counters of every node.
func (t Topology) ReadNumastat(f linux.FS) (map[int]map[string]int64, error) {
	out := map[int]map[string]int64{}
	for _, n := range t.Nodes {
		_, m, err := readNodeFile(f, n.ID, "numastat", ParseNumastat)
		if err != nil {
			return nil, err
		}
		out[n.ID] = m
	}
	return out, nil
}

// readNodeFile reads and parses one file of node id, naming the file in
// errors.
func readNodeFile(f linux.FS, id int, name string, parse func(io.Reader) (map[string]int64, error)) (string, map[string]int64, error) {
	path := nodeDir(f, "node"+strconv.Itoa(id), name)
	b, err := linux.ReadFile(path)
	if err != nil {
		return path, nil, err
	}
	m, err := parse(bytes.NewReader(b))
	if err != nil {
		return path, nil, fmt.Errorf("%s: %v", path, err)
	}
	return path, m, nil
}
