package linux

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// SoftnetStat is one line of /proc/net/softnet_stat: the receive-path
// counters of one CPU (struct softnet_data). The file is the kernel's,
// not a network namespace's: every namespace reads the same numbers.
type SoftnetStat struct {
	// CPU is the CPU the line belongs to: the kernel's own column on
	// Linux 5.10 and later, else the line's position, which is the CPU's
	// number only while every CPU is online (offline CPUs have no line).
	CPU      int
	CPUKnown bool // CPU came from the kernel's column
	// Processed counts packets taken from the CPU's input backlog;
	// Dropped those dropped because the backlog held
	// net.core.netdev_max_backlog packets; TimeSqueeze the times the
	// receive softirq stopped with work left, out of net.core.netdev_budget
	// packets or netdev_budget_usecs. All are 32-bit and wrap.
	Processed, Dropped, TimeSqueeze uint32
}

// ParseSoftnetStat parses /proc/net/softnet_stat: one line per online
// CPU of hexadecimal 32-bit columns, whose number grew with the kernel
// (net/core/dev.c, later net/core/net-procfs.c, softnet_seq_show):
//
//	 9 columns up to 2.6.34: processed dropped time_squeeze 0 0 0 0 0 cpu_collision
//	10 columns from 2.6.35: + received_rps
//	11 columns from 3.11:   + flow_limit_count
//	13 columns from 5.10:   + backlog length, CPU id
//	15 columns by 6.18:     + input and process queue lengths
//
// Only the first three and the CPU id are read, so a kernel that adds
// columns still parses. A line of fewer than 9 columns, a value that is
// not 32-bit hex, lines of different widths or no line at all are errors.
func ParseSoftnetStat(r io.Reader) ([]SoftnetStat, error) {
	var out []SoftnetStat
	width := 0
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch {
		case len(f) < 9:
			return nil, fmt.Errorf("softnet_stat line %d: %d columns, expected 9 or more", line, len(f))
		case width != 0 && len(f) != width:
			return nil, fmt.Errorf("softnet_stat line %d: %d columns where line 1 has %d", line, len(f), width)
		}
		width = len(f)
		var v [3]uint32
		for i := range v {
			x, err := strconv.ParseUint(f[i], 16, 32)
			if err != nil {
				return nil, fmt.Errorf("softnet_stat line %d: column %d %.20q is not a 32-bit hexadecimal number", line, i+1, f[i])
			}
			v[i] = uint32(x)
		}
		s := SoftnetStat{CPU: len(out), Processed: v[0], Dropped: v[1], TimeSqueeze: v[2]}
		if len(f) >= 13 {
			cpu, err := strconv.ParseUint(f[12], 16, 32)
			if err != nil {
				return nil, fmt.Errorf("softnet_stat line %d: CPU id %.20q is not a 32-bit hexadecimal number", line, f[12])
			}
			s.CPU, s.CPUKnown = int(cpu), true
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading softnet_stat: %v", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("softnet_stat: no CPU lines")
	}
	return out, nil
}

// SoftnetStat reads /proc/net/softnet_stat under the proc mount.
func (f FS) SoftnetStat() ([]SoftnetStat, error) {
	path := f.ProcPath("net", "softnet_stat")
	b, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSoftnetStat(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return s, nil
}
