package plugin

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	nagios "github.com/atc0005/go-nagios"

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

// Perf is one performance data metric. A NaN value is written as "U".
// Thresholds is the pair that judges Value: State evaluates it and the
// perfdata carries it, so a range is given once.
type Perf struct {
	Label      string
	Value      float64
	UOM        string
	Thresholds thresholds.Pair
	Min, Max   *float64
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

// allowedUOM are the units of measurement the guidelines name.
var allowedUOM = map[string]bool{"": true, "s": true, "ms": true, "us": true, "%": true,
	"B": true, "KB": true, "MB": true, "GB": true, "TB": true, "c": true}

// OneLine makes s fit a single output line: newlines and NULs become
// spaces and the perfdata separator '|' is replaced, so that text taken
// from input can never break the output format.
func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', 0, '\t':
			return ' '
		case '|':
			return '/'
		}
		return r
	}, s)
}

// Clip shortens s to max bytes, marking the cut, for input quoted in
// messages.
func Clip(s string, max int) string {
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func formatNumber(v float64) string {
	if math.IsNaN(v) {
		return "U"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// perfString validates p and returns its perfdata form.
func perfString(p Perf) (string, error) {
	pd := nagios.PerformanceData{
		Label:             p.Label,
		Value:             formatNumber(p.Value),
		UnitOfMeasurement: p.UOM,
	}
	if math.IsInf(p.Value, 0) {
		return "", fmt.Errorf("perfdata %q: infinite value", p.Label)
	}
	if !allowedUOM[p.UOM] {
		return "", fmt.Errorf("perfdata %q: unit %q is not one of the guidelines' units", p.Label, p.UOM)
	}
	if strings.ContainsAny(p.Label, "='\n|") || strings.TrimSpace(p.Label) == "" {
		return "", fmt.Errorf("perfdata label %q is empty or holds = ' | or a newline", p.Label)
	}
	// go-nagios' PerformanceData.Validate is not called: the checks above
	// cover its label and unit rules, formatNumber only writes numbers and
	// U, and it compiles a regexp for every field of every item (about 1%
	// of a short check's run). Its range check would also reject negative
	// and fractional ranges, which the guidelines allow; ours come from
	// thresholds.Range and are valid by construction.
	if w := p.Thresholds.Warn; w != nil {
		pd.Warn = w.String()
	}
	if c := p.Thresholds.Crit; c != nil {
		pd.Crit = c.String()
	}
	if p.Min != nil {
		pd.Min = formatNumber(*p.Min)
	}
	if p.Max != nil {
		pd.Max = formatNumber(*p.Max)
	}
	s := strings.TrimPrefix(pd.String(), " ")
	return strings.TrimRight(s, ";"), nil
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
		summary = append(summary, OneLine(f.Text))
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
				return fmt.Sprintf("%s UNKNOWN - internal error: duplicate perfdata label %q", label, p.Label), Unknown
			}
			seen[p.Label] = true
			s, err := perfString(p)
			if err != nil {
				return fmt.Sprintf("%s UNKNOWN - internal error: %s", label, OneLine(err.Error())), Unknown
			}
			perf = append(perf, s)
		}
	}

	var details []string
	for _, f := range fs {
		if len(fs) > 1 || len(f.Details) > 0 {
			details = append(details, fmt.Sprintf("[%s] %s", f.State, OneLine(f.Text)))
		}
		for _, d := range f.Details {
			details = append(details, "  "+OneLine(d))
		}
	}
	for _, d := range r.Details {
		details = append(details, OneLine(d))
	}

	first := fmt.Sprintf("%s %s - %s", label, state, strings.Join(summary, "; "))
	if len(perf) > 0 {
		first += " | " + strings.Join(perf, " ")
	}
	return emit(first, strings.Join(details, "\n"), state), state
}

// emit formats through go-nagios so that the long-output conventions are
// the library's, with perfdata kept on the first line.
func emit(first, long string, state State) string {
	var b strings.Builder
	// A zero Plugin (not NewPlugin) so go-nagios adds no 'time' metric of
	// its own after the long output.
	p := &nagios.Plugin{}
	p.SetOutputTarget(&b)
	p.SkipOSExit()
	p.HideErrorsSection()
	p.HideThresholdsSection()
	p.ServiceOutput = first
	p.LongServiceOutput = long
	p.ExitStatusCode = int(state)
	p.ReturnCheckResults()
	// go-nagios ends lines with " \n" for its web UI's sake; shells and
	// parsers are better served without the trailing blanks.
	lines := strings.Split(strings.TrimRight(b.String(), " \n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}
