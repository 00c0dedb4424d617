package mongodb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Session is a connected client and what the output says about the
// target. Check builds it, pings the server, hands it to the mode and
// disconnects afterwards; modes never connect themselves.
//
// What mode code (including the replica-set modes) may use:
//   - Client: the connected *mongo.Client. It connects directly to the one
//     host unless --replica-set or the URI asks for a set; in set mode its
//     default read preference is primaryPreferred.
//   - Target: the host(s) checked, for summaries ("127.0.0.1:27017" or
//     "rs0/h1:27017,h2:27017"); it never holds credentials.
//   - Direct, ReplicaSet: how the client connects.
//   - ConnectTime: wall time of connect, handshake (and auth) and ping.
//   - RunAdmin(ctx, cmd, out) and Run(ctx, db, cmd, out): run a command and
//     decode its reply into out (*bson.Raw, *bson.M or a struct).
//   - Redact(s): s with every secret of this run replaced; Check already
//     redacts the whole result and errors.
type Session struct {
	Client      *mongo.Client
	Target      string
	Direct      bool
	ReplicaSet  string
	ConnectTime time.Duration
	// User is the user authenticated as ("" without authentication).
	User string

	tls     bool
	secrets []string
	// The heartbeat monitor cancels the ping through cancel when every
	// seed host failed its first heartbeat (a closed port answers in
	// milliseconds instead of after -t) or when the topology ends up
	// empty (setNames explains why).
	mu       sync.Mutex
	failed   map[string]error
	seeds    int
	healthy  bool
	setNames map[string]string
	cancel   context.CancelCauseFunc

	// opts are the driver options the client was made with, for
	// further connections to single members (they hold the
	// credentials: never shown).
	opts *options.ClientOptions
}

// RunAdmin runs cmd on the admin database and decodes the reply into out.
func (s *Session) RunAdmin(ctx context.Context, cmd bson.D, out any) error {
	return s.Run(ctx, "admin", cmd, out)
}

// Run runs cmd on database db and decodes the reply into out.
func (s *Session) Run(ctx context.Context, db string, cmd bson.D, out any) error {
	r := s.Client.Database(db).RunCommand(ctx, cmd)
	if err := r.Err(); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return r.Decode(out)
}

// Redact replaces the secrets of this run (the password, in plain and
// URL-escaped form) in s.
func (s *Session) Redact(str string) string { return redact(str, s.secrets) }

// Close disconnects within the context.
func (s *Session) Close(ctx context.Context) {
	if s.Client != nil {
		_ = s.Client.Disconnect(ctx)
	}
}

// credentials are the resolved user and password.
type credentials struct {
	user, password string
	passwordSet    bool
}

