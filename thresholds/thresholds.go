// Package thresholds parses and evaluates Nagios threshold ranges exactly as
// the monitoring-plugins development guidelines define them.
//
// A range is written [@]start:end. start defaults to 0 when omitted, an
// empty end means +infinity and a start of "~" means -infinity. Endpoints are
// inclusive. A value alerts when it lies outside the range, or inside it when
// the range starts with "@":
//
//	10       alert if v < 0 or v > 10
//	10:      alert if v < 10
//	~:10     alert if v > 10
//	10:20    alert if v < 10 or v > 20
//	@10:20   alert if 10 <= v <= 20
//	@~:5     alert if v <= 5
//	~:       never alerts
//
// A Pair holds the warning and the critical range of one metric, so that
// the metric is judged by, and its perfdata carries, the same two ranges.
//
// The package has no dependencies beyond the standard library, so other Go
// plugins can import it. Files: thresholds.go (State, Range, Parse,
// Evaluate, Pair); flag.go (a range as a go-flags option value).
package thresholds

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// State is a plugin state as the guidelines number them.
type State int

// The four plugin states, numbered as their exit codes.
const (
	OK State = iota
	Warning
	Critical
	Unknown
)

func (s State) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	default:
		return "UNKNOWN"
	}
}

// Range is one parsed threshold range. The zero value is the range "0:0"
// (alert on everything but 0); use Parse to build one.
type Range struct {
	Start, End float64 // -Inf / +Inf for the open ends
	Inside     bool    // the range began with "@": alert when inside
}

// ErrNotANumber is returned by Evaluate for a NaN value: a value that could
// not be measured is never treated as 0.
var ErrNotANumber = errors.New("value is not a number")

// isDecimal reports whether s is in the decimal syntax the guidelines
// allow: [+-]digits[.digits][e[+-]digits], what strtod accepts minus inf,
// nan and hex floats, which have no place in a threshold. Written by hand
// rather than as a regexp: plugins start thousands of times a minute and
// a package-level regexp costs every start.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	mant := digits()
	if i < len(s) && s[i] == '.' {
		i++
		mant += digits()
	}
	if mant == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// Parse parses s as a Nagios range. Errors quote the input.
func Parse(s string) (Range, error) {
	bad := func(why string) (Range, error) {
		return Range{}, fmt.Errorf("invalid range %q: %s (expected [@]start:end, e.g. 10, 10:, ~:10, 10:20, @10:20)", clip(s), why)
	}
	body := strings.TrimSpace(s)
	if body == "" {
		return bad("empty")
	}
	r := Range{Start: 0, End: math.Inf(1)}
	if body[0] == '@' {
		r.Inside = true
		body = body[1:]
		if body == "" {
			return bad("nothing after @")
		}
	}
	startStr, endStr, hasColon := strings.Cut(body, ":")
	if !hasColon {
		startStr, endStr = "", body
	}
	if strings.Contains(endStr, ":") {
		return bad("more than one colon")
	}
	switch startStr {
	case "":
		r.Start = 0
	case "~":
		r.Start = math.Inf(-1)
	default:
		v, err := parseNumber(startStr)
		if err != nil {
			return bad(fmt.Sprintf("start %q is not a number", clip(startStr)))
		}
		r.Start = v
	}
	if endStr != "" {
		v, err := parseNumber(endStr)
		if err != nil {
			return bad(fmt.Sprintf("end %q is not a number", clip(endStr)))
		}
		r.End = v
	} else if !hasColon {
		return bad("no end")
	}
	if r.Start > r.End {
		return bad("start is greater than end")
	}
	return r, nil
}

// clip keeps error messages one readable line even for huge input, cut
// on a character boundary so that valid UTF-8 input stays valid.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 36 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func parseNumber(s string) (float64, error) {
	if !isDecimal(s) {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, strconv.ErrRange
	}
	return v, nil
}

// MustParse is Parse for ranges written in code; it panics on error.
func MustParse(s string) Range {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

// Alert reports whether v violates the range. NaN always alerts: an
// unmeasured value must never pass as a good one.
func (r Range) Alert(v float64) bool {
	if math.IsNaN(v) {
		return true
	}
	inside := v >= r.Start && v <= r.End
	if r.Inside {
		return inside
	}
	return !inside
}

// String gives the canonical form of the range, as perfdata carries it.
func (r Range) String() string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start == 0 && !math.IsInf(r.End, 1) && !math.Signbit(r.Start):
		// "10" is the canonical spelling of "0:10".
	default:
		b.WriteString(format(r.Start))
		b.WriteByte(':')
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(format(r.End))
	}
	return b.String()
}

func format(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// UnmarshalFlag lets a Range be an option of go-flags (and of anything else
// that looks for this method) without this package importing it.
func (r *Range) UnmarshalFlag(s string) error {
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// MarshalFlag is the inverse of UnmarshalFlag.
func (r Range) MarshalFlag() (string, error) { return r.String(), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Range) UnmarshalText(b []byte) error { return r.UnmarshalFlag(string(b)) }

// MarshalText implements encoding.TextMarshaler.
func (r Range) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Evaluate returns the state of v against optional warning and critical
// ranges (nil means no threshold). Critical is evaluated first. A NaN value
// gives Unknown and ErrNotANumber.
func Evaluate(v float64, warn, crit *Range) (State, error) {
	if math.IsNaN(v) {
		return Unknown, ErrNotANumber
	}
	if crit != nil && crit.Alert(v) {
		return Critical, nil
	}
	if warn != nil && warn.Alert(v) {
		return Warning, nil
	}
	return OK, nil
}

// Pair is a warning and a critical range that judge one value together,
// as monitoring-plugins' thresholds struct holds them: a metric is given
// its pair once and both its state and its perfdata come from it. A nil
// range is no threshold.
type Pair struct {
	Warn, Crit *Range
}

// NewPair returns the pair of two ranges (either may be nil).
func NewPair(warn, crit *Range) Pair { return Pair{Warn: warn, Crit: crit} }

// Evaluate is Evaluate(v, p.Warn, p.Crit).
func (p Pair) Evaluate(v float64) (State, error) { return Evaluate(v, p.Warn, p.Crit) }

// State is the state of v against the pair; a NaN value is Unknown.
func (p Pair) State(v float64) State {
	st, _ := p.Evaluate(v)
	return st
}

// Scale returns the range with both ends multiplied by k > 0: the same
// range in another unit (MiB to bytes: 1<<20). The infinite ends stay
// infinite.
func (r Range) Scale(k float64) Range {
	return Range{Start: r.Start * k, End: r.End * k, Inside: r.Inside}
}

// Scale returns the pair with both ranges scaled by k > 0 (Range.Scale).
func (p Pair) Scale(k float64) Pair {
	scale := func(r *Range) *Range {
		if r == nil {
			return nil
		}
		s := r.Scale(k)
		return &s
	}
	return Pair{Warn: scale(p.Warn), Crit: scale(p.Crit)}
}
