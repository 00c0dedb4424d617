package mongodb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
)

// Session is a connected client and what the output says about the
// target. Check builds it, waits (through a replica-set connection) for
// the driver's view of the set to settle, pings the server, hands it to
// the mode and disconnects afterwards; modes never connect themselves.
//
// What mode code (including the replica-set modes) may use:
//   - Client: the connected *mongo.Client. It connects directly to the one
//     host unless --replica-set or the URI asks for a set; in set mode its
//     default read preference is primaryPreferred.
//   - Target: the host(s) checked, for summaries ("127.0.0.1:27017" or
//     "rs0/h1:27017,h2:27017"); it never holds credentials.
//   - Direct, ReplicaSet: how the client connects.
//   - ConnectTime: wall time of connect, handshake (and auth) and ping;
//     through a replica-set connection it includes the wait for the
//     set's primary to answer (bounded, see waitSettled).
//   - RunAdmin(ctx, cmd, out) and Run(ctx, db, cmd, out): run a command and
//     decode its reply into out (*bson.Raw, *bson.M or a struct).
//   - Redact(s): s with every quoted secret of this run replaced; Check
//     already redacts the whole result and errors.
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
	// settled is closed once the topology has settled (see
	// topologySettled in session_monitor.go).
	settled chan struct{}
	// primaryWait is how long the check waits at most, from primaryBy
	// back, for a primary the members name but that has not answered
	// yet: part of -t, so that the check can still answer from a
	// secondary.
	primaryWait time.Duration
	primaryBy   time.Time

	// What the check waits for and what answered (session_waits.go):
	// commands sent and not answered, the one -t ran out on, the first
	// bytes each server sent, whether a TCP connection was made,
	// the check's deadline, and whether a mongos answered (it answers
	// for its config servers and shards).
	pending    map[int64]pendingCmd
	unanswered *pendingCmd
	answers    map[string][]byte
	dialed     bool
	deadline   time.Time
	mongos     bool

	// opts are the driver options the client was made with, for
	// further connections to single members (they hold the
	// credentials: never shown).
	opts *options.ClientOptions
}

// RunAdmin runs cmd on the admin database and decodes the reply into out.
func (s *Session) RunAdmin(ctx context.Context, cmd bson.D, out any) error {
	return s.Run(ctx, "admin", cmd, out)
}

// Run runs cmd on database db and decodes the reply into out, through
// bsondoc (a malformed reply is an error, not the driver's panic).
func (s *Session) Run(ctx context.Context, db string, cmd bson.D, out any) error {
	raw, err := s.Client.Database(db).RunCommand(ctx, cmd).Raw()
	if err != nil || out == nil {
		return err
	}
	return bsondoc.Unmarshal(raw, out)
}

// Redact replaces the secrets of this run (the password, in plain and
// URL-escaped form) where str quotes one whole (plugin.Redact), for text
// from the driver or a server.
func (s *Session) Redact(str string) string { return redact(str, s.secrets) }

// Close disconnects within the context.
func (s *Session) Close(ctx context.Context) {
	if s.Client != nil {
		_ = s.Client.Disconnect(ctx)
	}
}

// connect builds the client, waits for a replica-set topology to settle
// (waitSettled) and pings the server; ConnectTime is the wall time of it
// all. Failures to reach or authenticate are CRITICAL verdicts.
func connect(ctx context.Context, o *Options, cred credentials) (*Session, error) {
	start := time.Now()
	co, s, err := clientOptions(ctx, o, cred)
	if err != nil {
		return nil, err
	}
	s.opts = co
	s.primaryWait = maxPrimaryWait
	if dl, ok := ctx.Deadline(); ok {
		s.primaryWait = min(s.primaryWait, time.Until(dl)/2)
	}
	s.primaryBy = time.Now().Add(s.primaryWait)
	s.deadline, _ = ctx.Deadline()
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
	if !s.Direct {
		s.waitSettled(pctx)
	}
	err = s.ping(pctx)
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
		if derr := deadlineError(ctx, err); derr != nil {
			err = s.timeout(fmt.Errorf("connecting to %s: %w", s.Target, derr))
		} else {
			err = s.describeConnectError(err)
		}
		s.Close(ctx)
		return nil, err
	}
	return s, nil
}

// maxPrimaryWait bounds the wait for a primary that the members name but
// that does not answer (it hangs): the check then answers from a
// secondary and says so.
const maxPrimaryWait = 2 * time.Second

// waitSettled waits, until primaryBy at most, for the replica-set
// topology to settle: until then a command can go to a member the driver
// is about to remove, and die with it (see topologySettled). It returns
// early when ctx ends (the monitor cancels it when no host can answer);
// the ping then reports why.
func (s *Session) waitSettled(ctx context.Context) {
	t := time.NewTimer(time.Until(s.primaryBy))
	defer t.Stop()
	select {
	case <-s.settled:
	case <-ctx.Done():
	case <-t.C:
	}
}

// ping pings the server: directly the one host, or through a replica-set
// connection (once settled) the nearest member.
func (s *Session) ping(ctx context.Context) error {
	if s.Direct {
		return s.Client.Ping(ctx, nil)
	}
	return s.Client.Ping(ctx, readpref.Nearest())
}
