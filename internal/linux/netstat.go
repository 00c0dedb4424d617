package linux

import (
	"bytes"
	"fmt"
	"strconv"
)

// NetstatCounters reads the named counters of one section ("TcpExt") from
// the paired header/value lines of /proc/net/netstat or /proc/net/snmp
// ("TcpExt: ListenOverflows ..." then "TcpExt: 3 ..."). Every line is
// checked for its section name and pairing, but only the wanted section's
// lines are split, and nothing is allocated per counter: a check that
// needs two counters does not pay for the other three hundred.
func NetstatCounters(b []byte, section string, names ...string) ([]uint64, error) {
	out := make([]uint64, len(names))
	found := false
	var header []byte // the pending header line's fields, nil when none
	var headerSection []byte
	for line := 1; len(b) > 0; line++ {
		var text []byte
		text, b, _ = bytes.Cut(b, []byte{'\n'})
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		name, rest, ok := bytes.Cut(text, []byte{':'})
		if !ok {
			return nil, fmt.Errorf("netstat line %d: no section name in %.60q", line, text)
		}
		if header == nil {
			header, headerSection = rest, name
			continue
		}
		if !bytes.Equal(name, headerSection) {
			return nil, fmt.Errorf("netstat line %d: values for %q follow the header of %q", line, name, headerSection)
		}
		if string(name) == section && !found {
			if err := pickCounters(line, section, header, rest, names, out); err != nil {
				return nil, err
			}
			found = true
		}
		header = nil
	}
	if header != nil {
		return nil, fmt.Errorf("netstat: header of %s without values", headerSection)
	}
	if !found {
		return nil, fmt.Errorf("netstat: no %s section", section)
	}
	return out, nil
}

// pickCounters walks a header line and its values line field by field and
// stores the named counters' values in out.
func pickCounters(line int, section string, header, values []byte, names []string, out []uint64) error {
	seen := make([]bool, len(names))
	nh, nv := 0, 0
	for {
		var h, v []byte
		h, header = nextField(header)
		v, values = nextField(values)
		if h != nil {
			nh++
		}
		if v != nil {
			nv++
		}
		if h == nil || v == nil {
			if h != nil || v != nil {
				nh += countFields(header)
				nv += countFields(values)
				return fmt.Errorf("netstat line %d: %d values for %d names in %s", line, nv, nh, section)
			}
			break
		}
		for i, n := range names {
			if seen[i] || string(h) != n {
				continue
			}
			x, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return fmt.Errorf("netstat line %d: %s %s: %.60q is not an unsigned integer", line, section, n, v)
			}
			out[i], seen[i] = x, true
		}
	}
	for i, ok := range seen {
		if !ok {
			return fmt.Errorf("netstat: no %s %s counter", section, names[i])
		}
	}
	return nil
}

// nextField returns the first field of b, separated by ASCII white space,
// and the rest; nil when there is none.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	if i == len(b) {
		return nil, nil
	}
	j := i
	for j < len(b) && !isBlank(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

func countFields(b []byte) int {
	n := 0
	for f, rest := nextField(b); f != nil; f, rest = nextField(rest) {
		n++
	}
	return n
}
