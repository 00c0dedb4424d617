package numa

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/opschecks/opschecks/internal/plugin"
	"io"
	"strconv"
	"strings"
)

// Policy modes as /proc/PID/numa_maps prints them (mm/mempolicy.c,
// policy_modes[]). "weighted interleave" (6.9) and "prefer (many)" (5.15)
// hold a space; "unknown" is what the kernel prints for a mode it does not
// know.
const (
	ModeDefault            = "default"
	ModePrefer             = "prefer"
	ModeBind               = "bind"
	ModeInterleave         = "interleave"
	ModeWeightedInterleave = "weighted interleave"
	ModeLocal              = "local"
	ModePreferMany         = "prefer (many)"
	ModeUnknown            = "unknown"
)

// modes in matching order: a name that is a prefix of another comes after
// it ("prefer" after "prefer (many)").
var modes = []string{ModeWeightedInterleave, ModePreferMany, ModeInterleave,
	ModeDefault, ModePrefer, ModeBind, ModeLocal, ModeUnknown}

// Policy is a memory policy: mode, optional mode flags ("static",
// "relative", "balancing", joined by "|") and the node mask.
type Policy struct {
	Mode  string
	Flags string
	Nodes []int
}

// String gives the policy in the kernel's numa_maps form.
func (p Policy) String() string {
	s := p.Mode
	if p.Flags != "" {
		s += "=" + p.Flags
	}
	if len(p.Nodes) > 0 {
		s += ":" + FormatNodeList(p.Nodes)
	}
	return s
}

// Interleaved reports whether pages are spread over the policy's nodes.
func (p Policy) Interleaved() bool {
	return p.Mode == ModeInterleave || p.Mode == ModeWeightedInterleave
}

// NodePages is the number of pages of a mapping on one node (N1=123).
type NodePages struct {
	Node  int
	Pages int64
}

// Mapping is one line of numa_maps.
type Mapping struct {
	Policy     Policy
	Pages      []NodePages // in the order of the line
	PageSizeKB int64       // kernelpagesize_kB; 0 when the line has none
}

// SyntaxError is a numa_maps line that does not parse; it quotes the line.
type SyntaxError struct {
	Line string
	Why  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed numa_maps line %q: %s (expected \"<hex address> <policy> [key=value ...]\")", plugin.Clip(e.Line, 160), e.Why)
}

// numericKey reports the keys the kernel prints with a count
// (fs/proc/task_mmu.c, show_numa_map).
func numericKey(key string) bool {
	switch key {
	case "anon", "dirty", "mapped", "mapmax", "swapcache", "active", "writeback", "kernelpagesize_kB":
		return true
	}
	return false
}

// ParseLine parses one numa_maps line, e.g.
//
//	7f2a4c000000 interleave:0-1 anon=1024 dirty=1024 N0=512 N1=512 kernelpagesize_kB=4
func ParseLine(line string) (Mapping, error) {
	var m Mapping
	bad := func(why string, args ...any) (Mapping, error) {
		return Mapping{}, &SyntaxError{Line: line, Why: fmt.Sprintf(why, args...)}
	}
	addr, rest, ok := strings.Cut(line, " ")
	if !ok || addr == "" {
		return bad("no policy after the address")
	}
	if _, err := strconv.ParseUint(addr, 16, 64); err != nil {
		return bad("address %q is not hexadecimal", plugin.Clip(addr, 160))
	}
	p, rest, err := parsePolicy(rest)
	if err != nil {
		return bad("%v", err)
	}
	m.Policy = p
	for _, tok := range strings.Fields(rest) {
		key, val, hasVal := strings.Cut(tok, "=")
		if !hasVal {
			// heap, stack, huge (and "stack:TID" before 4.5)
			continue
		}
		switch {
		case len(key) > 1 && key[0] == 'N' && isDigits(key[1:]):
			node, err := parseNode(key[1:])
			if err != nil {
				return bad("%v", err)
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return bad("%s: %q is not a page count", key, plugin.Clip(val, 160))
			}
			for _, np := range m.Pages {
				if np.Node == node {
					return bad("node %d is listed twice", node)
				}
			}
			m.Pages = append(m.Pages, NodePages{Node: node, Pages: n})
		case numericKey(key):
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return bad("%s: %q is not a count", key, plugin.Clip(val, 160))
			}
			if key == "kernelpagesize_kB" {
				if n == 0 {
					return bad("kernelpagesize_kB is 0")
				}
				m.PageSizeKB = n
			}
		case key == "":
			return bad("%q has no key", plugin.Clip(tok, 160))
		}
		// file= and keys of future kernels are accepted as they are.
	}
	return m, nil
}

func isDigits(s string) bool {
	return s != "" && strings.TrimLeft(s, "0123456789") == ""
}

