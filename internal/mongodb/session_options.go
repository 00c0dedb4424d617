package mongodb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
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
		b, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca-file: %w", linux.DescribeFile(o.TLSCAFile, err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--tls-ca-file %s holds no PEM certificate: expected the CA certificate(s) in PEM form", o.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	if o.TLSCertKeyFile != "" {
		b, err := os.ReadFile(o.TLSCertKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert-key-file: %w", linux.DescribeFile(o.TLSCertKeyFile, err))
		}
		cert, err := tls.X509KeyPair(b, b)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert-key-file %s: %v: expected the client certificate and its unencrypted key in one PEM file", o.TLSCertKeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// validURI refuses a --uri that is not a connection string, when the
// options are parsed. Its secrets are checked on their own
// (connString.checkSecrets), then the rest of a mongodb:// URI is parsed
// whole by the driver with the secrets taken out, so that no message of
// the driver's can quote them; a mongodb+srv:// one is parsed only when
// connecting, since parsing it looks up DNS records.
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
	if c.scheme == "mongodb://" {
		if err := options.Client().ApplyURI(c.String(true)).Validate(); err != nil {
			return fmt.Errorf("invalid --uri: %v", err)
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
