package testenv

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The judges of AssertConsumers (consumers.go): what each consumer
// recorded of a sample, against what the check printed.

var icingaLogProblem = regexp.MustCompile(`(?m)^.*(warning|critical)/[A-Za-z]+: .*(?i:perfdata|performance data).*$`)

// logProblems are the lines of icinga2's log that complain about perfdata
// ("Ignoring invalid perfdata" of the writers), and a GraphiteWriter that
// could not connect.
func (c *consumed) logProblems() []string {
	out := icingaLogProblem.FindAllString(c.log, 5)
	if strings.Contains(c.log, "warning/GraphiteWriter: Can't connect") {
		out = append(out, "icinga2's GraphiteWriter could not connect to the receiver")
	}
	return out
}

// problems lists every way the consumers' record of s differs from what
// was printed.
func (c *consumed) problems(s Sample) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	ps := c.printed[s.Name]
	var fields []string
	for _, p := range ps {
		fields = append(fields, p.Field)
	}
	want := strings.Join(fields, " ")

	// Nagios 4's service_perfdata_file.
	switch n, ok := c.nagios[s.Name]; {
	case !ok:
		bad("nagios4 wrote no perfdata record")
	case n[0] != strconv.Itoa(s.Run.Code):
		bad("nagios4 recorded state %s, the check exited %d", n[0], s.Run.Code)
	case n[1] != want:
		bad("nagios4 perfdata file:\n got %q\nwant %q", n[1], want)
	}

	// The text: Nagios 4 keeps the first line's text before '|' with the
	// blanks around it stripped, and the lines after it (newlines escaped
	// as \n in status.dat); Icinga 2 keeps the text before '|' as it is
	// and the lines after it (lib/icinga/pluginutility.cpp,
	// ParseCheckOutput).
	first, long, _ := strings.Cut(strings.TrimRight(s.Run.Stdout, "\n"), "\n")
	text, _, _ := strings.Cut(first, "|")
	if st := c.status[s.Name]; st == nil {
		bad("nagios4's status.dat has no record")
	} else {
		if got, want := st["plugin_output"], strings.TrimSpace(text); got != want {
			bad("nagios4 recorded another first line:\n got %q\nwant %q", got, want)
		}
		if got := st["long_plugin_output"]; got != long {
			bad("nagios4 recorded another long output:\n got %q\nwant %q", got, long)
		}
	}

	// Icinga 2's PerfdataWriter: state, text, the metrics as stored, as
	// parsed.
	rec := c.icinga[s.Name]
	if rec == nil {
		return append(out, "icinga2 recorded nothing")
	}
	if want := strings.TrimSuffix(text+"\n"+long, "\n"); rec["SERVICEOUTPUT"] != want {
		bad("icinga2 recorded another output:\n got %q\nwant %q", rec["SERVICEOUTPUT"], want)
	}
	if rec["SERVICESTATEID"] != strconv.Itoa(s.Run.Code) {
		bad("icinga2 recorded state %s, the check exited %d", rec["SERVICESTATEID"], s.Run.Code)
	}
	// Icinga 2 stores the labels without quotes (and quotes a label with
	// a space again).
	var stored, unquoted []string
	for _, f := range strings.Fields(rec["SERVICEPERFDATA"]) {
		l, v, _ := strings.Cut(f, "=")
		stored = append(stored, strings.Trim(l, "'")+"="+v)
	}
	for _, p := range ps {
		_, v, _ := strings.Cut(p.Field, "=")
		unquoted = append(unquoted, p.Label+"="+v)
	}
	if strings.Join(stored, " ") != strings.Join(unquoted, " ") {
		bad("icinga2 stored other metrics than printed (labels renamed or split):\n got %q\nwant %q", rec["SERVICEPERFDATA"], want)
	}
	var parsed []icingaParsed
	if err := json.Unmarshal([]byte(rec["PARSED"]), &parsed); err != nil {
		return append(out, fmt.Sprintf("icinga2's parse of the perfdata is not JSON (%v): %q", err, rec["PARSED"]))
	}
	if len(parsed) != len(ps) {
		return append(out, fmt.Sprintf("icinga2 parsed %d metrics, %d printed: %+v", len(parsed), len(ps), parsed))
	}
	eq := func(got, want *float64) bool {
		return got == nil && want == nil || got != nil && want != nil && near(*got, *want, 0)
	}
	for i, p := range ps {
		q, u := parsed[i], icingaUnits[p.UOM]
		switch {
		case q.Invalid != "":
			bad("icinga2 cannot parse %q", q.Invalid)
		case q.Label != p.Label || !eq(&q.Value, p.value()) || q.Unit != u.name || q.Counter != (p.UOM == "c" && c.counts) ||
			!eq(q.Warn, perfNumber(p.Warn, u.factor)) || !eq(q.Crit, perfNumber(p.Crit, u.factor)) ||
			!eq(q.Min, perfNumber(p.Min, u.factor)) || !eq(q.Max, perfNumber(p.Max, u.factor)):
			bad("icinga2 read %q as %s", p.Field, fmtParsed(q))
		}
	}

	// Icinga 2's GraphiteWriter: one node per label, the same numbers.
	wantPaths := map[string]*float64{}
	for _, p := range ps {
		f := icingaUnits[p.UOM].factor
		wantPaths[p.Label+".value"] = p.value()
		for field, raw := range map[string]string{"warn": p.Warn, "crit": p.Crit, "min": p.Min, "max": p.Max} {
			if n := perfNumber(raw, f); n != nil {
				wantPaths[p.Label+"."+field] = n
			}
		}
	}
	m := c.graphite[s.Name]
	for path, val := range m {
		w, ok := wantPaths[path]
		switch {
		case strings.Count(path, ".") != 1:
			bad("Graphite path %q: the label is not exactly one node", path)
		case !ok:
			bad("Graphite received %q, which was not printed", path)
		default:
			got, err := strconv.ParseFloat(val, 64)
			// Icinga 2 writes six decimals (Convert::ToString).
			if err != nil || w == nil || !near(got, *w, 5e-7) {
				bad("Graphite %s = %s, printed %s", path, val, fmtNum(w))
			}
		}
	}
	for path, w := range wantPaths {
		if _, ok := m[path]; !ok && w != nil {
			bad("Graphite did not receive %s", path)
		}
	}
	return out
}

