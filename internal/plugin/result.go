package plugin

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/opschecks/opschecks/thresholds"
)

// State is a plugin state; the values are the exit codes.
type State = thresholds.State

// The plugin states.
const (
	OK       = thresholds.OK
	Warning  = thresholds.Warning
	Critical = thresholds.Critical
	Unknown  = thresholds.Unknown
)

// severity orders states the way monitoring-plugins' max_state_alt does:
// CRITICAL > WARNING > UNKNOWN > OK.
func severity(s State) int {
	switch s {
	case Critical:
		return 3
	case Warning:
		return 2
	case Unknown:
		return 1
	default:
		return 0
	}
}

// Worst returns the more severe of two states.
func Worst(a, b State) State {
	if severity(b) > severity(a) {
		return b
	}
	return a
}

// Perf is one performance data metric. Its Label follows the label scheme
// (label.go; build it with Label). A NaN Value means "not measured in this
// run": the metric is left out of the perfdata and named in the long
// output (see unmeasured), never written as "U".
// Thresholds is the pair that judges Value: State evaluates it and the
// perfdata carries it, so a range is given once. Whole declares that the
// metric only takes whole numbers (a count, whole seconds of a sysctl), so
// that more of its ranges have an exact plain form in the perfdata
// (perfRange); a Whole metric with a fractional value is a bug, refused by
// Render like any invalid perfdata.
type Perf struct {
	Label      string
	Value      float64
	UOM        string
	Thresholds thresholds.Pair
	Min, Max   *float64
	Whole      bool
}

// State is the metric's value judged by its thresholds (OK without any;
// UNKNOWN for a NaN value, which is never judged as 0).
func (p Perf) State() State { return p.Thresholds.State(p.Value) }

// F returns a pointer to v, for Perf.Min and Perf.Max.
func F(v float64) *float64 { return &v }

// Finding is one verdict of a check: a state, a one-line text, its
// perfdata and optional detail lines for the long output.
type Finding struct {
	State   State
	Text    string
	Perf    []Perf
	Details []string
	// Quiet keeps an OK finding out of the summary line (it still appears
	// in the details); for checks that report many healthy items.
	Quiet bool
}

// Result is what a check returns: its findings and general detail lines.
type Result struct {
	Findings []Finding
	Details  []string
}

// Add appends a finding and returns it for further editing.
func (r *Result) Add(state State, text string, perf ...Perf) *Finding {
	r.Findings = append(r.Findings, Finding{State: state, Text: text, Perf: perf})
	return &r.Findings[len(r.Findings)-1]
}

// Judge adds a finding whose state is p.State(): the metric judged by the
// thresholds it carries. more is further perfdata of the finding.
func (r *Result) Judge(text string, p Perf, more ...Perf) *Finding {
	return r.Add(p.State(), text, append([]Perf{p}, more...)...)
}

// Detailf appends a general detail line.
func (r *Result) Detailf(format string, args ...any) {
	r.Details = append(r.Details, fmt.Sprintf(format, args...))
}

// Detailf appends a detail line to the finding.
func (f *Finding) Detailf(format string, args ...any) *Finding {
	f.Details = append(f.Details, fmt.Sprintf(format, args...))
	return f
}

// State is the worst state of all findings (OK for none).
func (r *Result) State() State {
	s := OK
	for _, f := range r.Findings {
		s = Worst(s, f.State)
	}
	return s
}

