package plugin

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opschecks/opschecks/thresholds"
)

var (
	// No ';' before the perfdata: Nagios 4 rewrites it to ':' (Separator).
	fuzzFirst = regexp.MustCompile(`^FUZZ (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n;]*(?: \| ([^\n]+))?$`)
	fuzzItem  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*=-?[0-9]+(\.[0-9]+)?(%|c)?(;[-0-9.:~@]*){0,4}$`)
)

type fuzzOptions struct {
	Common
	Warning *thresholds.Range `short:"w" long:"warning"`
	Name    string            `long:"name"`
}

// FuzzOutput runs the runtime end to end (options, check, rendering,
// printing) on arbitrary arguments and on arbitrary text, label parts and
// values a check might take from its input (a file, a server's answer),
// and asserts what every consumer relies on: valid UTF-8, one first line
// of the contract, perfdata items whose labels follow the scheme, unique,
// and never 'U'.
func FuzzOutput(f *testing.F) {
	f.Add("-w", "10", "member db1.example.com:27017 is SECONDARY", "db1.example.com:27017", 1.5, false)
	f.Add("--name", "\xff\xfe", "line\nbreak|pipe\x00nul", "[::1]:8080", math.NaN(), false)
	f.Add("-w", strings.Repeat("€", 400), strings.Repeat("é", 700), "", -3.0, true)
	f.Add("--bogus", "\xe2\x82", "\xc3", "0.0.0.0:80", math.Inf(1), false)
	f.Add("-w", "@~:5", "ok", "Queue", 5.0, true)
	f.Add("-w", "10", strings.Repeat("é", 3000), "db1:27017", 1.0, false)
	f.Add("--name", "; x", "a; b", "c;d", 1.0, false)
	f.Add("--bogus;", "", "a; b", "", 1.0, true)
	f.Add("-vV", "0", "0", "", -3.0, true) // found by make test in CI: version inside a group
	f.Add("-vh", "0", "0", "", 1.0, false)
	f.Add("-w", "0", "\x91", strings.Repeat("\x0f", 3000), 0.5, false) // a label of 3000 marked characters
	// The watchdog ends the process when it fires before the check returns
	// (rt.exit): with a short -t it does so at once, since deadlines counts
	// -t from the process's start ('-t 1' in a worker started 0.8 s ago;
	// the fuzzing worker died with exit status 3). Here the process is the
	// fuzzing worker, so the exit ends nothing; run returns the code the
	// watchdog printed, and its output is checked as any other.
	savedExit := rt.exit
	rt.exit = func(int) {}
	defer func() { rt.exit = savedExit }()
	f.Add("-t", "1", "0", "0", 66.5, true)     // the watchdog's exit, found by a 60 s run
	f.Add("-t", "0.001", "0", "0", 66.5, true) // fires before the check returns
	f.Fuzz(func(t *testing.T, flag, arg, text, part string, value float64, fail bool) {
		var o fuzzOptions
		check := func(ctx context.Context, env Env) (*Result, error) {
			if fail {
				return nil, errors.New(text)
			}
			var r Result
			st, _ := thresholds.Evaluate(value, o.Warning, nil)
			r.Add(st, text+o.Name,
				Perf{Label: Label("lag", Endpoint(part)...), Value: value, UOM: "%", Thresholds: thresholds.NewPair(o.Warning, nil), Min: F(0)},
				Perf{Label: Label("total"), Value: 1, UOM: "c"},
			).Detailf("%s %s", part, text)
			r.Detailf("%s", arg)
			return &r, nil
		}
		var out strings.Builder
		saved := rt.stdout
		rt.stdout = &out
		code := run(Spec{Name: "check_fuzz", Label: "FUZZ"}, &o, check, []string{flag, arg})
		rt.stdout = saved

		s := out.String()
		if !utf8.ValidString(s) {
			t.Fatalf("output is not valid UTF-8: %q", s)
		}
		if code < 0 || code > 3 {
			t.Fatalf("exit code %d", code)
		}
		// --help, --version and the hidden --emit-* print their own text,
		// also when given inside a group of short options ("-vV") or
		// abbreviated: ask the parsed options, not the spelling.
		if o.Help || o.Version || o.EmitOptions || o.EmitMan {
			if code != 3 {
				t.Fatalf("%q exits %d, want 3", flag, code)
			}
			return
		}
		first, _, _ := strings.Cut(s, "\n")
		m := fuzzFirst.FindStringSubmatch(first)
		if m == nil {
			t.Fatalf("first line breaks the contract: %q", first)
		}
		if m[1] != State(code).String() {
			t.Fatalf("state %s with exit code %d", m[1], code)
		}
		// The first line's length is the summary's, cut at maxLine, and the
		// perfdata's, whose labels are bounded (maxLabel).
		summary, _, _ := strings.Cut(strings.TrimPrefix(first, "FUZZ "+m[1]+" - "), " | ")
		if len(summary) > maxLine+len("...") {
			t.Fatalf("summary of %d bytes", len(summary))
		}
		seen := map[string]bool{}
		for _, item := range strings.Fields(m[2]) {
			if !fuzzItem.MatchString(item) {
				t.Fatalf("perfdata item %q outside the scheme in %q", item, first)
			}
			l, _, _ := strings.Cut(item, "=")
			if len(l) > maxLabel {
				t.Fatalf("label of %d bytes: %q", len(l), l)
			}
			if seen[l] {
				t.Fatalf("label %q twice in %q", l, first)
			}
			seen[l] = true
		}
		for _, l := range strings.Split(s, "\n")[1:] {
			if strings.Contains(l, "|") {
				t.Fatalf("a '|' in the long output starts perfdata for Nagios: %q", l)
			}
		}
	})
}

// FuzzDropExpectedType: dropExpectedType removes exactly what the regexp
// it replaces matched, and OneLine's shortcut for printable ASCII returns
// what its general path returns.
func FuzzDropExpectedType(f *testing.F) {
	re := regexp.MustCompile(` \(expected \*?[A-Za-z0-9_.]+\)`)
	f.Add("invalid argument for flag -w, --warning (expected *thresholds.Range): bad")
	f.Add(" (expected ) (expected *) (expected x.y_Z9) (expected  (expected int)")
	f.Add("a (expected **T) b (expected T)) (expected T")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := dropExpectedType(s), re.ReplaceAllString(s, ""); got != want {
			t.Errorf("dropExpectedType(%q) = %q, want %q", s, got, want)
		}
		if printable(s) && s != oneLineSlow(s) {
			t.Errorf("OneLine(%q) changed printable text: %q", s, oneLineSlow(s))
		}
	})
}

// oneLineSlow is OneLine without its shortcut.
func oneLineSlow(s string) string { return OneLine(s + "\n")[:len(s)] }
