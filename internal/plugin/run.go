package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	flags "github.com/jessevdk/go-flags"

	"github.com/opschecks/opschecks/internal/privilege"
)

// Set at build time with -ldflags "-X github.com/opschecks/opschecks/internal/plugin.Version=... -X ...Commit=...".
var (
	Version = "dev"
	Commit  = "unknown"
)

// dropExpectedType removes go-flags' " (expected *thresholds.Range)": Go
// type names mean nothing to an operator; our own messages say what is
// expected. It removes what the regexp ` \(expected \*?[A-Za-z0-9_.]+\)`
// matches, written without package regexp: importing it costs every start
// of every check 55-80 thousand instructions of package initialisation
// (unicode's tables of scripts and categories, regexp/syntax's; callgrind,
// 2026-12-06), for a message printed only on bad input.
func dropExpectedType(msg string) string {
	const open = " (expected "
	var b strings.Builder
	for {
		i := strings.Index(msg, open)
		if i < 0 {
			break
		}
		j := i + len(open)
		if j < len(msg) && msg[j] == '*' {
			j++
		}
		k := j
		for k < len(msg) && typeNameByte(msg[k]) {
			k++
		}
		if k > j && k < len(msg) && msg[k] == ')' {
			b.WriteString(msg[:i])
			msg = msg[k+1:]
			continue
		}
		b.WriteString(msg[:i+1])
		msg = msg[i+1:]
	}
	b.WriteString(msg)
	return b.String()
}

// typeNameByte reports whether c may appear in a Go type name as go-flags
// prints it (package.Type).
func typeNameByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// Spec names a check.
type Spec struct {
	Name  string // binary name, e.g. check_numa
	Label string // first word of the output, e.g. NUMA
	Doc   string // what the check does, for --help and the man page
}

// Env is what the runtime hands a check besides its options.
type Env struct {
	Verbose int
	Timeout time.Duration
}

// Validator is implemented by an options struct whose values must be
// checked together (options that exclude or need each other, ranges that
// depend on another option). The runtime calls Validate once, after
// parsing and before the check runs, whatever the mode or the other
// options: an error is bad input, exit 3 with its message on one line.
// Values that are wrong on their own are refused earlier, by their
// option types (Port, Duration, thresholds.Range...) and choice tags.
type Validator interface {
	Validate() error
}

// CheckFunc runs a check. Returning an error reports it on one line with
// StateOf(err) (UNKNOWN unless it is an *Error); a context deadline is
// reported with the timeout state.
type CheckFunc func(ctx context.Context, env Env) (*Result, error)

// output is where the runtime writes and how it ends; tests replace them.
type runtimeIO struct {
	stdout io.Writer
	exit   func(int)
}

var rt = runtimeIO{stdout: os.Stdout, exit: os.Exit}

// Main parses the options, runs the check under the watchdog, prints the
// result and exits. It never returns. Run through sudo, the check first
// takes the identity of the user who ran it (internal/privilege), before
// it reads anything.
func Main(spec Spec, opts Options, check CheckFunc) {
	if err := privilege.Drop(); err != nil {
		var pr printer
		rt.exit(pr.print(oneLine(spec, Unknown, "%s", err), int(Unknown)))
		return
	}
	code := run(spec, opts, check, os.Args[1:])
	rt.exit(code)
}

// printer makes sure exactly one result is written even when the watchdog
// and the check finish at the same moment.
type printer struct {
	mu   sync.Mutex
	done bool
	code int // the exit code of what was written
}

// print writes out, unless a result was written already, and returns the
// exit code of the result written: code, or the earlier one's.
func (p *printer) print(out string, code int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return p.code
	}
	p.done, p.code = true, code
	// The last guard of the UTF-8 promise (text.go): whatever slipped past
	// OneLine, such as --help text or a go-flags message, is repaired here.
	// Checked first: strings.ToValidUTF8 copies the whole output rune by
	// rune, 13 thousand instructions of check_keepalive's (callgrind).
	if !utf8.ValidString(out) {
		out = strings.ToValidUTF8(out, "\uFFFD")
	}
	io.WriteString(rt.stdout, out)
	return code
}

// maxLine bounds the first line: monitoring systems truncate far earlier
// (NRPE at 64 KiB, Nagios' UI much sooner), and an echoed argument must
// never make it unreadable.
const maxLine = 1024

func oneLine(spec Spec, state State, format string, args ...any) string {
	return fmt.Sprintf("%s %s - %s\n", spec.Label, state, Clip(summaryText(fmt.Sprintf(format, args...)), maxLine))
}

// NewParser builds the go-flags parser of a check; packaging uses it too.
func NewParser(spec Spec, opts Options) *flags.Parser {
	p := flags.NewNamedParser(spec.Name, flags.PassDoubleDash)
	p.ShortDescription = spec.Label + " check"
	p.LongDescription = spec.Doc
	// The options go into a group of the parser's root group, not of its
	// command: --help, the man page, the options and the parsing are the
	// same (tests/docs, packaging), but go-flags' Command.AddGroup parses
	// the tag of every struct-typed field (each thresholds.Range, each
	// embedded options struct) once more, looking for subcommands and
	// positional arguments we never declare: 137 thousand instructions of
	// check_nginx_queue's 48 options on every run, 7% of it (callgrind,
	// 2026-12-06).
	if _, err := p.Group.AddGroup("Options", "", opts); err != nil {
		panic(err) // a malformed options struct is a bug caught by every test
	}
	if m, ok := opts.(Moded); ok {
		setModeChoices(p, m.Modes())
	}
	return p
}

// modesOf returns the modes of a check's options, if it has any.
func modesOf(opts Options) []ModeDoc {
	if m, ok := opts.(Moded); ok {
		return m.Modes()
	}
	return nil
}

