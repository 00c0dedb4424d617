package mongodb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// credentials are the resolved user and password.
type credentials struct {
	user, password string
	passwordSet    bool
}

// resolvePassword finds the password: --password-file, then --password,
// then MONGODB_PASSWORD. The file's first line is the password.
func resolvePassword(o *Options) (string, bool, error) {
	if o.PasswordFile != "" {
		line, err := linux.ReadFirstLine(o.PasswordFile, linux.MaxSecretLine)
		if err != nil {
			return "", false, fmt.Errorf("--password-file: %w", err)
		}
		if line == "" {
			return "", false, fmt.Errorf("--password-file %s is empty: expected the password on its first line", o.PasswordFile)
		}
		return line, true, nil
	}
	if o.Password != "" {
		return o.Password, true, nil
	}
	if v, ok := os.LookupEnv("MONGODB_PASSWORD"); ok && v != "" {
		return v, true, nil
	}
	return "", false, nil
}

// tlsConfig builds the TLS configuration from the --tls options, or nil
// when none is given (a tls=true in the URI is the driver's business).
func tlsConfig(o *Options) (*tls.Config, error) {
	if !o.TLS && o.TLSCAFile == "" && o.TLSCertKeyFile == "" && !o.TLSInsecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.TLSInsecure} //nolint:gosec // explicit --tls-insecure
	if o.TLSCAFile != "" {
		pool, err := readCAFile("--tls-ca-file", o.TLSCAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if o.TLSCertKeyFile != "" {
		b, err := readTLSFile("--tls-cert-key-file", o.TLSCertKeyFile)
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(b, b)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert-key-file %s: %v: expected the client certificate and its unencrypted key in one PEM file", o.TLSCertKeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// readTLSFile reads a file given by the option called name (--tls-ca-file,
// or tlsCAFile in a --uri), saying what is wrong in the project's words,
// and at most maxTLSFile bytes of it: a device named by mistake
// (/dev/zero) is not read whole.
func readTLSFile(name, path string) ([]byte, error) {
	f, err := os.Open(path)
	var b []byte
	if err == nil {
		b, err = io.ReadAll(io.LimitReader(f, maxTLSFile+1))
		f.Close()
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once, by DescribeFile
		}
		return nil, fmt.Errorf("%s: %w", name, linux.DescribeFile(path, err))
	}
	if len(b) > maxTLSFile {
		return nil, fmt.Errorf("%s %s is larger than %s: expected PEM certificates and keys", name, path, plugin.Bytes(maxTLSFile))
	}
	return b, nil
}

// maxTLSFile bounds what readTLSFile reads: a bundle of every public CA
// (Debian's /etc/ssl/certs/ca-certificates.crt) is about 220 KB.
const maxTLSFile = 16 << 20

// readCAFile reads the CA certificates of a file given by the option
// called name.
func readCAFile(name, path string) (*x509.CertPool, error) {
	b, err := readTLSFile(name, path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s %s holds no PEM certificate: expected the CA certificate(s) in PEM form", name, path)
	}
	return pool, nil
}

// checkFiles checks the TLS files a connection string names as the
// --tls-* options' files are checked, naming the option as written in
// it: the driver reads them when it parses the string (mongo/options
// ApplyURI: addCACertFromFile, addClientCertFromConcatenatedFile,
// addClientCertFromSeparateFiles) and says "open /x: no such file or
// directory", "the specified CA file does not contain any valid
// certificates" or "failed to find CERTIFICATE" without the option. Its
// option names: x/mongo/driver/connstring addOptions.
func (c connString) checkFiles() error {
	for _, kv := range c.query {
		k, v, _ := strings.Cut(kv, "=")
		path, err := url.QueryUnescape(v)
		if err != nil || path == "" {
			continue // the driver's parse says what is wrong
		}
		switch strings.ToLower(k) {
		case "tlscafile", "sslcertificateauthorityfile":
			if _, err := readCAFile(k, path); err != nil {
				return err
			}
		case "tlscertificatekeyfile", "sslclientcertificatekeyfile", "tlscertificatefile", "tlsprivatekeyfile":
			b, err := readTLSFile(k, path)
			if err != nil {
				return err
			}
			// The driver looks for a CERTIFICATE block and a "... PRIVATE
			// KEY" one (addClientCertFromBytes), the two in one file or
			// one in each of tlsCertificateFile and tlsPrivateKeyFile.
			cert, key := pemBlocks(b)
			lk := strings.ToLower(k)
			if !cert && lk != "tlsprivatekeyfile" {
				return fmt.Errorf("%s %s holds no PEM certificate: expected the client certificate in PEM form", k, path)
			}
			if !key && lk != "tlscertificatefile" {
				return fmt.Errorf("%s %s holds no PEM private key: expected the client certificate's key in PEM form", k, path)
			}
		}
	}
	return nil
}

// keyError names the key file of a driver's error about its password
// ("no password provided to decrypt private key", "pkcs8: incorrect
// password", "x509: decryption password incorrect": mongo/options
// addClientCertFromBytes), which names neither file nor option.
func (c connString) keyError(err error) string {
	if !strings.Contains(err.Error(), "password") {
		return err.Error()
	}
	for _, kv := range c.query {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "tlscertificatekeyfile", "sslclientcertificatekeyfile", "tlsprivatekeyfile":
			path, _ := url.QueryUnescape(v)
			return fmt.Sprintf("the key in %s %s cannot be decrypted (%v): give its password as tlsCertificateKeyFilePassword", k, path, err)
		}
	}
	return err.Error()
}

// pemBlocks reports whether data holds a PEM certificate and a PEM
// private key, as the driver looks for them.
func pemBlocks(data []byte) (cert, key bool) {
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return cert, key
		}
		cert = cert || b.Type == "CERTIFICATE"
		key = key || strings.HasSuffix(b.Type, "PRIVATE KEY")
	}
}

