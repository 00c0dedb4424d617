package plugin

import (
	"fmt"
	"strings"

	flags "github.com/jessevdk/go-flags"
)

// ModeDoc describes one value of a check's --mode option: its name, one
// line saying what it looks at and what its main metric is, and the
// default -w and -c of that metric (empty: the mode alerts only when a
// range is given). NoThresholds marks a mode without a main metric, with
// which -w and -c are refused.
type ModeDoc struct {
	Name         string `json:"name"`
	Doc          string `json:"doc"`
	Warning      string `json:"warning,omitempty"`
	Critical     string `json:"critical,omitempty"`
	NoThresholds bool   `json:"no_thresholds,omitempty"`
}

// Thresholds is what --help and the man page write after the mode's
// line: "(default -w 1 -c 3)", "(no -w/-c)" for a mode without a main
// metric, or "" for a main metric without defaults.
func (m ModeDoc) Thresholds() string {
	switch d := m.Defaults(); {
	case m.NoThresholds:
		return "(no -w/-c)"
	case d != "":
		return "(default " + d + ")"
	}
	return ""
}

// Defaults is the mode's default thresholds as a command line writes
// them ("-w 1 -c 3", "-w 24: -c 4:"), or "" when it has none.
func (m ModeDoc) Defaults() string {
	var d []string
	if m.Warning != "" {
		d = append(d, "-w "+m.Warning)
	}
	if m.Critical != "" {
		d = append(d, "-c "+m.Critical)
	}
	return strings.Join(d, " ")
}

// Moded is implemented by the options of a check whose --mode values
// register themselves (check_mongodb's). The runtime takes the choices of
// --mode from Modes, and --help, the man page and the generated
// definitions list every mode with its line and defaults: a mode that is
// registered is documented, and none is written down twice.
type Moded interface {
	Modes() []ModeDoc
}

// modeOption is the option whose values are the modes.
const modeOption = "mode"

// setModeChoices makes the registered modes the choices of --mode.
func setModeChoices(p *flags.Parser, modes []ModeDoc) {
	o := p.FindOptionByLongName(modeOption)
	if o == nil {
		panic("options with Modes have no --" + modeOption + " option") // a bug every test catches
	}
	o.Choices = o.Choices[:0]
	for _, m := range modes {
		o.Choices = append(o.Choices, m.Name)
	}
}

// helpWidth is the width --help wraps the mode list to, as go-flags'
// help does without a terminal.
const helpWidth = 80

// writeModes appends the list of modes to --help: a name column, then
// the mode's line and its default thresholds, wrapped.
func writeModes(b *strings.Builder, modes []ModeDoc) {
	if len(modes) == 0 {
		return
	}
	col := 0
	for _, m := range modes {
		col = max(col, len(m.Name))
	}
	col += 4 // two spaces before the name, two after
	fmt.Fprintf(b, "\nModes (--%s), with their default thresholds:\n", modeOption)
	for _, m := range modes {
		words := strings.Fields(m.Doc)
		if th := m.Thresholds(); th != "" {
			words = append(words, th) // kept on one line
		}
		line := fmt.Sprintf("  %-*s", col-2, m.Name)
		for i, w := range wrap(words, helpWidth-col) {
			if i > 0 {
				line = strings.Repeat(" ", col)
			}
			b.WriteString(strings.TrimRight(line+w, " ") + "\n")
		}
	}
}

// wrap joins words into lines of at most width bytes (a word longer
// than width stands alone).
func wrap(words []string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	return append(lines, cur)
}
