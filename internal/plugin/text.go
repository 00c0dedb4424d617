package plugin

import (
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
