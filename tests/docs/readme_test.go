package docs

import (
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

func (w *world) isCheck(name string) bool { _, ok := w.bins[name]; return ok }

// readme is README.md split into units.
func (w *world) readme(t *testing.T) (string, []unit) {
	t.Helper()
	text := w.read(t, "README.md")
	return text, markdownUnits("README.md", text, w.isCheck)
}

// validate runs an invocation with --validate-options: the binary parses
// and validates every option as a real run would, and stops there.
func validate(t *testing.T, inv invocation) {
	t.Helper()
	if inv.elided {
		return
	}
	args, partial, err := runnable(inv)
	if err != nil {
		t.Errorf("%s: %s: %v", inv.src, inv.text, err)
		return
	}
	if partial {
		// A command definition: its services give the rest.
		for _, a := range args {
			if m := optionWord.FindStringSubmatch(a); m != nil {
				if found, _ := hasOption(inv.bin, m[1]); !found {
					t.Errorf("%s: %s: %s is no option of %s", inv.src, inv.text, m[1], inv.bin.name)
				}
			}
		}
		return
	}
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "--help" || a == "-V" || a == "--version" }) {
		// It only prints, as it does for real.
		if r := testenv.RunCheck(t, inv.bin.path, nil, args...); r.Code != 3 || r.Stdout == "" || r.Stderr != "" {
			t.Errorf("%s: %s %s: exit %d, stdout %q, stderr %q; want exit 3 and the text", inv.src, inv.bin.name, shellQuote(args), r.Code, r.Stdout, r.Stderr)
		}
		return
	}
	r := testenv.RunCheck(t, inv.bin.path, nil, append(args, "--validate-options")...)
	if want := inv.bin.doc.Label + " OK - options are valid"; r.Code != 0 || !strings.HasPrefix(r.Stdout, want) || r.Stderr != "" {
		t.Errorf("%s: %s %s\n\tis refused: exit %d: %s", inv.src, inv.bin.name, shellQuote(args), r.Code, strings.TrimSpace(r.Stdout+r.Stderr))
	}
}

// checkUnits validates every invocation in the units and reports how many
// each binary had.
func (w *world) checkUnits(t *testing.T, units []unit, defined map[string]string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, u := range units {
		if u.prose {
			continue
		}
		invs, problems := w.invocations(u, defined)
		for _, p := range problems {
			t.Errorf("%s: %s", u.src, p)
		}
		for _, inv := range invs {
			seen[inv.bin.name]++
			validate(t, inv)
		}
	}
	return seen
}

// TestREADMECommandLines: every command line of a check in the README —
// in code blocks, after a "$ " prompt, in inline code, a Nagios service's
// check_command through its command definition, an NRPE command asked
// for by check_nrpe — is accepted by the binary as it is written.
func TestREADMECommandLines(t *testing.T) {
	w := theBinaries(t)
	text, units := w.readme(t)
	seen := w.checkUnits(t, units, nagiosCommands(text))
	for _, n := range w.names {
		if seen[n] == 0 {
			t.Errorf("README.md shows no command line of %s", n)
		}
	}
}

var (
	applyService = regexp.MustCompile(`(?s)apply Service "[^"]*" \{(.*?)\n\}`)
	icingaCheck  = regexp.MustCompile(`check_command = "([^"]+)"`)
	icingaVar    = regexp.MustCompile(`(?m)^\s*vars\.(opschecks_[a-z0-9_]+) = (.+?)\s*$`)
	icingaString = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
)

// icingaUnits turns the example Icinga 2 services into command lines:
// each custom variable is the option it is named after.
func (w *world) icingaUnits(t *testing.T, file string) []invocation {
	t.Helper()
	var out []invocation
	for _, m := range applyService.FindAllStringSubmatch(w.read(t, file), -1) {
		cc := icingaCheck.FindStringSubmatch(m[1])
		if cc == nil {
			t.Errorf("%s: a service without check_command:\n%s", file, m[0])
			continue
		}
		b, rest := w.byCommand(cc[1])
		if b == nil || rest != "" {
			t.Errorf("%s: check_command %s is no generated CheckCommand", file, cc[1])
			continue
		}
		inv := invocation{unit: unit{src: file + ": apply Service for " + cc[1], text: m[0]}, bin: b}
		for _, v := range icingaVar.FindAllStringSubmatch(m[1], -1) {
			_, opt := w.byCommand(v[1])
			flag := "--" + strings.ReplaceAll(strings.TrimPrefix(opt, "_"), "_", "-")
			if v[2] == "true" {
				inv.args = append(inv.args, flag)
				continue
			}
			for _, s := range icingaString.FindAllStringSubmatch(v[2], -1) {
				val, err := strconv.Unquote(`"` + s[1] + `"`)
				if err != nil {
					t.Errorf("%s: %s = %s: %v", file, v[1], v[2], err)
				}
				inv.args = append(inv.args, flag, val)
			}
		}
		out = append(out, inv)
	}
	return out
}

