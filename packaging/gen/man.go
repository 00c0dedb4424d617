package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

var (
	thLine   = regexp.MustCompile(`(?m)\A\.TH [^\n]*\n`)
	nameLine = regexp.MustCompile(`(?m)^\.SH NAME\n[^\n]*\n`)
)

// manEscape escapes text for roff: backslashes and minus signs, and a
// leading dot or quote that roff would read as a request.
func manEscape(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// manPage is the go-flags man page with a reproducible header (no build
// date, so the committed pages do not drift every day) and the sections a
// plugin's page needs.
func manPage(c Check) string {
	m := thLine.ReplaceAllString(c.Man, fmt.Sprintf(".TH %s 1 \"\" \"opschecks\" \"Monitoring plugins\"\n", strings.ToUpper(c.Name)))
	// NAME: what the check does (for whatis/apropos), not "LABEL check".
	m = nameLine.ReplaceAllString(m, ".SH NAME\n"+manEscape(c.Name)+" \\- "+manEscape(strings.TrimSuffix(firstSentence(c.Doc), "."))+"\n")
	m = strings.TrimRight(m, "\n") + "\n"
	var b strings.Builder
	b.WriteString(m)
	manModes(&b, c.Modes)
	manExamples(&b, c)
	b.WriteString(`.SH "EXIT STATUS"
.TP
0
OK
.TP
1
WARNING
.TP
2
CRITICAL
.TP
3
UNKNOWN: bad options, a missing privilege or a timeout (see \fB\-\-timeout\-state\fR); also after \fB\-\-help\fR and \fB\-\-version\fR.
.SH OUTPUT
The first line is \fILABEL STATE \- summary | perfdata\fR, further lines are details with hints on how to fix what the check found.
Nothing is written to standard error.
.SH FILES
`)
	manFiles(&b, c)
	b.WriteString(".SH \"SEE ALSO\"\n/usr/share/doc/opschecks/README.md\n")
	return b.String()
}

// manFiles writes the FILES section: every path the packages install
// that concerns the check (packaging/nfpm.yaml; the documentation under
// /usr/share/doc and /usr/share/man aside), one entry each, so that the
// page names exactly what is there (packaging's TestManFiles compares it
// with the built .deb and .rpm).
func manFiles(b *strings.Builder, c Check) {
	cmd := fmt.Sprintf("\\fB%s\\fR", c.Command())
	entry := func(path, text string) { fmt.Fprintf(b, ".TP\n%s\n%s\n", path, text) }
	entry(DebPluginDir+"/"+c.Name, "The binary (Debian package).")
	entry(RPMPluginDir+"/"+c.Name, "The binary (RPM package).")
	entry("/etc/nagios-plugins/config/opschecks.cfg", "Nagios command "+cmd+", where Debian's nagios4 reads plugin commands (Debian package).")
	entry("/usr/share/opschecks/nagios/opschecks-commands.cfg", "The same Nagios commands, for a cfg_file= line.")
	entry("/usr/share/opschecks/nagios/opschecks-services.cfg", "Example Nagios services.")
	entry("/etc/nagios/nrpe.d/opschecks.cfg", "NRPE commands (Debian package).")
	entry("/etc/nrpe.d/opschecks.cfg", "NRPE commands (RPM package).")
	entry("/usr/share/opschecks/nrpe/opschecks.cfg", "The same NRPE commands, for reference.")
	entry("/usr/share/opschecks/icinga2/opschecks-commands.conf", "Icinga 2 CheckCommand "+cmd+"; include it from icinga2.conf.")
	entry("/usr/share/opschecks/icinga2/opschecks-services.conf", "Example Icinga 2 services.")
	sudo := "The sudoers snippet, not active until installed: install \\-m 0440 /usr/share/opschecks/sudoers/opschecks /etc/sudoers.d/opschecks. "
	if p := profileOf(c.Name).Privileged; p != "" {
		sudo += "Its rule for this check: it " + strings.ReplaceAll(p, `\`, `\\`) + "."
	} else {
		sudo += "It has no rule for this check, which needs no privilege."
	}
	entry("/usr/share/opschecks/sudoers/opschecks", sudo)
	if _, ok := c.Option("state-dir"); ok {
		entry("/var/lib/opschecks", "The default \\fB\\-\\-state\\-dir\\fR, owned by the nagios user: this check's state between runs.")
	} else {
		entry("/var/lib/opschecks", "The default state directory of the checks that keep state between runs; this check keeps none.")
	}
}

// manModes writes the MODES section: every mode the binary registers,
// with its line and default thresholds.
func manModes(b *strings.Builder, modes []plugin.ModeDoc) {
	if len(modes) == 0 {
		return
	}
	b.WriteString(".SH MODES\nThe values of \\fB\\-\\-mode\\fR, with their default thresholds.\n")
	for _, m := range modes {
		text := m.Doc
		if th := m.Thresholds(); th != "" {
			text += " " + th
		}
		fmt.Fprintf(b, ".TP\n\\fB%s\\fR\n%s\n", manEscape(m.Name), manEscape(text))
	}
}

// manExamples writes the EXAMPLES section: the profile's examples (or
// its service example), each with what it does, and how to check a
// command line without running it.
func manExamples(b *strings.Builder, c Check) {
	p := profileOf(c.Name)
	examples := p.Examples
	if len(examples) == 0 {
		examples = []example{{p.Example, "The check with the arguments of the example service."}}
	}
	if _, ok := c.Option("validate-options"); ok {
		first := examples[0]
		examples = append(examples, example{append(slices.Clone(first.Args), "--validate-options"),
			"Checks the options of a command line, as a run would, without running the check: exit 0 when they are valid, 3 and the reason when not (for a command definition before it is deployed)."})
	}
	b.WriteString(".SH EXAMPLES\n")
	for _, e := range examples {
		fmt.Fprintf(b, ".TP\n\\fB%s\\fR\n%s\n", manEscape(strings.TrimSpace(c.Name+" "+shellArgs(e.Args))), manEscape(e.What))
	}
}