// Error is an error that carries the state it should be reported with, for
// conditions that are verdicts rather than failures to look ("nothing
// listens on port 80" is CRITICAL, not UNKNOWN).
type Error struct {
	State State
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with the given state.
func Errorf(state State, format string, args ...any) error {
	return &Error{State: state, Err: fmt.Errorf(format, args...)}
}

// StateOf returns the state an error should be reported with: the state of
// an Error in its chain, otherwise UNKNOWN.
func StateOf(err error) State {
	var e *Error
	if errors.As(err, &e) {
		return e.State
	}
	return Unknown
}

// ordered returns the findings with the most severe first, keeping the
// check's order among equals.
func ordered(fs []Finding) []Finding {
	out := append([]Finding(nil), fs...)
	sort.SliceStable(out, func(i, j int) bool { return severity(out[i].State) > severity(out[j].State) })
	return out
}

// Render turns a result into the plugin output (without trailing newline
// handling) and its state. Invalid perfdata is a bug in the check and is
// reported as UNKNOWN rather than emitted broken.
func Render(label string, r *Result) (string, State) {
	state := r.State()
	fs := ordered(r.Findings)

	var summary []string
	for _, f := range fs {
		if f.State == OK && f.Quiet {
			continue
		}
		summary = append(summary, summaryText(f.Text))
	}
	if len(summary) == 0 {
		summary = append(summary, "no findings")
		if len(fs) == 0 {
			state = Unknown
		}
	}

	var perf []string
	seen := map[string]bool{}
	for _, f := range r.Findings {
		for _, p := range f.Perf {
			if seen[p.Label] {
				return internalError(label, fmt.Sprintf("duplicate perfdata label %q", p.Label)), Unknown
			}
			seen[p.Label] = true
			if err := checkLabel(p.Label); err != nil {
				return internalError(label, err.Error()), Unknown
			}
			if math.IsNaN(p.Value) {
				continue // see unmeasured
			}
			s, err := perfString(p)
			if err != nil {
				return internalError(label, err.Error()), Unknown
			}
			perf = append(perf, s)
		}
	}

	var details []string
	for _, f := range fs {
		omitted := unmeasured(f.Perf)
		if len(fs) > 1 || len(f.Details) > 0 || omitted != "" {
			details = append(details, fmt.Sprintf("[%s] %s", f.State, summaryText(f.Text)))
		}
		for _, d := range f.Details {
			details = append(details, "  "+OneLine(d))
		}
		if omitted != "" {
			details = append(details, "  "+omitted)
		}
	}
	for _, d := range r.Details {
		details = append(details, OneLine(d))
	}

	// The summary is cut as every first line is (maxLine), on a character
	// boundary: the perfdata after it must not be pushed past where a
	// consumer truncates, whatever length the findings' texts have.
	first := fmt.Sprintf("%s %s - %s", label, state, Clip(strings.Join(summary, Separator), maxLine))
	if len(perf) > 0 {
		first += " | " + strings.Join(perf, " ")
	}
	return emit(first, strings.Join(details, "\n")), state
}

// unmeasured says which metrics of a finding had no value in this run (a
// NaN Value: a rate on its first run, a member whose optime is unknown).
// They are left out of the perfdata rather than written as 'U': Icinga 2
// cannot parse a 'U' value (PerfdataValue::Parse throws "Can't convert 'U'
// to a floating point number") and every perfdata writer of 2.13 logs
// "warning/GraphiteWriter: Ignoring invalid perfdata" for it, and Perl
// Monitoring::Plugin drops it silently. A missing metric is a gap in the
// graph, which is what 'U' means. The finding's text says why.
func unmeasured(ps []Perf) string {
	var labels []string
	for _, p := range ps {
		if math.IsNaN(p.Value) {
			labels = append(labels, p.Label)
		}
	}
	if len(labels) == 0 {
		return ""
	}
	return "not measured in this run, so left out of the perfdata: " + strings.Join(labels, ", ")
}

// internalError is the one line of a result the runtime refuses to print
// (a bug in the check, never the user's input).
func internalError(label, why string) string {
	return fmt.Sprintf("%s UNKNOWN - internal error: %s\n", label, Clip(summaryText(why), maxLine))
}

// emit lays out the plugin output: the first line, then, when there is
// long output, a blank line and its lines; no line ends in blanks, and the
// output ends with one newline. This is the layout go-nagios gave it
// (ServiceOutput, its " \n" spacer, LongServiceOutput), which the README's
// examples, the goldens and the consumers' tests show, written here since
// it is all the runtime used of go-nagios: its perfdata quotes every label
// and its ranges are wrong (perfdata.go, DESIGN), and importing it costs
// every start of every check 110-145 thousand instructions (about 10% of
// check_keepalive's whole run) and 440 KB of binary, mostly package
// initialisation for what it imports and we never call (regexp and
// unicode's tables, compress/gzip's CRC and Huffman tables): callgrind,
// GOMAXPROCS=1, 2026-12-06. In wall time 0.17-0.18 ms a run (medians of
// 800 interleaved runs: check_keepalive 2.20 -> 2.03 ms, check_numa 2.28 ->
// 2.09 ms, check_dummy 1.01 ms on the loaded machine), a sixth of the
// 1 ms a local check has for its own work.
func emit(first, long string) string {
	text := first
	if long != "" {
		text += "\n\n" + long
	}
	lines := strings.Split(strings.TrimRight(text, " \n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}
