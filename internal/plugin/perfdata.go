package plugin

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/thresholds"
)

// allowedUOM are the units of measurement the guidelines name.
var allowedUOM = map[string]bool{"": true, "s": true, "ms": true, "us": true, "%": true,
	"B": true, "KB": true, "MB": true, "GB": true, "TB": true, "c": true}

// formatNumber writes v in C-locale decimal, never in exponent form: the
// guidelines put value, min and max in the class [-0-9.].
func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// perfRange writes a threshold as perfdata carries it: the range as the
// guidelines define it, but the plain upper bound where that means the same
// for every value the metric can take (Min is 0 or more): "~:10" and
// "0:10" on such a metric are "10". On a metric of whole numbers (Perf.Whole)
// "@S:" too, which alerts for v >= S, that is for v > ceil(S)-1: the plain
// ceil(S)-1 ("@90:" on whole seconds is "89"). Icinga 2 drops any warn or
// crit that is not a plain number (PerfdataValue::Parse,
// ParseWarnCritMinMaxToken), Perl Monitoring::Plugin any '@' range
// (Performance::_parse), and Nagios strips '~' from $SERVICEPERFDATA$
// passed to a command (Debian's illegal_macro_output_chars). A range that
// cannot alert on that domain ("~:", "0:") is left out, as no threshold at
// all. What alerts below a bound ("10:", "@~:5") has no plain form and is
// written as the range.
func perfRange(r *thresholds.Range, min *float64, whole bool) string {
	if r == nil {
		return ""
	}
	if min == nil || *min < 0 {
		return r.String()
	}
	switch {
	case !r.Inside && r.Start <= *min:
		switch {
		case math.IsInf(r.End, 1):
			return ""
		case r.End >= *min:
			return formatNumber(r.End)
		}
	case r.Inside && whole && math.IsInf(r.End, 1):
		// "@S:" alerts for every value when ceil(S)-1 is below the
		// minimum, which no plain number says.
		if n := math.Ceil(r.Start) - 1; n >= *min {
			return formatNumber(n)
		}
	}
	return r.String()
}

// perfString validates the value and unit of p (Render checks its label)
// and returns its perfdata form,
// label=value[UOM];[warn];[crit];[min];[max] with the empty trailing fields
// left out. The label is never quoted: a label of the scheme needs no
// quotes (label.go). Written here rather than with go-nagios'
// PerformanceData.String, which quotes every label (Graphios then keeps the
// quotes in every Graphite path), and whose Validate compiles a regexp for
// every field of every item (about 1% of a short check's run) and refuses
// the negative and fractional ranges the guidelines allow.
func perfString(p Perf) (string, error) {
	if math.IsInf(p.Value, 0) || math.IsNaN(p.Value) {
		return "", fmt.Errorf("perfdata %q: value %v is not a number", p.Label, p.Value)
	}
	if p.Whole && p.Value != math.Trunc(p.Value) {
		return "", fmt.Errorf("perfdata %q: value %v is not the whole number it is declared to be", p.Label, p.Value)
	}
	if !allowedUOM[p.UOM] {
		return "", fmt.Errorf("perfdata %q: unit %q is not one of the guidelines' units", p.Label, p.UOM)
	}
	bound := func(v *float64) string {
		if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
			return ""
		}
		return formatNumber(*v)
	}
	fields := []string{
		p.Label + "=" + formatNumber(p.Value) + p.UOM,
		perfRange(p.Thresholds.Warn, p.Min, p.Whole), perfRange(p.Thresholds.Crit, p.Min, p.Whole),
		bound(p.Min), bound(p.Max),
	}
	return strings.TrimRight(strings.Join(fields, ";"), ";"), nil
}
