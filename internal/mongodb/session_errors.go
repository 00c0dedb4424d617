package mongodb

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// describeConnectError turns a driver error into a CRITICAL verdict that
// names the cause and how to fix it, on one line.
func (s *Session) describeConnectError(err error) error {
	var (
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		vErr    *tls.CertificateVerificationError
		opErr   *net.OpError
	)
	msg := err.Error()
	answer := s.answerOf()
	switch {
	case strings.HasPrefix(string(answer), "HTTP/"):
		// An HTTP server answers the driver's hello with an error page
		// (nginx: "HTTP/1.1 400 Bad Request"), which the driver reads as
		// a message length ("HTTP" is 1347703880 bytes) or a TLS record.
		return plugin.Errorf(plugin.Critical, "cannot connect to %s: this port answers HTTP, not MongoDB (%s), check that -H/-P or --uri name the port of a mongod or mongos", s.Target, quoteBytes(answer))
	case errors.As(err, &uaErr):
		return plugin.Errorf(plugin.Critical, "TLS certificate problem with %s: %v, pass the CA that signed the server certificate with --tls-ca-file", s.Target, uaErr)
	case errors.As(err, &hostErr):
		return plugin.Errorf(plugin.Critical, "TLS certificate problem with %s: %v, connect by a name the certificate holds", s.Target, hostErr)
	case errors.As(err, &invErr):
		return plugin.Errorf(plugin.Critical, "TLS certificate problem with %s: %v, renew or fix the server certificate", s.Target, invErr)
	case errors.As(err, &vErr):
		return plugin.Errorf(plugin.Critical, "TLS certificate problem with %s: %v", s.Target, vErr.Err)
	case errors.As(err, &recErr):
		return plugin.Errorf(plugin.Critical, "TLS handshake with %s failed: the server does not speak TLS on this port, drop --tls or use the server's TLS port", s.Target)
	case strings.Contains(msg, "auth error") || strings.Contains(msg, "AuthenticationFailed") || strings.Contains(msg, "Authentication failed"):
		user := s.User
		if user == "" {
			user = "(none)"
		}
		return plugin.Errorf(plugin.Critical, "authentication failed for user %s at %s: %s, check the user, its database (--authdb) and the password", user, s.Target, strings.TrimSuffix(s.Redact(trimDriver(msg)), "."))
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// A TLS alert from the server.
		hint := ""
		if a := opErr.Err.Error(); strings.Contains(a, "certificate required") || strings.Contains(a, "bad certificate") || strings.Contains(a, "unknown certificate authority") {
			hint = ", the server wants a client certificate it trusts: pass one with --tls-cert-key-file"
		}
		return plugin.Errorf(plugin.Critical, "TLS handshake with %s failed: the server sent %v%s", s.Target, opErr.Err, hint)
	case s.tls && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.HasSuffix(msg, "EOF")):
		return plugin.Errorf(plugin.Critical, "TLS handshake with %s failed: the server closed the connection, it does not speak TLS on this port, or it wants a client certificate (--tls-cert-key-file)", s.Target)
	case !s.tls && (errors.Is(err, io.EOF) || strings.HasSuffix(msg, "EOF")):
		return plugin.Errorf(plugin.Critical, "cannot connect to %s: the server closed the connection (EOF), if it requires TLS, add --tls and --tls-ca-file", s.Target)
	case strings.Contains(msg, "length of read message too large") || strings.Contains(msg, "malformed message length"):
		// The first bytes of the answer are not a wire-protocol message
		// length (x/mongo/driver/topology/connection.go
		// parseWmSizeBytes): an HTTP server, a proxy or another service
		// listens there.
		// Under TLS the answer is not seen (sniffConn sees the records),
		// only that it is no message either.
		what, other := wireError(msg), "HTTP, a proxy"
		switch {
		case answer != nil:
			what = "it begins " + quoteBytes(answer)
		case s.tls:
			what += ", read inside TLS"
			other = "HTTPS, a TLS proxy"
		}
		return plugin.Errorf(plugin.Critical, "cannot connect to %s: the answer is not the MongoDB wire protocol (%s), check that -H/-P or --uri name the port of a mongod or mongos, not of another service (%s)", s.Target, what, other)
	case errors.As(err, &opErr):
		return plugin.Errorf(plugin.Critical, "cannot connect to %s: %v", s.Target, opErr.Err)
	case strings.Contains(msg, "tls:"):
		return plugin.Errorf(plugin.Critical, "TLS handshake with %s failed: %s", s.Target, s.Redact(trimDriver(msg)))
	}
	return plugin.Errorf(plugin.Critical, "cannot connect to %s: %s", s.Target, s.Redact(trimDriver(msg)))
}

// wireError is the driver's reason for refusing the answer, once (the
// message repeats it for every wrapping).
func wireError(msg string) string {
	const malformed = "malformed message length: "
	if i := strings.Index(msg, malformed); i >= 0 {
		n, _, _ := strings.Cut(msg[i+len(malformed):], ":")
		return malformed + n
	}
	return "length of read message too large"
}

// trimDriver drops the driver's wrapping prefixes, which say nothing to an
// operator.
func trimDriver(msg string) string {
	for _, p := range []string{
		"server selection error: ",
		"connection() error occurred during connection handshake: ",
		"connection(): ",
		"auth error: ",
		"sasl conversation error: ",
	} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return strings.TrimSpace(msg)
}