// validURI refuses a --uri that is not a connection string, when the
// options are parsed. Its secrets are checked first, in words of our own
// (connString.checkSecrets: the driver's unescape errors quote them),
// and the TLS files it names as the --tls-* options' are
// (connString.checkFiles); then the driver parses a mongodb:// URI whole
// as written, since it needs the secrets (tlsCertificateKeyFilePassword
// decrypts the key file during the parse) and checks the
// authMechanismProperties, and its message, as everything the driver
// says, is redacted (redactError). A mongodb+srv:// URI is parsed only
// when connecting, since parsing it looks up DNS records.
func validURI(uri string) error {
	if uri == "" {
		return nil
	}
	c, ok := parseConnString(uri)
	if !ok {
		return errors.New("invalid --uri: expected a connection string starting with mongodb:// or mongodb+srv://")
	}
	if err := c.checkSecrets(); err != nil {
		return err
	}
	if err := c.checkFiles(); err != nil {
		return fmt.Errorf("invalid --uri: %w", err)
	}
	if c.scheme == "mongodb://" {
		if err := options.Client().ApplyURI(uri).Validate(); err != nil {
			return redactError(fmt.Errorf("invalid --uri: %s", c.keyError(err)), c.secrets())
		}
	}
	return nil
}

// clientOptions turns the options into driver options; it does no I/O
// except the DNS lookups of a mongodb+srv URI, which it bounds by ctx.
func clientOptions(ctx context.Context, o *Options, cred credentials) (*options.ClientOptions, *Session, error) {
	co := options.Client().SetAppName("check_mongodb")
	s := &Session{settled: make(chan struct{})}
	srv := false
	if o.URI != "" {
		switch {
		case strings.HasPrefix(o.URI, "mongodb://"):
			co.ApplyURI(o.URI)
		case strings.HasPrefix(o.URI, "mongodb+srv://"):
			srv = true
			// The SRV and TXT lookups take no context: bound them here.
			done := make(chan struct{})
			go func() { co.ApplyURI(o.URI); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				return nil, nil, fmt.Errorf("resolving the DNS SRV records of the --uri host: %w", ctx.Err())
			}
		default:
			return nil, nil, validURI(o.URI)
		}
		if err := co.Validate(); err != nil {
			var dnsErr *net.DNSError
			if srv && errors.As(err, &dnsErr) {
				// A missing or unanswered SRV record is the cluster being
				// unreachable, not bad input.
				return nil, nil, plugin.Errorf(plugin.Critical, "cannot resolve the DNS SRV records of the --uri host: %v", dnsErr)
			}
			return nil, nil, fmt.Errorf("invalid --uri: %v", err)
		}
	} else {
		if o.Port < 1 || o.Port > 65535 {
			return nil, nil, fmt.Errorf("invalid --port %d: expected 1 to 65535", o.Port)
		}
		if err := validHost(o.Host); err != nil {
			return nil, nil, err
		}
		co.SetHosts([]string{net.JoinHostPort(strings.Trim(o.Host, "[]"), strconv.Itoa(int(o.Port)))})
	}

	if o.ReplicaSet != "" {
		co.SetReplicaSet(o.ReplicaSet)
		co.SetDirect(false)
	} else if co.Direct == nil && co.ReplicaSet == nil && len(co.Hosts) == 1 && !srv &&
		(co.LoadBalanced == nil || !*co.LoadBalanced) {
		co.SetDirect(true)
	}
	s.Direct = co.Direct != nil && *co.Direct
	if co.ReplicaSet != nil {
		s.ReplicaSet = *co.ReplicaSet
	}
	if !s.Direct && co.ReadPreference == nil {
		co.SetReadPreference(readpref.PrimaryPreferred())
	}
	s.Target = strings.Join(co.Hosts, ",")
	if s.ReplicaSet != "" {
		s.Target = s.ReplicaSet + "/" + s.Target
	}
	s.seeds = len(co.Hosts)

	// Credentials: the URI's, overridden by the options.
	var c options.Credential
	if co.Auth != nil {
		c = *co.Auth
	}
	if cred.user != "" {
		c.Username = cred.user
	}
	if cred.passwordSet && (c.Username != "" || o.AuthMechanism == "PLAIN") {
		c.Password, c.PasswordSet = cred.password, true
	}
	if o.AuthMechanism != "" {
		m := strings.ToUpper(o.AuthMechanism)
		switch m {
		case "SCRAM-SHA-256", "SCRAM-SHA-1", "MONGODB-X509", "PLAIN":
		default:
			return nil, nil, fmt.Errorf("invalid --auth-mechanism %q: expected SCRAM-SHA-256, SCRAM-SHA-1, MONGODB-X509 or PLAIN", o.AuthMechanism)
		}
		c.AuthMechanism = m
	}
	if c.AuthSource == "" || cred.user != "" {
		c.AuthSource = o.AuthDB
		if (c.AuthMechanism == "MONGODB-X509" || c.AuthMechanism == "PLAIN") && o.AuthDB == "admin" {
			c.AuthSource = "$external"
		}
	}
	if c.PasswordSet {
		s.secrets = append(s.secrets, c.Password)
	}
	if c.Username != "" || c.AuthMechanism == "MONGODB-X509" {
		if c.AuthMechanism != "MONGODB-X509" && !c.PasswordSet {
			return nil, nil, fmt.Errorf("no password for user %q: expected --password-file FILE or the environment variable MONGODB_PASSWORD", c.Username)
		}
		co.SetAuth(c)
		s.User = c.Username
	}

	// No ServerName: the driver sets each connection's to its host, which
	// matters for the members of a set.
	tc, err := tlsConfig(o)
	if err != nil {
		return nil, nil, err
	}
	if tc != nil {
		co.SetTLSConfig(tc)
	}
	s.tls = co.TLSConfig != nil

	setTimeouts(ctx, co)
	// One short-lived check: no streaming monitor and no RTT connection.
	co.SetServerMonitoringMode(options.ServerMonitoringModePoll)
	co.SetMaxPoolSize(2)
	co.SetDialer(&sniffDialer{s: s})
	co.SetMonitor(&event.CommandMonitor{Started: s.commandStarted, Succeeded: s.commandSucceeded, Failed: s.commandFailed})
	co.SetServerMonitor(&event.ServerMonitor{
		ServerHeartbeatFailed:      s.heartbeatFailed,
		ServerHeartbeatSucceeded:   s.heartbeatSucceeded,
		ServerDescriptionChanged:   s.serverChanged,
		TopologyDescriptionChanged: s.topologyChanged,
	})
	return co, s, nil
}