func run(spec Spec, opts Options, check CheckFunc, args []string) (code int) {
	var pr printer
	c := opts.CommonOptions()
	// A panic becomes one UNKNOWN line; the trace only with -vvv.
	panicLine := func(v any) string {
		msg := oneLine(spec, Unknown, "internal error: %v", v)
		if len(c.Verbose) >= 3 {
			msg += string(debug.Stack())
		}
		return msg
	}
	defer func() {
		if v := recover(); v != nil {
			code = pr.print(panicLine(v), int(Unknown))
		}
	}()

	parser := NewParser(spec, opts)
	args, empty, err := canonicalChoices(parser, args)
	var rest []string
	if err == nil {
		rest, err = parser.ParseArgs(args)
	}
	if err == nil && empty != nil {
		err = emptyValueError(empty)
	}
	switch {
	case err != nil:
		msg := err.Error()
		var fe *flags.Error
		if errors.As(err, &fe) {
			msg = fe.Message
		}
		msg = strings.NewReplacer("`", "", "'", "").Replace(dropExpectedType(msg))
		pr.print(oneLine(spec, Unknown, "%s (see %s --help)", msg, spec.Name), 3)
		return 3
	case c.Help:
		var b strings.Builder
		describeChoices(parser)
		parser.WriteHelp(&b)
		writeModes(&b, modesOf(opts))
		pr.print(b.String()+"\n", 3)
		return 3
	case c.Version:
		pr.print(fmt.Sprintf("%s %s (commit %s)\n", spec.Name, Version, Commit), 3)
		return 3
	case c.EmitMan:
		var b strings.Builder
		describeChoices(parser)
		parser.WriteManPage(&b)
		pr.print(b.String(), 3)
		return 3
	case c.EmitOptions:
		pr.print(optionsJSON(spec, parser, modesOf(opts)), 3)
		return 3
	case len(rest) > 0:
		pr.print(oneLine(spec, Unknown, "unexpected argument %q (see %s --help)", rest[0], spec.Name), 3)
		return 3
	}
	if v, ok := opts.(Validator); ok {
		if err := v.Validate(); err != nil {
			pr.print(oneLine(spec, Unknown, "%s (see %s --help)", err.Error(), spec.Name), 3)
			return 3
		}
	}
	if c.ValidateOptions {
		pr.print(oneLine(spec, OK, "options are valid, nothing was checked (--validate-options)"), 0)
		return 0
	}

	timeout := c.Timeout.D()
	watchdogAt, ctxAt := deadlines(timeout, processAge())
	ctx, cancel := context.WithTimeout(context.Background(), ctxAt)
	defer cancel()
	tstate := State(c.TimeoutState)
	timedOut := func(what string) string {
		return oneLine(spec, tstate, "timed out after %s %s (-t %s)", timeout, what, timeout)
	}

	// The check runs on this goroutine. The watchdog answers for it when
	// it is stuck where its context does not reach (a syscall, a driver
	// call) and ends the process. Not a goroutine of its own for the check
	// and a select: its new stack, grown again by copying, and the hand-over
	// cost every run 20-55 thousand instructions (callgrind) and 0.04-0.08
	// ms (check_keepalive 1.97 -> 1.89 ms, check_numa 2.03 -> 1.99 ms,
	// medians of 800 interleaved runs, 2026-12-06). rt.exit is read once
	// here, not in the watchdog's goroutine, which can run after run has
	// returned (fired just before Stop) and must call the exit run was
	// given (FuzzOutput swaps rt.exit around its calls).
	exit := rt.exit
	watchdog := time.AfterFunc(watchdogAt, func() {
		exit(pr.print(timedOut("without an answer"), int(tstate)))
	})
	defer watchdog.Stop()
	res, err := check(ctx, Env{Verbose: len(c.Verbose), Timeout: timeout})
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil):
		return pr.print(timedOut("while "+err.Error()), int(tstate))
	case err != nil:
		s := StateOf(err)
		return pr.print(oneLine(spec, s, "%s", err.Error()), int(s))
	case res == nil:
		return pr.print(oneLine(spec, Unknown, "internal error: no result"), int(Unknown))
	}
	out, s := Render(spec.Label, res)
	return pr.print(out, int(s))
}

// deadlines returns when the watchdog fires and when the check's context
// expires, both from now, for a process that has existed for age: the
// context first, so a check can still say what it was waiting for, and the
// watchdog before -t, so the answer always comes within it. -t counts from
// the process's start, as the caller that forked it measures (Nagios,
// NRPE, a shell's timeout): a start-up slowed by a loaded host is part of
// it. The margin after the watchdog is for writing the answer and exiting:
// a tenth of -t, at least 300 ms (but never over a quarter of -t) and at
// most 500 ms. The floor is measured: on a host whose CPUs are saturated
// the watchdog's timer fired up to 200 ms late and the exit was seen by
// the parent up to 300 ms later again, so the 150 ms of -t 1.5 let an
// answer arrive after -t (internal/plugin TestWatchdog, 2-3 in 45 runs
// at load 8 with a tenth).
func deadlines(timeout, age time.Duration) (watchdog, ctx time.Duration) {
	margin := min(max(timeout/10, 300*time.Millisecond), timeout/4, 500*time.Millisecond)
	watchdog = timeout - margin - age
	ctx = watchdog - min(timeout/10, time.Second)
	return watchdog, ctx
}

// processAge is how long ago the kernel started this process (sinceStart),
// 0 when that cannot be read. An age above a second is not believed (a
// clock kept differently than ours): the start of a check takes
// milliseconds, and a few hundred on a host loaded many times over.
func processAge() time.Duration {
	if d, ok := sinceStart(); ok && d < time.Second {
		return d
	}
	return 0
}