// parsePolicy parses the policy at the start of s and returns the rest of
// the line after it.
func parsePolicy(s string) (Policy, string, error) {
	var p Policy
	for _, m := range modes {
		if rest, ok := strings.CutPrefix(s, m); ok && (rest == "" || strings.ContainsRune(" =:", rune(rest[0]))) {
			p.Mode, s = m, rest
			break
		}
	}
	if p.Mode == "" {
		word, _, _ := strings.Cut(s, " ")
		return p, "", fmt.Errorf("unknown memory policy %q", plugin.Clip(word, 160))
	}
	if rest, ok := strings.CutPrefix(s, "="); ok {
		end := strings.IndexAny(rest, ": ")
		if end < 0 {
			end = len(rest)
		}
		p.Flags, s = rest[:end], rest[end:]
		for _, f := range strings.Split(p.Flags, "|") {
			if f != "static" && f != "relative" && f != "balancing" {
				return p, "", fmt.Errorf("unknown policy flag %q", plugin.Clip(f, 160))
			}
		}
	}
	if rest, ok := strings.CutPrefix(s, ":"); ok {
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		nodes, err := ParseNodeList(rest[:end])
		if err != nil {
			return p, "", err
		}
		if len(nodes) == 0 {
			return p, "", fmt.Errorf("empty node list after %q", p.Mode)
		}
		p.Nodes, s = nodes, rest[end:]
	}
	if s != "" && s[0] != ' ' {
		return p, "", fmt.Errorf("unexpected %q after the policy", plugin.Clip(s, 160))
	}
	if (p.Mode == ModeDefault || p.Mode == ModeLocal) && (len(p.Nodes) > 0 || p.Flags != "") {
		return p, "", fmt.Errorf("policy %q takes no nodes or flags", p.Mode)
	}
	return p, s, nil
}

// maxLine bounds one numa_maps line: a path of PATH_MAX plus the counters.
const maxLine = 8 << 10

// ErrNoMappings means numa_maps was empty: a kernel thread or a process
// that is exiting.
var ErrNoMappings = errors.New("the process has no memory mappings (a kernel thread, or it is exiting)")

// ReadFirst reads only the first line of numa_maps. Each line the kernel
// produces walks the page tables of one mapping, so reading the whole
// file of a large database is slow; the first line already carries the
// process policy (mappings without their own policy show the task's), the
// way mongod itself checks it. The small first read keeps the kernel from
// generating more than a few lines.
//
// It reads in small chunks on purpose: the kernel formats as many
// numa_maps entries as fit the read buffer, walking each mapping's page
// tables, so a 512-byte read can walk a whole database heap (6 ms on a
// 512 MiB heap) where 128-byte reads stop inside the first entry (0.03 ms).
func ReadFirst(r io.Reader) (Mapping, error) {
	var line []byte
	chunk := make([]byte, 128)
	for len(line) <= maxLine {
		n, err := r.Read(chunk)
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			return ParseLine(string(append(line, chunk[:i]...)))
		}
		line = append(line, chunk[:n]...)
		if err == io.EOF {
			if len(line) == 0 {
				return Mapping{}, ErrNoMappings
			}
			return ParseLine(string(line))
		}
		if err != nil {
			return Mapping{}, err
		}
	}
	return Mapping{}, fmt.Errorf("numa_maps line longer than %d bytes", maxLine)
}

// Distribution is the whole of a process's numa_maps, summed.
type Distribution struct {
	First           Mapping       // the first line (its policy is the process's)
	Bytes           map[int]int64 // resident bytes per node
	Mappings        int
	InterleavedPart float64 // share of resident bytes in interleaved mappings, 0..1
}

// Total returns the resident bytes over all nodes.
func (d Distribution) Total() int64 {
	var t int64
	for _, b := range d.Bytes {
		t += b
	}
	return t
}

// ReadDistribution reads all of numa_maps. ctx is checked between lines,
// so a huge file stops at the deadline.
func ReadDistribution(ctx context.Context, r io.Reader, defaultPageKB int64) (Distribution, error) {
	d := Distribution{Bytes: map[int]int64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var interleaved int64
	for sc.Scan() {
		if d.Mappings%256 == 0 && ctx.Err() != nil {
			return d, ctx.Err()
		}
		m, err := ParseLine(sc.Text())
		if err != nil {
			return d, fmt.Errorf("line %d: %w", d.Mappings+1, err)
		}
		if d.Mappings == 0 {
			d.First = m
		}
		d.Mappings++
		kb := m.PageSizeKB
		if kb <= 0 {
			kb = defaultPageKB
		}
		for _, np := range m.Pages {
			b := np.Pages * kb * 1024
			d.Bytes[np.Node] += b
			if m.Policy.Interleaved() {
				interleaved += b
			}
		}
	}
	if err := sc.Err(); err != nil {
		return d, err
	}
	if d.Mappings == 0 {
		return d, ErrNoMappings
	}
	if t := d.Total(); t > 0 {
		d.InterleavedPart = float64(interleaved) / float64(t)
	}
	return d, nil
}

// Imbalance is how unevenly bytes spread over nodes, in percent: 0 when
// every node holds the same, 100 when one node holds everything. It is
// (max/mean - 1) / (n - 1) * 100 over the given nodes; with fewer than two
// nodes or nothing resident it is 0.
func Imbalance(bytes map[int]int64, nodes []int) float64 {
	if len(nodes) < 2 {
		return 0
	}
	var total, max int64
	for _, n := range nodes {
		b := bytes[n]
		total += b
		if b > max {
			max = b
		}
	}
	if total == 0 {
		return 0
	}
	mean := float64(total) / float64(len(nodes))
	return (float64(max)/mean - 1) / float64(len(nodes)-1) * 100
}