// deadlineError returns the check's timeout (wrapping
// context.DeadlineExceeded) when err is one, else nil. Every driver
// timeout ends with the check's context (setTimeouts), but driver v1 can
// report one a moment before the context itself expires (its server
// selection timer, or an operation it refuses because the deadline would
// pass): that is still -t running out.
func deadlineError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, ok := ctx.Deadline(); ok && mongo.IsTimeout(err) {
		return fmt.Errorf("%w (%s)", context.DeadlineExceeded, trimDriver(err.Error()))
	}
	return nil
}

// setTimeouts ends every driver timeout with the check's context, so the
// check answers within -t whatever the server does.
func setTimeouts(ctx context.Context, co *options.ClientOptions) {
	if dl, ok := ctx.Deadline(); ok {
		rem := max(time.Until(dl), time.Millisecond)
		co.SetServerSelectionTimeout(rem).SetConnectTimeout(rem).SetTimeout(rem)
	}
}

// validHost checks --host: one host name or IP address, an IPv6 address
// with or without brackets. "db1:27018" is refused with the option that
// takes the port, instead of a lookup of a host named "db1:27018" that
// fails as CRITICAL.
func validHost(h string) error {
	if h == "" || strings.ContainsAny(h, "/,@ ") {
		return fmt.Errorf("invalid --host %q: expected a host name or IP address (use --uri for several hosts)", h)
	}
	if strings.Contains(h, ":") {
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err != nil {
			return fmt.Errorf("invalid --host %q: expected a host name or IP address without a port (give the port with -P/--port, or several hosts with --uri)", h)
		}
	}
	return nil
}
