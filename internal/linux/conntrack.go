package linux

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ConntrackCounters are the per-CPU connection-tracking counters of one
// network namespace, named as conntrack-tools' `conntrack -S` names them.
// The kernel keeps them as unsigned 32-bit values that wrap.
type ConntrackCounters struct {
	Found         uint64
	Invalid       uint64 // packets that could not be tracked
	Insert        uint64
	InsertFailed  uint64 // entries that could not be inserted (a clash): their packet is dropped
	Drop          uint64 // packets dropped because the table was full and nothing could be evicted
	EarlyDrop     uint64 // unreplied entries evicted to make room in a full table
	Error         uint64 // "icmp_error" in /proc: ICMP errors that matched no entry
	SearchRestart uint64 // lookups restarted by a concurrent hash resize
}

// Add sums c and d counter by counter.
func (c ConntrackCounters) Add(d ConntrackCounters) ConntrackCounters {
	return ConntrackCounters{
		Found: c.Found + d.Found, Invalid: c.Invalid + d.Invalid, Insert: c.Insert + d.Insert,
		InsertFailed: c.InsertFailed + d.InsertFailed, Drop: c.Drop + d.Drop, EarlyDrop: c.EarlyDrop + d.EarlyDrop,
		Error: c.Error + d.Error, SearchRestart: c.SearchRestart + d.SearchRestart,
	}
}

// ConntrackStat is /proc/net/stat/nf_conntrack of one network namespace.
type ConntrackStat struct {
	// Entries is the namespace's count of tracked connections; the kernel
	// prints it on every CPU's line.
	Entries uint64
	// CPUs holds one line per possible CPU, in CPU order.
	CPUs []ConntrackCounters
	// NoSearchRestart is set when the kernel has no search_restart column
	// (before Linux 3.x); SearchRestart then stays 0.
	NoSearchRestart bool
}

// Total sums the counters over the CPUs.
func (s ConntrackStat) Total() ConntrackCounters {
	var t ConntrackCounters
	for _, c := range s.CPUs {
		t = t.Add(c)
	}
	return t
}

// conntrackColumns maps the header names of /proc/net/stat/nf_conntrack to
// the counters. The header is printed by ct_cpu_seq_show() in the kernel's
// net/netfilter/nf_conntrack_standalone.c (net/ipv4/netfilter/
// nf_conntrack_l3proto_ipv4_compat.c before 4.x). Its columns moved over
// the years: "searched" became "clashres" and "delete_list" became
// "chainlength" in 5.13, search_restart was added in 3.x; so columns are
// found by name. Values are 32-bit counters printed with %08x.
var conntrackColumns = map[string]func(*ConntrackCounters) *uint64{
	"found":          func(c *ConntrackCounters) *uint64 { return &c.Found },
	"invalid":        func(c *ConntrackCounters) *uint64 { return &c.Invalid },
	"insert":         func(c *ConntrackCounters) *uint64 { return &c.Insert },
	"insert_failed":  func(c *ConntrackCounters) *uint64 { return &c.InsertFailed },
	"drop":           func(c *ConntrackCounters) *uint64 { return &c.Drop },
	"early_drop":     func(c *ConntrackCounters) *uint64 { return &c.EarlyDrop },
	"icmp_error":     func(c *ConntrackCounters) *uint64 { return &c.Error },
	"search_restart": func(c *ConntrackCounters) *uint64 { return &c.SearchRestart },
}

// requiredConntrackColumns are in the header of every kernel since 2.6.
var requiredConntrackColumns = []string{"entries", "found", "invalid", "insert", "insert_failed", "drop", "early_drop", "icmp_error"}

// ErrConntrackFormat is wrapped by every error about the content of
// /proc/net/stat/nf_conntrack.
var ErrConntrackFormat = errors.New("unexpected format")

func conntrackFormat(format string, args ...any) error {
	return fmt.Errorf("nf_conntrack statistics: %w: %s", ErrConntrackFormat, fmt.Sprintf(format, args...))
}

// ParseConntrackStat parses /proc/net/stat/nf_conntrack: a header line of
// column names, then one line per possible CPU of hexadecimal 32-bit
// values, one per column. Errors wrap ErrConntrackFormat and name the line.
func ParseConntrackStat(r io.Reader) (ConntrackStat, error) {
	var st ConntrackStat
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), 64<<10)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return st, conntrackFormat("line 1: %v", err)
		}
		return st, conntrackFormat("empty file")
	}
	header := strings.Fields(sc.Text())
	seen := map[string]bool{}
	for _, h := range header {
		if seen[h] {
			return st, conntrackFormat("line 1: column %.40q repeats", h)
		}
		seen[h] = true
	}
	for _, name := range requiredConntrackColumns {
		if !seen[name] {
			return st, conntrackFormat("line 1: no %q column in the header", name)
		}
	}
	st.NoSearchRestart = !seen["search_restart"]
	if header[0] != "entries" {
		return st, conntrackFormat("line 1: the first column is %.40q, not \"entries\"", header[0])
	}
	for line := 2; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != len(header) {
			return st, conntrackFormat("line %d: %d values for %d columns", line, len(fields), len(header))
		}
		var c ConntrackCounters
		for i, f := range fields {
			v, err := strconv.ParseUint(f, 16, 32)
			if err != nil {
				return st, conntrackFormat("line %d: %s %.40q is not a 32-bit hexadecimal number", line, header[i], f)
			}
			if i == 0 {
				// The count may change between two lines: keep the last.
				st.Entries = v
				continue
			}
			if field, ok := conntrackColumns[header[i]]; ok {
				*field(&c) = v
			}
		}
		st.CPUs = append(st.CPUs, c)
	}
	if err := sc.Err(); err != nil {
		return st, conntrackFormat("%v", err)
	}
	if len(st.CPUs) == 0 {
		return st, conntrackFormat("no CPU lines after the header")
	}
	return st, nil
}

// SysctlConntrackTCPTimeoutEstablished is how long, in seconds, an idle
// established TCP flow stays tracked; per network namespace.
const SysctlConntrackTCPTimeoutEstablished = "net.netfilter.nf_conntrack_tcp_timeout_established"
