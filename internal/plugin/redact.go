package plugin

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redacted stands for a secret in output.
const Redacted = "xxxxx"

// MinRedactLen is the shortest secret Redact looks for.
//
// Why a fallback at all, and why so narrow. A check keeps its secrets
// out of its output by construction: it never formats a password, and it
// shows a connection string or URL only with the password taken out by
// parsing (check_mongodb's StripURIPassword, nginx's url.Redacted). What
// remains is text from elsewhere (a driver's or a server's error message)
// that might, against all expectation, quote a secret back; Redact is the
// net for that, run over everything a check prints. A net that replaced
// every occurrence of any secret mangled ordinary text: with the password
// "y", FerretDB's ".../security/authentication/" became
// ".../securitxxxxx/authentication/", and the run printed nothing secret
// either way, since nothing quoted the password. So Redact replaces only
// what a quoted secret would look like: the secret whole, as a token of
// its own (not inside a longer word: the characters on either side are
// not letters, digits or '_' where the secret's own first and last are),
// and only secrets of 8 characters or more. A shorter one (which a
// guessing attack finds in moments anyway) is too likely to appear by
// chance in ordinary words to be told from a quote, and is kept out of
// the output by construction alone.
const MinRedactLen = 8

// Redact replaces with Redacted every whole-token occurrence in text of
// each secret of at least MinRedactLen bytes (see MinRedactLen); the
// caller gives every written form of a secret it cares about (plain,
// URL-escaped...).
func Redact(text string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < MinRedactLen || !strings.Contains(text, sec) {
			continue
		}
		first, _ := utf8.DecodeRuneInString(sec)
		last, _ := utf8.DecodeLastRuneInString(sec)
		var b strings.Builder
		done := 0 // text[:done] is written
		for from := 0; ; {
			i := strings.Index(text[from:], sec)
			if i < 0 {
				break
			}
			start, end := from+i, from+i+len(sec)
			before, _ := utf8.DecodeLastRuneInString(text[:start])
			after, _ := utf8.DecodeRuneInString(text[end:])
			if (start == 0 || !wordRune(before) || !wordRune(first)) &&
				(end == len(text) || !wordRune(after) || !wordRune(last)) {
				b.WriteString(text[done:start])
				b.WriteString(Redacted)
				done, from = end, end
				continue
			}
			// Inside a word: look again one byte on, in case the secret
			// also begins there as a token of its own.
			from = start + 1
		}
		b.WriteString(text[done:])
		text = b.String()
	}
	return text
}

// wordRune reports whether r continues a word: a letter, a digit or '_'.
func wordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