// nagiosPerfdata reads the service_perfdata_file of consume: by service,
// its state id and perfdata (the last record of each).
func nagiosPerfdata(t *testing.T, path string) map[string][2]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("nagios4 wrote no service_perfdata_file: %v", err)
	}
	out := map[string][2]string{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, "\t")
		if len(f) == 4 && f[0] == "[SERVICEPERFDATA]" {
			out[f[1]] = [2]string{f[2], f[3]}
		}
	}
	return out
}

// perfNumber is a printed value, warn, crit, min or max as Icinga 2 reads
// it: a plain number, scaled by the unit's factor, or nothing (empty, 'U',
// or a range, which Icinga 2's ParseWarnCritMinMaxToken drops).
func perfNumber(field string, factor float64) *float64 {
	if field == "" || strings.ContainsAny(field, ":~@") {
		return nil
	}
	v, err := strconv.ParseFloat(field, 64)
	if err != nil {
		return nil
	}
	v *= factor
	return &v
}

func near(a, b, abs float64) bool {
	return math.Abs(a-b) <= abs+1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func fmtNum(v *float64) string {
	if v == nil {
		return "none"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func fmtParsed(q icingaParsed) string {
	return fmt.Sprintf("label %q value %v unit %q counter %v warn %s crit %s min %s max %s",
		q.Label, q.Value, q.Unit, q.Counter, fmtNum(q.Warn), fmtNum(q.Crit), fmtNum(q.Min), fmtNum(q.Max))
}