// TestGeneratedExamples: the command lines packaging/gen writes — the
// example Nagios services through the generated commands, the NRPE
// command lines, the example Icinga 2 services, the comments that show
// how to call them, the man pages' EXAMPLES — are accepted by the
// binaries, and every binary has them.
func TestGeneratedExamples(t *testing.T) {
	w := theBinaries(t)
	var units []unit
	for _, f := range []string{"packaging/nagios/opschecks-services.cfg", "packaging/nagios/opschecks-commands.cfg",
		"packaging/nrpe/opschecks.cfg", "packaging/nrpe/opschecks-rpm.cfg"} {
		units = append(units, lineUnits(f, w.read(t, f))...)
	}
	seen := w.checkUnits(t, units, nil)

	man := map[string]int{}
	for _, n := range w.names {
		f := filepath.Join("packaging", "man", n+".1")
		for _, u := range manExampleUnits(f, w.read(t, f)) {
			invs, problems := w.invocations(u, nil)
			for _, p := range problems {
				t.Errorf("%s: %s", u.src, p)
			}
			for _, inv := range invs {
				if inv.bin.name != n {
					t.Errorf("%s: the man page of %s shows %s", u.src, n, inv.bin.name)
				}
				man[n]++
				validate(t, inv)
			}
		}
	}
	icinga := map[string]int{}
	for _, inv := range w.icingaUnits(t, "packaging/icinga2/opschecks-services.conf") {
		icinga[inv.bin.name]++
		validate(t, inv)
	}
	for _, n := range w.names {
		if seen[n] == 0 || man[n] == 0 || icinga[n] == 0 {
			t.Errorf("%s: %d Nagios/NRPE command lines, %d man page EXAMPLES, %d Icinga 2 services; want each", n, seen[n], man[n], icinga[n])
		}
	}
}

// optionWord is a word that names an option: -x, -xyz (short options
// clustered) or --name, with an optional =value.
var optionWord = regexp.MustCompile(`^(--[A-Za-z][A-Za-z0-9-]*|-[A-Za-z]+)(=.*)?$`)

