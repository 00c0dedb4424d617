package docs

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// unit is a piece of documentation that may hold command lines: a line of
// a code block, an inline code span, a line of a configuration file.
type unit struct {
	src    string   // file:line
	text   string   // continuation lines joined, "$ " prompt removed
	check  string   // the check its section or table row is about; "" for none
	output []string // after a "$ " line of a code block: what it is shown printing
	outAt  int      // line of the first output line
	prose  bool     // a line of text outside code (only --mode is looked for there)
	span   bool     // an inline code span: a check's bare name there names it, runs nothing
}

var (
	heading  = regexp.MustCompile(`^(#{1,6})\s+(.*)$`)
	codeSpan = regexp.MustCompile("`([^`]+)`")
	checkRe  = regexp.MustCompile(`\bcheck_[a-z0-9_]+\b`)
)

// sections gives each line of a Markdown text the check its section is
// about: a heading that starts with the name of a binary opens it, a
// level 1 or 2 heading that does not closes it.
func sections(lines []string, isCheck func(string) bool) []string {
	out := make([]string, len(lines))
	section, fenced := "", false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
		}
		if m := heading.FindStringSubmatch(l); m != nil && !fenced {
			first := strings.Trim(strings.Fields(m[2] + " x")[0], "`:,")
			switch {
			case isCheck(first):
				section = first
			case len(m[1]) <= 2:
				section = ""
			}
		}
		out[i] = section
	}
	return out
}

// markdownUnits splits a Markdown text into units: every line of a fenced
// or indented code block (a "$ " line with the output shown under it),
// every inline code span, and every line of prose. Each knows the check
// its section is about, or its table row (a first cell naming a binary).
func markdownUnits(file, text string, isCheck func(string) bool) []unit {
	lines := strings.Split(text, "\n")
	sectionOf := sections(lines, isCheck)
	var out []unit
	fenced, prevBlank, inIndented := false, true, false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		src := fmt.Sprintf("%s:%d", file, i+1)
		trim := strings.TrimSpace(l)
		section := sectionOf[i]
		if strings.HasPrefix(trim, "```") {
			fenced = !fenced
			prevBlank = false
			continue
		}
		indented := !fenced && (strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t")) && trim != "" && (prevBlank || inIndented)
		if fenced || indented {
			inIndented = indented
			// A code line, joined with its continuation lines.
			for strings.HasSuffix(strings.TrimRight(l, " "), `\`) && i+1 < len(lines) {
				i++
				l = strings.TrimSuffix(strings.TrimRight(l, " "), `\`) + " " + strings.TrimSpace(lines[i])
			}
			u := unit{src: src, text: strings.TrimSpace(l), check: section}
			if cmd, ok := strings.CutPrefix(u.text, "$ "); ok {
				// Its output: up to the next "$ " line or the end of the
				// block (a check's long output has an empty line).
				u.text, u.outAt = cmd, i+2
				for i+1 < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "$ ") && !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "```") &&
					(fenced || strings.HasPrefix(lines[i+1], "    ") || strings.TrimSpace(lines[i+1]) == "") {
					i++
					u.output = append(u.output, lines[i])
				}
				for len(u.output) > 0 && strings.TrimSpace(u.output[len(u.output)-1]) == "" {
					u.output = u.output[:len(u.output)-1]
					i--
				}
			}
			if u.text != "" {
				out = append(out, u)
			}
			prevBlank = false
			continue
		}
		inIndented = false
		prevBlank = trim == ""
		if heading.MatchString(l) || trim == "" {
			continue
		}
		check := section
		if strings.HasPrefix(trim, "|") {
			cells := strings.Split(trim, "|")
			if c := strings.Trim(strings.TrimSpace(cells[1]), "`"); isCheck(c) {
				check = c
			}
		} else {
			// A code span goes on over the paragraph's line breaks:
			// the lines up to its closing backticks are one unit.
			for i+1 < len(lines) && continues(lines[i+1]) {
				if _, open := inlineSpans(trim); !open {
					break
				}
				i++
				trim += " " + strings.TrimSpace(lines[i])
			}
		}
		out = append(out, unit{src: src, text: trim, check: check, prose: true})
		spans, _ := inlineSpans(trim)
		for _, s := range spans {
			out = append(out, unit{src: src, text: s, check: check, span: true})
		}
	}
	return out
}

