package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"
	"time"
)

// Counters are read and written with every run of a rate check, so their
// JSON is written and read by hand in the layout encoding/json gives them
// ({"time":"RFC 3339","of":"...","values":{"name":number,...}}, names
// sorted), and handed to encoding/json only when they hold something
// this does not cover (a string that needs escaping, a file written
// differently). Measured (2026-12-06, 200 runs of a fresh process, 10th
// percentile, a sample of ten counters): encoding/json's Unmarshal
// 64-92 us and Marshal 19-27 us, by reflection on a cold process, against
// 11 us and 10 us for these two (plus 7 us for json.Valid, which Load
// keeps); a local check's whole budget is about 1 ms of its own work.
// Measured again on the whole process (2026-12-06): encoding/json instead
// costs check_nginx_queue 70 thousand and check_conntrack 100 thousand
// instructions more a run (callgrind, 3-7%), and check_conntrack 0.06-0.10
// ms of wall time (600 interleaved runs, loaded machine).

// countersJSON is Counters without these methods, for encoding/json.
type countersJSON Counters

// errSlowPath sends a sample to encoding/json.
var errSlowPath = errors.New("not the common layout")

// MarshalJSON implements json.Marshaler. The time is written in UTC:
// formatting a local time (and parsing one with an offset) makes package
// time load the local zone, /etc/localtime, which cost every run of a rate
// check 40 thousand instructions and three system calls here (callgrind,
// 2026-12-06; a larger zone file costs more), for a time only Since reads.
func (c Counters) MarshalJSON() ([]byte, error) {
	c.Time = c.Time.UTC()
	b, err := c.appendJSON(make([]byte, 0, 64+32*len(c.Values)))
	if err != nil {
		return json.Marshal(countersJSON(c))
	}
	return b, nil
}

func (c Counters) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"time":`...)
	t, err := c.Time.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, t...)
	if c.Of != "" {
		if !plain(c.Of) {
			return nil, errSlowPath
		}
		b = append(b, `,"of":"`...)
		b = append(append(b, c.Of...), '"')
	}
	b = append(b, `,"values":{`...)
	names := make([]string, 0, len(c.Values))
	for k := range c.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, k := range names {
		v := c.Values[k]
		if !plain(k) || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errSlowPath
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), k...), `":`...)
		b = appendNumber(b, v)
	}
	return append(b, "}}"...), nil
}

// appendNumber writes v as encoding/json does: decimal from 1e-6 to
// 1e21, else an exponent without a leading zero.
func appendNumber(b []byte, v float64) []byte {
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

// plain reports whether s goes into a JSON string as it is: printable
// ASCII without '"' and '\'.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Counters) UnmarshalJSON(b []byte) error {
	if v, err := parseCounters(b); err == nil {
		*c = v
		return nil
	}
	var slow countersJSON
	if err := json.Unmarshal(b, &slow); err != nil {
		return err
	}
	*c = Counters(slow)
	return nil
}

// parseCounters reads the layout appendJSON writes, nothing else.
func parseCounters(b []byte) (Counters, error) {
	var c Counters
	rest, ok := bytes.CutPrefix(b, []byte(`{"time":"`))
	if !ok {
		return c, errSlowPath
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 {
		return c, errSlowPath
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:i]))
	if err != nil {
		return c, errSlowPath
	}
	c.Time, rest = t, rest[i+1:]
	if r, ok := bytes.CutPrefix(rest, []byte(`,"of":"`)); ok {
		i = bytes.IndexByte(r, '"')
		if i < 0 || !plain(string(r[:i])) {
			return c, errSlowPath
		}
		c.Of, rest = string(r[:i]), r[i+1:]
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"values":{`)); !ok {
		return c, errSlowPath
	}
	c.Values = map[string]float64{}
	for len(rest) > 0 && rest[0] != '}' {
		if rest, ok = bytes.CutPrefix(rest, []byte(`"`)); !ok {
			return c, errSlowPath
		}
		i = bytes.Index(rest, []byte(`":`))
		if i < 0 || !plain(string(rest[:i])) {
			return c, errSlowPath
		}
		name := string(rest[:i])
		rest = rest[i+2:]
		j := bytes.IndexAny(rest, ",}")
		if j < 0 {
			return c, errSlowPath
		}
		v, err := strconv.ParseFloat(string(rest[:j]), 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return c, errSlowPath
		}
		if _, dup := c.Values[name]; dup {
			return c, errSlowPath
		}
		c.Values[name] = v
		rest = rest[j:]
		if rest[0] == ',' {
			rest = rest[1:]
		}
	}
	if !bytes.Equal(rest, []byte("}}")) {
		return c, errSlowPath
	}
	return c, nil
}