// TestREADMEOptions: every option the README names in code — "--pid",
// "-w 48:", a table's "--state-dir DIR" — is an option of the check its
// section or table row is about, spelled as the binary spells it; outside
// a check's section, an option of at least one binary. Code that starts
// with another program (sysctl -w, numactl --interleave=all) is that
// program's business.
func TestREADMEOptions(t *testing.T) {
	w := theBinaries(t)
	_, units := w.readme(t)
	checked := 0
	for _, u := range units {
		if u.prose || !optionWord.MatchString(strings.Fields(u.text + " x")[0]) {
			continue
		}
		words := strings.FieldsFunc(u.text, func(r rune) bool { return strings.ContainsRune(" /,()|", r) })
		for i := 0; i < len(words); i++ {
			m := optionWord.FindStringSubmatch(words[i])
			if m == nil {
				continue
			}
			checked++
			takesValue := false
			ok := false
			for _, b := range w.bins {
				if u.check != "" && b.name != u.check {
					continue
				}
				if found, value := hasOption(b, m[1]); found {
					ok, takesValue = true, value && m[2] == ""
				}
			}
			if !ok {
				where := "any check"
				if u.check != "" {
					where = u.check
				}
				t.Errorf("%s: `%s` names %s, which is no option of %s", u.src, u.text, m[1], where)
			}
			if takesValue {
				i++ // its value
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d options found in the README's code; the extraction is broken", checked)
	}
}

// hasOption says whether b has the option spelled s (a short cluster:
// each letter up to one that takes a value) and whether the next word is
// its value.
func hasOption(b *binary, s string) (found, takesValue bool) {
	if strings.HasPrefix(s, "--") {
		o, ok := b.option(s)
		return ok, ok && !o.Bool
	}
	for i, r := range s[1:] {
		o, ok := b.short[string(r)]
		if !ok {
			return false, false
		}
		if !o.Bool {
			return true, i == len(s)-2 // a value attached (-w10) or next
		}
	}
	return true, false
}

var (
	modeMention = regexp.MustCompile("--mode[ =]`?([a-z0-9][a-z0-9-]*)") // not --mode MODE
	tableRule   = regexp.MustCompile(`^\|[-:| ]+\|$`)
	defaultSpan = regexp.MustCompile(`^-w (\S+)(?: -c (\S+))?$|^-c (\S+)$`)
)

// modal is the binary a --mode in section check belongs to: that check,
// or outside a check's section the one binary with modes.
func (w *world) modal(check string) *binary {
	if b, ok := w.bins[check]; ok {
		return b
	}
	var found *binary
	for _, n := range w.names {
		if len(w.bins[n].doc.Modes) > 0 {
			if found != nil {
				return nil // ambiguous: the docs must say which check
			}
			found = w.bins[n]
		}
	}
	return found
}

// TestREADMEModes: every "--mode X" the README writes, in code or prose,
// names a mode of the check it is about; the README's tables of modes
// (a header "--mode" or "mode") list modes that exist, every registered
// mode is in one, and where a table gives default thresholds they are the
// ones the binary judges with; in a table of their metrics a row says "no
// `-w`/`-c`" exactly for the modes that refuse them.
func TestREADMEModes(t *testing.T) {
	w := theBinaries(t)
	text, units := w.readme(t)
	for _, u := range units {
		for _, m := range modeMention.FindAllStringSubmatch(u.text, -1) {
			b := w.modal(u.check)
			if b == nil || !b.hasMode(m[1]) {
				t.Errorf("%s: --mode %s: no such mode (%s)", u.src, m[1], strings.TrimSpace(u.text))
			}
		}
	}

	lines := strings.Split(text, "\n")
	sectionOf := sections(lines, w.isCheck)
	documented := map[string]map[string]bool{}
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") || !tableRule.MatchString(strings.TrimSpace(lines[i+1])) {
			continue
		}
		header := cells(lines[i])
		if first := strings.Trim(header[0], "` "); first != "--mode" && first != "mode" {
			continue
		}
		b := w.modal(sectionOf[i])
		if b == nil || len(b.doc.Modes) == 0 {
			t.Errorf("README.md:%d: a table of modes outside the section of a check with modes", i+1)
			continue
		}
		if documented[b.name] == nil {
			documented[b.name] = map[string]bool{}
		}
		wCol, cCol, dCol, metrics := -1, -1, -1, false
		for j, h := range header {
			metrics = metrics || strings.Contains(strings.ToLower(h), "metric")
			switch h = strings.ToLower(h); {
			case strings.Contains(h, "default -w"):
				wCol = j
			case strings.Contains(h, "default -c"):
				cCol = j
			case strings.Contains(h, "default"):
				dCol = j
			}
		}
		for j := i + 2; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			row := cells(lines[j])
			// The modes of a row: the code in its first cell (a row may
			// name several), or its first word.
			var names []string
			for _, m := range codeSpan.FindAllStringSubmatch(row[0], -1) {
				names = append(names, m[1])
			}
			if len(names) == 0 {
				names = strings.Fields(row[0] + " x")[:1]
			}
			var mode plugin.ModeDoc
			for _, name := range names {
				m, ok := modeDoc(b, name)
				if !ok {
					t.Errorf("README.md:%d: the table lists mode %q; %s has no such mode", j+1, name, b.name)
					continue
				}
				documented[b.name][m.Name] = true
				mode = m
			}
			if len(names) != 1 || mode.Name == "" {
				continue // defaults are given one mode a row
			}
			if said := strings.Contains(lines[j], noThresholds); metrics && said != mode.NoThresholds {
				t.Errorf("README.md:%d: mode %s: the row says %q: %v; the binary refuses -w/-c with it: %v", j+1, mode.Name, noThresholds, said, mode.NoThresholds)
			}
			switch {
			case wCol >= 0 && cCol >= 0 && max(wCol, cCol) < len(row):
				if got, want := []string{tableDefault(row[wCol]), tableDefault(row[cCol])}, []string{mode.Warning, mode.Critical}; got[0] != want[0] || got[1] != want[1] {
					t.Errorf("README.md:%d: mode %s: the table gives the defaults -w %q -c %q; the binary judges with -w %q -c %q", j+1, mode.Name, got[0], got[1], want[0], want[1])
				}
			case dCol >= 0 && dCol < len(row):
				warn, crit := "", ""
				for _, s := range codeSpan.FindAllStringSubmatch(row[dCol], -1) {
					if d := defaultSpan.FindStringSubmatch(s[1]); d != nil {
						warn, crit = d[1], d[2]+d[3]
					}
				}
				if warn != mode.Warning || crit != mode.Critical {
					t.Errorf("README.md:%d: mode %s: the table gives the defaults %q; the binary judges with %q (write them as `%s`, or nothing for none)",
						j+1, mode.Name, plugin.ModeDoc{Warning: warn, Critical: crit}.Defaults(), mode.Defaults(), mode.Defaults())
				}
			}
		}
	}
	for _, n := range w.names {
		for _, m := range w.bins[n].doc.Modes {
			if !documented[n][m.Name] {
				t.Errorf("%s --mode %s is in no table of modes of the README", n, m.Name)
			}
		}
	}
}