// inlineSpans returns the code spans of a paragraph's text as Markdown
// reads them (CommonMark, "Code spans"): a run of backticks opens a span
// that the next run of the same length closes (a span written with two
// backticks may hold one); the spaces at its ends are dropped. open
// reports a run left without its closing run, which the paragraph's next
// line may hold.
func inlineSpans(s string) (spans []string, open bool) {
	run := func(i int) int {
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		return n
	}
	for i := 0; i < len(s); {
		n := run(i)
		if n == 0 {
			i++
			continue
		}
		closed := false
		for j := i + n; j < len(s); {
			m := run(j)
			if m == 0 {
				j++
				continue
			}
			if m == n {
				spans = append(spans, strings.TrimSpace(s[i+n:j]))
				i, closed = j+m, true
				break
			}
			j += m
		}
		if !closed {
			return spans, true
		}
	}
	return spans, false
}

// continues reports whether a line goes on the paragraph before it
// (rather than ending it: a blank line, a heading, a fence, a table).
func continues(l string) bool {
	t := strings.TrimSpace(l)
	return t != "" && !heading.MatchString(l) && !strings.HasPrefix(t, "```") && !strings.HasPrefix(t, "|")
}

// commentMark opens a comment line of a configuration file.
var commentMark = regexp.MustCompile(`^(#|//|/\*|\*)\s*`)

// lineUnits makes every line of a configuration file a unit, comment
// lines without their comment mark (they show how to call the commands).
func lineUnits(file, text string) []unit {
	var out []unit
	for i, l := range strings.Split(text, "\n") {
		if t := commentMark.ReplaceAllString(strings.TrimSpace(l), ""); t != "" {
			out = append(out, unit{src: fmt.Sprintf("%s:%d", file, i+1), text: t})
		}
	}
	return out
}

// manExampleUnits are the lines of a man page's EXAMPLES section, roff
// escapes undone.
func manExampleUnits(file, roff string) []unit {
	var out []unit
	in := false
	unescape := strings.NewReplacer(`\-`, "-", `\e`, `\`, `\fB`, "", `\fR`, "", `\fI`, "", `\fP`, "", `\&`, "")
	for i, l := range strings.Split(roff, "\n") {
		switch {
		case strings.HasPrefix(l, ".SH "):
			in = l == ".SH EXAMPLES"
		case in && !strings.HasPrefix(l, "."):
			out = append(out, unit{src: fmt.Sprintf("%s:%d", file, i+1), text: unescape.Replace(l)})
		}
	}
	return out
}

// word is one word of a shell command line; op marks an operator that
// ends a command (&&, |, ;, >...).
type word struct {
	text string
	op   bool
}

// shellWords splits a command line as sh does, for what the docs use:
// '...', "..." (with \\ \" \$ \` escapes), bash's $'...' (\n \r \t \\ \'
// \"), backslash escapes, a # comment at the start of a word, and the
// operators that end a command, returned as words of their own.
func shellWords(s string) ([]word, error) {
	var words []word
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, word{text: cur.String()})
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			return words, nil
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated '")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '$' && i+1 < len(s) && s[i+1] == '\'':
			i += 2
			for ; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					cur.WriteString(map[byte]string{'n': "\n", 'r': "\r", 't': "\t", '\\': `\`, '\'': "'", '"': `"`}[s[i]])
					continue
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated $'")
			}
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New(`unterminated "`)
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case strings.IndexByte("&|;<>", c) >= 0:
			flush()
			op := string(c)
			if i+1 < len(s) && (s[i+1] == c || s[i+1] == '>') {
				op += string(s[i+1])
				i++
			}
			words = append(words, word{text: op, op: true})
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, nil
}

