package numa

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

func procName(p linux.Process) string {
	name := p.Comm
	if p.Exe != "" && len(p.Comm) == 15 && strings.HasPrefix(p.Exe, p.Comm) {
		name = p.Exe // comm is cut at 15 bytes
	}
	return fmt.Sprintf("%s (PID %d)", name, p.PID)
}

// zoneBits explains the bits of vm.zone_reclaim_mode
// (Documentation/admin-guide/sysctl/vm.rst).
func zoneBits(mode int64) string {
	var parts []string
	if mode&1 != 0 {
		parts = append(parts, "1: reclaim on the local node before allocating on another")
	}
	if mode&2 != 0 {
		parts = append(parts, "2: reclaim writes dirty pages out")
	}
	if mode&4 != 0 {
		parts = append(parts, "4: reclaim unmaps and swaps pages")
	}
	if rest := mode &^ 7; rest != 0 {
		parts = append(parts, fmt.Sprintf("%d: unknown bits", rest))
	}
	return strings.Join(parts, ", ")
}

func pct(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return round(part / whole * 100)
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func minus(a, b []int) []int {
	var out []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func nodesWord(nodes []int) string {
	if len(nodes) == 1 {
		return "node " + strconv.Itoa(nodes[0])
	}
	return "nodes " + FormatNodeList(nodes)
}

func distString(bytes map[int]int64) string {
	var total int64
	ids := make([]int, 0, len(bytes))
	for n, b := range bytes {
		ids = append(ids, n)
		total += b
	}
	if total == 0 {
		return "nothing resident"
	}
	sort.Ints(ids)
	parts := make([]string, 0, len(ids))
	for _, n := range ids {
		parts = append(parts, fmt.Sprintf("N%d %s (%.0f%%)", n, plugin.Bytes(float64(bytes[n])), float64(bytes[n])/float64(total)*100))
	}
	return strings.Join(parts, ", ")
}