// noThresholds is how a row of a table of modes says that the mode has no
// main metric, so that -w and -c are refused with it.
const noThresholds = "no `-w`/`-c`"

// modeDoc finds a mode of b by its exact name.
func modeDoc(b *binary, name string) (plugin.ModeDoc, bool) {
	for _, d := range b.doc.Modes {
		if d.Name == name {
			return d, true
		}
	}
	return plugin.ModeDoc{}, false
}

// tableDefault reads a default threshold cell: its first code span, or
// none ("–", "-", empty).
func tableDefault(cell string) string {
	if m := codeSpan.FindStringSubmatch(cell); m != nil {
		return m[1]
	}
	if c := strings.TrimSpace(cell); c != "–" && c != "-" && c != "" {
		return c
	}
	return ""
}

// cells splits a Markdown table row; "\|" stays in its cell.
func cells(row string) []string {
	row = strings.Trim(strings.TrimSpace(row), "|")
	parts := regexp.MustCompile(`([^\\])\|`).ReplaceAllString(row, "$1\x00")
	out := strings.Split(parts, "\x00")
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

// shellQuote writes arguments so a reader can paste them into a shell.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\|&;<>(){}*?[]#~!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// TestEveryOptionDocumented: every option a binary offers is named in the
// README's code: in the section (or a table row) of its check, or, for
// the options every binary has (plugin.Common), anywhere. A new option
// fails this until the README says what it does.
func TestEveryOptionDocumented(t *testing.T) {
	w := theBinaries(t)
	_, units := w.readme(t)
	named := map[string]map[string]bool{} // check ("" outside a check's section) -> --options in its code
	longOpt := regexp.MustCompile(`--[a-z][a-z0-9-]*`)
	for _, u := range units {
		if u.prose {
			continue
		}
		if named[u.check] == nil {
			named[u.check] = map[string]bool{}
		}
		for _, o := range longOpt.FindAllString(u.text, -1) {
			named[u.check][o] = true
		}
	}
	common := map[string]bool{}
	all, _ := commonOptions()
	for _, o := range all {
		common[o.Long] = true
	}
	for _, n := range w.names {
		for _, o := range w.bins[n].doc.Options {
			spelled := "--" + o.Long
			if named[n][spelled] {
				continue
			}
			if common[o.Long] && slices.ContainsFunc(slices.Collect(maps.Values(named)), func(m map[string]bool) bool { return m[spelled] }) {
				continue
			}
			t.Errorf("%s %s is named nowhere in the README's section of %s: say what it does there (its options table)", n, spelled, n)
		}
	}
}

// TestREADMELabelRows: the README's table "Labels of every check" has a
// row for every check, and for a check with modes one for every mode
// ("check_mongodb `primary-change`"), so that what each emits, none
// included, is written down.
func TestREADMELabelRows(t *testing.T) {
	w := theBinaries(t)
	text, _ := w.readme(t)
	_, table, ok := strings.Cut(text, "\n### Labels of every check\n")
	if !ok {
		t.Fatal("README.md has no section \"Labels of every check\"")
	}
	rows := map[string]bool{}
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, "#") {
			break
		}
		if c := cells(l); strings.HasPrefix(l, "|") && len(c) > 1 && strings.TrimSpace(c[1]) != "" {
			rows[c[0]] = true
		}
	}
	for _, n := range w.names {
		modes := w.bins[n].doc.Modes
		if len(modes) == 0 && !rows[n] {
			t.Errorf("the table of labels has no row for %s", n)
		}
		for _, m := range modes {
			if row := n + " `" + m.Name + "`"; !rows[row] {
				t.Errorf("the table of labels has no row %q", row)
			}
		}
	}
}