// resolvePassword finds the password: --password-file, then --password,
// then MONGODB_PASSWORD. The file's first line is the password.
func resolvePassword(o *Options) (string, bool, error) {
	if o.PasswordFile != "" {
		b, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return "", false, fmt.Errorf("--password-file: %w", linux.DescribeFile(o.PasswordFile, err))
		}
		line, _, _ := strings.Cut(string(b), "\n")
		line = strings.TrimSuffix(line, "\r")
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

// clientOptions turns the options into driver options; it does no I/O
// except the DNS lookups of a mongodb+srv URI, which it bounds by ctx.
func clientOptions(ctx context.Context, o *Options, cred credentials) (*options.ClientOptions, *Session, error) {
	co := options.Client().SetAppName("check_mongodb")
	s := &Session{}
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
			return nil, nil, errors.New("invalid --uri: expected a connection string starting with mongodb:// or mongodb+srv://")
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
		if o.Host == "" || strings.ContainsAny(o.Host, "/,@ ") {
			return nil, nil, fmt.Errorf("invalid --host %q: expected a host name or IP address (use --uri for several hosts)", o.Host)
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

func connAddr(id string) string {
	if i := strings.LastIndex(id, "[-"); i >= 0 {
		return id[:i]
	}
	return id
}

func (s *Session) heartbeatSucceeded(*event.ServerHeartbeatSucceededEvent) {
	s.mu.Lock()
	s.healthy = true
	s.mu.Unlock()
}

func (s *Session) heartbeatFailed(e *event.ServerHeartbeatFailedEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = map[string]error{}
	}
	s.failed[connAddr(e.ConnectionID)] = e.Failure
	if !s.healthy && s.seeds > 0 && len(s.failed) >= s.seeds && s.cancel != nil {
		s.cancel(&connectError{err: e.Failure})
	}
}

// serverChanged remembers the set each host reports, to explain a
// topology that ends up empty.
func (s *Session) serverChanged(e *event.ServerDescriptionChangedEvent) {
	if e.NewDescription.SetName == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.setNames == nil {
		s.setNames = map[string]string{}
	}
	s.setNames[e.Address.String()] = e.NewDescription.SetName
}

// topologyChanged stops the wait when the driver removed every host from
// the topology: they all belong to another replica set than the one asked
// for, which waiting will not change.
func (s *Session) topologyChanged(e *event.TopologyDescriptionChangedEvent) {
	if len(e.NewDescription.Servers) > 0 || len(e.PreviousDescription.Servers) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return
	}
	var seen []string
	for addr, set := range s.setNames {
		seen = append(seen, fmt.Sprintf("%s reports set %q", addr, set))
	}
	sort.Strings(seen)
	why := "no host answered as a member"
	if len(seen) > 0 {
		why = strings.Join(seen, ", ")
	}
	s.cancel(&connectError{err: fmt.Errorf("none of the hosts belongs to replica set %q (%s); check --replica-set or the replicaSet of the URI", s.ReplicaSet, why)})
}

// connectError is why no server could be reached.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// connect builds the client and pings the server; ConnectTime is the wall
// time of both. Failures to reach or authenticate are CRITICAL verdicts.
func connect(ctx context.Context, o *Options, cred credentials) (*Session, error) {
	start := time.Now()
	co, s, err := clientOptions(ctx, o, cred)
	if err != nil {
		return nil, err
	}
	s.opts = co
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()

	client, err := mongo.Connect(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("invalid connection options: %v", err)
	}
	s.Client = client
	rp := readpref.Nearest()
	if s.Direct {
		rp = nil
	}
	err = client.Ping(pctx, rp)
	s.ConnectTime = time.Since(start)
	s.mu.Lock()
	s.cancel = nil
	s.mu.Unlock()
	if err != nil {
		if cause := context.Cause(pctx); cause != nil && ctx.Err() == nil {
			var ce *connectError
			if errors.As(cause, &ce) {
				err = ce.err
			}
		}
		s.Close(ctx)
		if err := deadlineError(ctx, err); err != nil {
			return nil, fmt.Errorf("connecting to %s: %w", s.Target, err)
		}
		return nil, s.describeConnectError(err)
	}
	return s, nil
}

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
	switch {
	case errors.As(err, &uaErr):
		return plugin.Errorf(plugin.Critical, "TLS certificate problem with %s: %v; pass the CA that signed the server certificate with --tls-ca-file", s.Target, uaErr)
	case errors.As(err, &hostErr):
		return plugin.Errorf(plugin.Critical, "TLS certificate problem with %s: %v; connect by a name the certificate holds", s.Target, hostErr)
	case errors.As(err, &invErr):
		return plugin.Errorf(plugin.Critical, "TLS certificate problem with %s: %v; renew or fix the server certificate", s.Target, invErr)
	case errors.As(err, &vErr):
		return plugin.Errorf(plugin.Critical, "TLS certificate problem with %s: %v", s.Target, vErr.Err)
	case errors.As(err, &recErr):
		return plugin.Errorf(plugin.Critical, "TLS handshake with %s failed: the server does not speak TLS on this port; drop --tls or use the server's TLS port", s.Target)
	case strings.Contains(msg, "auth error") || strings.Contains(msg, "AuthenticationFailed") || strings.Contains(msg, "Authentication failed"):
		user := s.User
		if user == "" {
			user = "(none)"
		}
		return plugin.Errorf(plugin.Critical, "authentication failed for user %s at %s: %s; check the user, its database (--authdb) and the password", user, s.Target, s.Redact(trimDriver(msg)))
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// A TLS alert from the server.
		hint := ""
		if a := opErr.Err.Error(); strings.Contains(a, "certificate required") || strings.Contains(a, "bad certificate") || strings.Contains(a, "unknown certificate authority") {
			hint = "; the server wants a client certificate it trusts: pass one with --tls-cert-key-file"
		}
		return plugin.Errorf(plugin.Critical, "TLS handshake with %s failed: the server sent %v%s", s.Target, opErr.Err, hint)
	case s.tls && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.HasSuffix(msg, "EOF")):
		return plugin.Errorf(plugin.Critical, "TLS handshake with %s failed: the server closed the connection; it does not speak TLS on this port, or it wants a client certificate (--tls-cert-key-file)", s.Target)
	case !s.tls && (errors.Is(err, io.EOF) || strings.HasSuffix(msg, "EOF")):
		return plugin.Errorf(plugin.Critical, "cannot connect to %s: the server closed the connection (EOF); if it requires TLS, add --tls and --tls-ca-file", s.Target)
	case errors.As(err, &opErr):
		return plugin.Errorf(plugin.Critical, "cannot connect to %s: %v", s.Target, opErr.Err)
	case strings.Contains(msg, "tls:"):
		return plugin.Errorf(plugin.Critical, "TLS handshake with %s failed: %s", s.Target, s.Redact(trimDriver(msg)))
	}
	return plugin.Errorf(plugin.Critical, "cannot connect to %s: %s", s.Target, s.Redact(trimDriver(msg)))
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
	return msg
}
