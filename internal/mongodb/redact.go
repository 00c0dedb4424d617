package mongodb

import (
	"net/url"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

const redacted = "xxxxx"

// redact replaces every secret in s, in plain and URL-escaped form (a
// password can reach a message through a connection string).
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec), url.UserPassword("u", sec).String()[2:]} {
			if form != "" {
				s = strings.ReplaceAll(s, form, redacted)
			}
		}
	}
	return s
}

// redactedError hides secrets in an error's message and keeps the chain,
// so the runtime still sees its state and a deadline.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := redact(err.Error(), secrets)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactResult hides secrets in every text of a result.
func redactResult(r *plugin.Result, secrets []string) {
	if r == nil || len(secrets) == 0 {
		return
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Text = redact(f.Text, secrets)
		for j := range f.Details {
			f.Details[j] = redact(f.Details[j], secrets)
		}
	}
	for j := range r.Details {
		r.Details[j] = redact(r.Details[j], secrets)
	}
}

// StripURIPassword returns a connection string without the password of
// its user info and without the values of options named *password*
// (tlsCertificateKeyFilePassword), for anything shown to people.
func StripURIPassword(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return uri
	}
	if base, query, hasQuery := strings.Cut(rest, "?"); hasQuery {
		opts := strings.Split(query, "&")
		for i, kv := range opts {
			if k, _, hasV := strings.Cut(kv, "="); hasV && strings.Contains(strings.ToLower(k), "password") {
				opts[i] = k + "=" + redacted
			}
		}
		rest = base + "?" + strings.Join(opts, "&")
		uri = scheme + "://" + rest
	}
	user, _, at, hadPass := userInfo(rest)
	if !hadPass {
		return uri
	}
	return scheme + "://" + user + ":" + redacted + rest[at:]
}

// userInfo splits the user info of a connection string without its
// scheme: the user, the password, the index of the "@" that ends the user
// info, and whether there is a password (a ":" in the user info).
func userInfo(rest string) (user, pw string, at int, hadPass bool) {
	if end := strings.IndexAny(rest, "/?"); end >= 0 {
		rest = rest[:end]
	}
	at = strings.LastIndex(rest, "@")
	if at < 0 {
		return "", "", at, false
	}
	user, pw, hadPass = strings.Cut(rest[:at], ":")
	return user, pw, at, hadPass
}

// uriPassword returns the password in a connection string's user info, in
// the form written there and unescaped, so both can be redacted.
func uriPassword(uri string) []string {
	_, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return nil
	}
	var out []string
	if _, query, hasQuery := strings.Cut(rest, "?"); hasQuery {
		for _, kv := range strings.Split(query, "&") {
			if k, v, hasV := strings.Cut(kv, "="); hasV && v != "" && strings.Contains(strings.ToLower(k), "password") {
				out = append(out, v)
				if u, err := url.QueryUnescape(v); err == nil && u != v {
					out = append(out, u)
				}
			}
		}
	}
	_, pw, _, _ := userInfo(rest)
	if pw == "" {
		return out
	}
	out = append(out, pw)
	if u, err := url.PathUnescape(pw); err == nil && u != pw {
		out = append(out, u)
	}
	return out
}
