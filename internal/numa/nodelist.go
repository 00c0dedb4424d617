package numa

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxNode bounds node numbers: the kernel's MAX_NUMNODES is at most 1024
// (NODES_SHIFT 10), and the bound keeps a hostile "0-999999999" from
// allocating a huge slice.
const maxNode = 1 << 10

// ParseNodeList parses the kernel's node list format ("0", "0-3",
// "0,2-3"), as found in /sys/devices/system/node/online and after the
// policy in numa_maps. The result is sorted and without duplicates. An
// empty string is an empty list (a node file with no nodes).
func ParseNodeList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseNode(lo)
		if err != nil {
			return nil, fmt.Errorf("node list %q: %v", s, err)
		}
		b := a
		if isRange {
			if b, err = parseNode(hi); err != nil {
				return nil, fmt.Errorf("node list %q: %v", s, err)
			}
			if b < a {
				return nil, fmt.Errorf("node list %q: range %s is backwards", s, part)
			}
		}
		for n := a; n <= b; n++ {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

func parseNode(s string) (int, error) {
	if s == "" || len(s) > 4 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a node number", s)
	}
	n, _ := strconv.Atoi(s)
	if n >= maxNode {
		return 0, fmt.Errorf("node %d is beyond the kernel's limit of %d nodes", n, maxNode)
	}
	return n, nil
}

// FormatNodeList writes nodes in the kernel's compact form ("0-3,5"); the
// input must be sorted.
func FormatNodeList(nodes []int) string {
	var b strings.Builder
	for i := 0; i < len(nodes); {
		j := i
		for j+1 < len(nodes) && nodes[j+1] == nodes[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(nodes[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(nodes[j]))
		}
		i = j + 1
	}
	return b.String()
}
