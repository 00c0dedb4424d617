package linux

import (
	"bufio"
	"fmt"
	"github.com/opschecks/opschecks/internal/plugin"
	"io"
	"strconv"
	"strings"
)

// ParseNetstat parses the paired header/value lines of /proc/net/netstat
// and /proc/net/snmp ("TcpExt: ListenOverflows ..." then "TcpExt: 3 ...")
// into section -> counter -> value.
func ParseNetstat(r io.Reader) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var header []string
	var section string
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		name, rest, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("netstat line %d: no section name in %q", line, plugin.Clip(text, 60))
		}
		fields := strings.Fields(rest)
		if header == nil {
			header, section = fields, name
			continue
		}
		if name != section {
			return nil, fmt.Errorf("netstat line %d: values for %q follow the header of %q", line, name, section)
		}
		if len(fields) != len(header) {
			return nil, fmt.Errorf("netstat line %d: %d values for %d names in %s", line, len(fields), len(header), section)
		}
		m := out[section]
		if m == nil {
			m = map[string]int64{}
			out[section] = m
		}
		for i, f := range fields {
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("netstat line %d: %s %s: %q is not an integer", line, section, header[i], plugin.Clip(f, 60))
			}
			m[header[i]] = v
		}
		header = nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if header != nil {
		return nil, fmt.Errorf("netstat: header of %s without values", section)
	}
	return out, nil
}