// invocation is one command line of one of our checks found in the docs.
type invocation struct {
	unit
	bin  *binary
	args []string
	// elided: the line stands for "the check with some options"
	// ("check_tcp_window ..."): only the binary's name can be checked.
	elided bool
}

// foreignPlugins are other projects' plugins the docs run; a check_*
// word followed by options that is neither ours nor one of these nor a
// command the docs define is a typo.
var foreignPlugins = map[string]bool{"check_nrpe": true, "check_tcp": true, "check_dummy": true}

var (
	checkCommand = regexp.MustCompile(`\bcheck_command\s+(\S.*?)\s*$`)
	macro        = regexp.MustCompile(`\$[A-Z][A-Z0-9_]*\$`)
	argMacro     = regexp.MustCompile(`\$ARG([0-9]+)\$`)
	opschecksID  = regexp.MustCompile(`(^|[^A-Za-z0-9_.$-])((vars\.|\$)?opschecks_[a-z0-9_]+)`)
)

// invocations finds the command lines of our checks in a unit: the check
// run directly (by name or path, after sudo or in a pipeline), a Nagios
// service's check_command (through the generated or the documented
// command definitions), an NRPE command asked for by check_nrpe. It also
// returns what is wrong with the unit: an unknown command or check, an
// Icinga 2 variable naming no option.
func (w *world) invocations(u unit, defined map[string]string) ([]invocation, []string) {
	var invs []invocation
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// opschecks_<check>..., vars.opschecks_<check>_<option>: they must
	// name a binary, a command of the generated definitions, an option.
	for _, m := range opschecksID.FindAllStringSubmatch(u.text, -1) {
		id := strings.TrimPrefix(m[2], m[3])
		b, rest := w.byCommand(id)
		switch {
		case b == nil:
			bad("%s names no check of cmd/", id)
		case m[3] != "":
			if _, ok := b.long[strings.ReplaceAll(strings.TrimPrefix(rest, "_"), "_", "-")]; !ok || rest == "" {
				bad("Icinga 2 variable %s names no option of %s", m[2], b.name)
			}
		case rest != "" && rest != "_args":
			bad("%s is not a command of the generated definitions (%s or %s_args)", id, "opschecks_"+strings.TrimPrefix(b.name, "check_"), "opschecks_"+strings.TrimPrefix(b.name, "check_"))
		}
	}

	// A Nagios service: check_command NAME!ARG1!ARG2...
	if m := checkCommand.FindStringSubmatch(u.text); m != nil {
		parts := splitBang(m[1])
		line, ok := w.nagios[parts[0]]
		if !ok {
			line, ok = defined[parts[0]]
		}
		if !ok {
			if strings.HasPrefix(parts[0], "opschecks_") {
				bad("check_command %s names no command of the generated Nagios definitions", parts[0])
			}
			// Another project's command (Debian's check_nrpe): what it
			// asks for was checked above.
			return invs, problems
		}
		line = argMacro.ReplaceAllStringFunc(line, func(a string) string {
			n, _ := strconv.Atoi(argMacro.FindStringSubmatch(a)[1])
			if n < len(parts) {
				return parts[n]
			}
			return ""
		})
		sub := u
		sub.text = line
		more, p := w.invocations(sub, defined)
		return append(invs, more...), append(problems, p...)
	}

	words, err := shellWords(u.text)
	if err != nil {
		// Not a command line (prose in a code span): nothing to run.
		return invs, problems
	}
	for len(words) > 0 {
		// One command: up to the next operator.
		end := len(words)
		for i, wd := range words {
			if wd.op {
				end = i
				break
			}
		}
		cmd := words[:end]
		words = words[min(end+1, len(words)):]
		for i, wd := range cmd {
			name := path.Base(wd.text)
			if checkRe.FindString(name) != name || strings.HasSuffix(wd.text, "/") || strings.Contains(wd.text, "cmd/") {
				continue // not a check, or its source directory (go test ./cmd/check_x/)
			}
			rest := texts(cmd[i+1:])
			if b, ok := w.bins[name]; ok {
				if u.span && len(rest) == 0 {
					break // `check_x` in a sentence names the check
				}
				inv := invocation{unit: u, bin: b, args: rest}
				inv.elided = len(rest) == 1 && rest[0] == "..."
				invs = append(invs, inv)
				break
			}
			if name == "check_nrpe" {
				more, p := w.nrpeInvocations(u, rest, defined)
				invs, problems = append(invs, more...), append(problems, p...)
				break
			}
			if len(rest) > 0 && strings.HasPrefix(rest[0], "-") && !foreignPlugins[name] && defined[name] == "" {
				bad("%s is no check of cmd/ (nor a plugin the docs know)", name)
			}
			break
		}
	}
	return invs, problems
}

