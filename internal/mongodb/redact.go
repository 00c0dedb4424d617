package mongodb

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// Secrets stay out of the output by construction: the password (from
// --password, --password-file, MONGODB_PASSWORD or the --uri) is never
// formatted into a message, a connection string is shown only with its
// secrets taken out by parsing it as the driver does (StripURIPassword),
// and a --uri is checked with its secrets taken out too (validURI), so
// the driver's parse errors cannot quote them. What the driver and the
// servers say goes through plugin.Redact as a last net (redactResult,
// redactError), which looks for whole quoted secrets only.

// connString is a connection string cut as driver v1.17.10 cuts it
// (x/mongo/driver/connstring, connstring.parse): the user info ends at
// the first '@' after the scheme, its password follows the first ':'; the
// query follows the first '?' of what comes after the user info, its
// options separated by '&' or ';'.
type connString struct {
	scheme string // "mongodb://" or "mongodb+srv://"
	user   string // as written (escaped)
	pass   string // as written (escaped); hasPass says whether a ':' was there
	// hasUser is whether there is user info (an '@'), hasPass whether it
	// holds a password.
	hasUser, hasPass bool
	hosts            string // hosts and path, up to the '?'
	query            []string
	hasQuery         bool
}

func parseConnString(uri string) (connString, bool) {
	var c connString
	for _, s := range []string{"mongodb://", "mongodb+srv://"} {
		if strings.HasPrefix(uri, s) {
			c.scheme = s
		}
	}
	if c.scheme == "" {
		return c, false
	}
	rest := uri[len(c.scheme):]
	if info, after, ok := strings.Cut(rest, "@"); ok {
		c.hasUser = true
		c.user, c.pass, c.hasPass = strings.Cut(info, ":")
		rest = after
	}
	var query string
	c.hosts, query, c.hasQuery = strings.Cut(rest, "?")
	if c.hasQuery {
		c.query = strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' })
	}
	return c, true
}

// secretOption reports whether a connection-string option holds a secret:
// tlsCertificateKeyFilePassword and its ssl spelling, and
// authMechanismProperties, one of whose properties can be
// (secretProperty).
func secretOption(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "password") || k == "authmechanismproperties"
}

// secretProperty reports whether an authMechanismProperties property
// holds a secret: MONGODB-AWS's AWS_SESSION_TOKEN (driver v1.17.10,
// x/mongo/driver/auth/mongodbaws.go). The others (SERVICE_NAME,
// CANONICALIZE_HOST_NAME, ENVIRONMENT, TOKEN_RESOURCE...) name things
// and are checked by the driver, so they stay as written.
func secretProperty(name string) bool { return strings.EqualFold(name, "AWS_SESSION_TOKEN") }

// String writes the connection string back, its secrets (the password,
// the values of secret options) written as plugin.Redacted when
// redacted is set.
func (c connString) String(redacted bool) string {
	var b strings.Builder
	b.WriteString(c.scheme)
	if c.hasUser {
		b.WriteString(c.user)
		if c.hasPass {
			b.WriteByte(':')
			if redacted && c.pass != "" {
				b.WriteString(plugin.Redacted)
			} else {
				b.WriteString(c.pass)
			}
		}
		b.WriteByte('@')
	}
	b.WriteString(c.hosts)
	if c.hasQuery {
		b.WriteByte('?')
		for i, kv := range c.query {
			if i > 0 {
				b.WriteByte('&')
			}
			if k, v, ok := strings.Cut(kv, "="); ok && redacted && v != "" && secretOption(k) {
				kv = k + "=" + redactOption(k, v)
			}
			b.WriteString(kv)
		}
	}
	return b.String()
}

// redactOption writes a secret option's value as plugin.Redacted; in
// authMechanismProperties (PROPERTY:VALUE pairs, comma-separated) the
// values of secret properties only (secretProperty).
func redactOption(key, value string) string {
	if !strings.EqualFold(key, "authMechanismProperties") {
		return plugin.Redacted
	}
	u, err := url.QueryUnescape(value)
	if err != nil {
		return plugin.Redacted
	}
	pairs := strings.Split(u, ",")
	for i, p := range pairs {
		if name, _, _ := strings.Cut(p, ":"); secretProperty(name) {
			pairs[i] = name + ":" + plugin.Redacted
		}
	}
	return strings.Join(pairs, ",")
}

// secrets returns every secret of the connection string in the forms
// it could be quoted in: as written and unescaped.
func (c connString) secrets() []string {
	var out []string
	add := func(s string, unescape func(string) (string, error)) {
		if s == "" {
			return
		}
		out = append(out, s)
		if u, err := unescape(s); err == nil && u != s {
			out = append(out, u)
		}
	}
	if c.hasPass {
		add(c.pass, url.PathUnescape)
	}
	for _, kv := range c.query {
		k, v, _ := strings.Cut(kv, "=")
		if !secretOption(k) {
			continue
		}
		if !strings.EqualFold(k, "authMechanismProperties") {
			add(v, url.QueryUnescape)
			continue
		}
		// PROPERTY:VALUE pairs, comma-separated.
		u, _ := url.QueryUnescape(v)
		for _, p := range strings.Split(u, ",") {
			if name, pv, _ := strings.Cut(p, ":"); secretProperty(name) {
				add(pv, url.QueryUnescape)
			}
		}
	}
	return out
}

// checkSecrets refuses secrets the driver would refuse to unescape, in
// words of our own: the driver's messages quote the bad escape, a piece
// of the secret ("invalid URL escape "%zz"").
func (c connString) checkSecrets() error {
	if c.hasPass {
		if _, err := url.PathUnescape(c.pass); err != nil || strings.ContainsAny(c.pass, ":/") {
			return fmt.Errorf("invalid --uri: its password is not escaped as a connection string needs (write ':' '/' '@' '%%' as %%3A %%2F %%40 %%25), or give the password with --password-file")
		}
	}
	for _, kv := range c.query {
		if k, v, ok := strings.Cut(kv, "="); ok && secretOption(k) {
			if _, err := url.QueryUnescape(v); err != nil {
				return fmt.Errorf("invalid --uri: the value of %s is not escaped as a connection string needs (a '%%' must start %%XX)", k)
			}
		}
	}
	return nil
}

// StripURIPassword returns a connection string with its secrets (the
// password of its user info, the values of secret options such as
// tlsCertificateKeyFilePassword) written as xxxxx, for anything shown to
// people. A string that is no connection string is returned as it is.
func StripURIPassword(uri string) string {
	c, ok := parseConnString(uri)
	if !ok {
		return uri
	}
	return c.String(true)
}

// uriSecrets returns the secrets of a connection string, as written and
// unescaped, for redact.
func uriSecrets(uri string) []string {
	c, ok := parseConnString(uri)
	if !ok {
		return nil
	}
	return c.secrets()
}

// redact is plugin.Redact with every written form of the secrets (plain,
// and URL-escaped as a connection string could carry them).
func redact(s string, secrets []string) string {
	var forms []string
	for _, sec := range secrets {
		forms = append(forms, sec, url.QueryEscape(sec), url.PathEscape(sec), url.UserPassword("u", sec).String()[2:])
	}
	return plugin.Redact(s, forms...)
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
