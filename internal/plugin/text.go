package plugin

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Everything a check prints is valid UTF-8, whatever its input: arguments,
// file contents and server answers are quoted in messages, and Icinga 2's
// database and JSON consumers replace or refuse invalid bytes
// (Utility::ValidateUTF8 in lib/base/json.cpp and the IDO backends of
// 2.13). OneLine repairs text taken from input, Clip cuts it on a character
// boundary, and the runtime repairs whatever it prints once more
// (printer.print), so no path can emit an invalid sequence.

// OneLine makes s fit a single output line of valid UTF-8: invalid byte
// sequences become U+FFFD, control characters (newlines, NUL, tabs,
// escape sequences) become spaces and the perfdata separator '|' becomes
// '/', so that text taken from input can never break the output format.
func OneLine(s string) string {
	if printable(s) {
		return s // the common case, without a copy or a call per rune
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '|':
			return '/'
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// printable reports whether s is printable ASCII without '|': text that
// OneLine returns as it is. strings.Map and strings.ToValidUTF8 cost
// check_keepalive's output about 40 thousand instructions (callgrind,
// 2026-12-06), 4% of its run, for texts that are almost always this.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '|' {
			return false
		}
	}
	return true
}

// Separator joins the findings on the first line. Not "; ": Nagios 4
// rewrites every ';' of the first line's text (what precedes '|') to ':'
// when it takes a check result (base/checks.c: replace_semicolons on
// plugin_output in service_initial_handling and host_initial_handling,
// unconditionally, whatever illegal_macro_output_chars says), so "a; b"
// reached its status.dat, CGIs and $SERVICEOUTPUT$ as "a: b". It leaves
// the long output and the perfdata alone. " - " is how monitoring-plugins'
// own plugins join the parts of one line (check_http's "HTTP OK: ... -
// 1234 bytes in ...", check_swap, check_ssh), it is in no consumer's
// list of characters to strip or split on (Debian's
// illegal_macro_output_chars, Icinga 2's '|' and '::'), and unlike ", " it
// does not blur with the commas of a finding's own text ("reading 0,
// writing 1").
const Separator = " - "

// summaryText is OneLine for text on the first line, and for a finding's
// own line in the long output so that it reads the same in both places:
// a ';' taken from input (a server's error message) becomes ',', since
// Nagios 4 would show it as ':' (Separator) and every other consumer as
// ';'. The checks' own texts carry no ';' there; a hint that needs one (a
// configuration line such as "listen 8080 backlog=4096;") goes into the
// finding's details, which Nagios shows as written.
func summaryText(s string) string { return strings.ReplaceAll(OneLine(s), ";", ",") }

// Bytes writes a size for the text and the long output: whole bytes
// below 1 KiB, else one decimal in the largest binary unit it reaches
// (KiB to PiB): 3960110 is "3.8 MiB". Every size a check prints goes
// through it, so one quantity never reads two ways in one output (an
// oplog of 3960110 B was "4 MiB" in the summary and "3.8 MiB" in the
// details).
func Bytes(b float64) string {
	const unit = 1024
	if math.Abs(b) < unit {
		return fmt.Sprintf("%.0f B", b)
	}
	v, i := b/unit, 0
	for math.Abs(v) >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}

// Clip shortens s to at most max bytes plus the "..." that marks the cut,
// for input quoted in messages. The cut falls on a character boundary (it
// backs up over a character that would be split), so valid UTF-8 stays
// valid.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