// nrpeInvocations follows "check_nrpe ... -c COMMAND [-a ARGS...]" to the
// NRPE command's line.
func (w *world) nrpeInvocations(u unit, args []string, defined map[string]string) ([]invocation, []string) {
	command, arg := "", []string{}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-c", "--command":
			if i+1 < len(args) {
				command = args[i+1]
				i++
			}
		case "-a", "--args":
			arg = args[i+1:]
			i = len(args)
		}
	}
	if !strings.HasPrefix(command, "opschecks_") {
		return nil, nil // a macro ($ARG1$) or another command
	}
	line, ok := w.nrpe[command]
	if !ok {
		return nil, []string{fmt.Sprintf("check_nrpe -c %s: no such command in packaging/nrpe/", command)}
	}
	line = argMacro.ReplaceAllStringFunc(line, func(a string) string {
		n, _ := strconv.Atoi(argMacro.FindStringSubmatch(a)[1])
		if n-1 < len(arg) {
			return arg[n-1]
		}
		return ""
	})
	sub := u
	sub.text = line
	return w.invocations(sub, defined)
}

// splitBang splits a Nagios check_command at its unescaped '!' and undoes
// the \! and \; escapes in the arguments.
func splitBang(s string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && (s[i+1] == '!' || s[i+1] == ';'):
			cur.WriteByte(s[i+1])
			i++
		case s[i] == '!':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(parts, cur.String())
}

func texts(ws []word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.text
	}
	return out
}

// runnable turns an invocation's arguments into a command line to run:
// $HOSTADDRESS$ becomes a loopback address; the $ARGn$ and other macros a
// command definition leaves to its services are dropped, with the option
// they are the value of, and make the command line partial (its options
// can be looked up, not validated together). It refuses arguments left
// out ("...") in a command line of ours: it could not be checked.
func runnable(inv invocation) (args []string, partial bool, err error) {
	for _, a := range inv.args {
		a = strings.ReplaceAll(a, "$HOSTADDRESS$", "127.0.0.1")
		if a == "..." {
			return nil, false, errors.New(`"..." stands for arguments: write the command line in full so that it can be checked`)
		}
		if !macro.MatchString(a) {
			args = append(args, a)
			continue
		}
		partial = true
		if opt, val, ok := strings.Cut(a, "="); ok && strings.HasPrefix(opt, "-") && macro.FindString(val) == val {
			args = append(args, opt) // its value is the service's
			continue
		}
		if macro.FindString(a) != a {
			return nil, false, fmt.Errorf("argument %q holds a macro the test cannot stand in for", a)
		}
		if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "-") {
			if o, ok := inv.bin.option(args[n-1]); ok && !o.Bool {
				continue // the macro is the option's value: the option stays, to be looked up
			}
		}
	}
	return args, partial, nil
}
