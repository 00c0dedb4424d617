// Package mongosim simulates MongoDB deployments for tests. Server is the
// reusable core: a loopback listener speaking the wire protocol (OP_MSG,
// and the legacy OP_QUERY handshake answered with OP_REPLY), SCRAM-SHA-256
// authentication, and a table of command handlers. Set is a replica set
// built on it: one Server per member answering hello, replSetGetStatus,
// replSetGetConfig, the oplog queries and what mongosh's rs helpers send,
// shaped as the mongod version of the scenario shapes them, so that the
// real driver and mongosh discover a topology no real mongod is needed for.
//
// Files: server.go (the core), wire.go (messages), auth.go (SCRAM),
// versions.go (what each server version changes, with sources),
// replset.go (Scenario, Member, Set), replset_hello.go,
// replset_status.go, replset_config.go, replset_oplog.go (the documents,
// each with the source of its shape). Cluster is a sharded cluster: a
// mongos (shard.go) whose shards are Sets, its config database in
// shard_config.go, the find, aggregate, getMore and killCursors commands
// and their cursors in shard_cursor.go, the find/aggregate evaluation in
// shard_query.go (find and sort), shard_compare.go (BSON order, filters)
// and shard_pipeline.go (expressions, $project, pipeline stages).
package mongosim

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/mongodb/replset"
)

// State is a member state (the check's own type: both follow
// src/mongo/db/repl/member_state.h).
type State = replset.State

// Member states.
const (
	Startup    = replset.Startup
	Primary    = replset.Primary
	Secondary  = replset.Secondary
	Recovering = replset.Recovering
	Startup2   = replset.Startup2
	Unknown    = replset.Unknown
	Arbiter    = replset.Arbiter
	Down       = replset.Down
	Rollback   = replset.Rollback
	Removed    = replset.Removed
)

// Member scripts one member of the set.
type Member struct {
	State State
	// Lag is how far the member's last applied optime is behind the
	// newest one of the set.
	Lag    time.Duration
	Hidden bool
	// Delay is the configured secondaryDelaySecs (slaveDelay before 5.0).
	Delay time.Duration
	// Priority defaults to 1, or 0 for hidden, delayed and arbiter
	// members. Votes defaults to 1; set NoVote for a non-voting member.
	Priority *float64
	NoVote   bool
	// Unreachable: the port refuses connections and the other members
	// report it with health 0 and state DOWN.
	Unreachable bool
	// Hang: the member accepts connections and never answers. The
	// others report it DOWN, unless HangSeenUp: the hang began less
	// than a heartbeat timeout ago and they still report it healthy.
	Hang       bool
	HangSeenUp bool
	// AuthFailed: the member answers, but its heartbeats fail internal
	// authentication (a keyFile or x.509 member certificate that does not
	// match): the others report it with health 0, state UNKNOWN and
	// authenticated false.
	AuthFailed bool
	// OplogWindow is the time between the member's first and last oplog
	// entries (default 48h).
	OplogWindow time.Duration
	// OplogFill is how full the member's oplog is, in percent of its
	// configured size (default 100: a member's oplog fills up and then
	// holds the window it can). Below 100 the oplog is young or was
	// enlarged: its $collStats maxSize is the used size / fill.
	OplogFill float64
	// Term of the member's election when it is a primary (default 1).
	Term int64
	// InitialSync describes a member in STARTUP2: its failed attempts.
	InitialSync *InitialSync
}

// InitialSync is the progress of a member's initial sync.
type InitialSync struct {
	// Failed attempts so far, each with its status message; the member
	// gives up after MaxFailed (default 10, mongod's
	// numInitialSyncAttempts).
	Failed    []string
	MaxFailed int
	// SyncSource is where the attempts copied from (default: the
	// primary).
	SyncSource string
	// Started is how long ago the first attempt began (default 1h).
	Started time.Duration
}

// Scenario is a whole replica set.
type Scenario struct {
	SetName string // default rs0
	// Version selects the server version whose shapes the documents
	// follow: one of Versions() (default 8.0).
	Version string
	Members []Member
	// Users holds SCRAM-SHA-256 users (admin database) and passwords;
	// when set, every command but the handshake, ping and buildInfo needs
	// an authenticated connection.
	Users map[string]string
	// Now is the newest optime of the set (default: the time of the
	// request, so lags stay constant).
	Now time.Time
	// HeartbeatAge is how old the last heartbeat responses other members
	// report are (default 1s).
	HeartbeatAge time.Duration
	// DenyConfig answers replSetGetConfig with Unauthorized, as for a
	// user whose role lacks the replSetGetConfig action.
	DenyConfig bool
	// Status, when set, answers serverStatus on member i with the
	// document it returns (a test builds it from a real server's reply).
	Status func(i int) bson.D
	// Commands answers further commands (getLog, hostInfo...) on member
	// i with the document the function returns, built as Status is.
	Commands map[string]func(i int) bson.D
}

// Set is a running simulated replica set.
type Set struct {
	Stats

	mu      sync.Mutex
	sc      Scenario
	ver     version
	servers []*Server
	addrs   []string
	procIDs []primitive.ObjectID
	setID   primitive.ObjectID
	counter atomic.Int64
	changed chan struct{}
	closed  chan struct{}
	started time.Time
}

// Start starts every member of sc on its own loopback port. The set is
// stopped when the test ends.
func Start(t testing.TB, sc Scenario) *Set {
	t.Helper()
	s, err := New(sc)
	if err != nil {
		t.Fatalf("mongosim: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a simulated set; Close stops it.
func New(sc Scenario) (*Set, error) {
	if sc.SetName == "" {
		sc.SetName = "rs0"
	}
	name, ver, err := lookupVersion(sc.Version)
	if err != nil {
		return nil, err
	}
	sc.Version = name
	if sc.HeartbeatAge == 0 {
		sc.HeartbeatAge = time.Second
	}
	s := &Set{sc: sc, ver: ver, changed: make(chan struct{}), closed: make(chan struct{}),
		started: time.Now(), setID: primitive.NewObjectID()}
	for i, m := range sc.Members {
		srv, err := NewServer(&s.Stats)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.servers = append(s.servers, srv)
		s.addrs = append(s.addrs, srv.Addr())
		s.procIDs = append(s.procIDs, primitive.NewObjectID())
		if m.Unreachable {
			// The port was ours a moment ago and now refuses.
			srv.Refuse()
			continue
		}
		s.install(i, srv)
	}
	// Serve only once every address is known: hello lists them all.
	for i, srv := range s.servers {
		if !sc.Members[i].Unreachable {
			srv.Serve()
		}
	}
	return s, nil
}

// install registers member i's command handlers on its server.
func (s *Set) install(i int, srv *Server) {
	srv.Users = func() map[string]string {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.sc.Users
	}
	srv.Hang = func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.sc.Members[i].Hang
	}
	hello := func(c *Conn, r *Request) bson.D { return s.hello(i, r) }
	srv.Handle("hello", hello, true)
	srv.Handle("isMaster", hello, true)
	srv.Handle("buildInfo", func(*Conn, *Request) bson.D { return s.buildInfo() }, true)
	srv.Handle("killCursors", func(*Conn, *Request) bson.D { return OK() }, false)
	srv.Handle("replSetGetStatus", func(*Conn, *Request) bson.D { return s.replSetGetStatus(i) }, false)
	srv.Handle("replSetGetConfig", func(*Conn, *Request) bson.D { return s.replSetGetConfig(i) }, false)
	srv.Handle("find", func(_ *Conn, r *Request) bson.D { return s.find(i, r) }, false)
	srv.Handle("getMore", func(_ *Conn, r *Request) bson.D { return s.getMore(r) }, false)
	srv.Handle("aggregate", func(_ *Conn, r *Request) bson.D { return s.aggregate(i, r) }, false)
	srv.Handle("listCollections", func(_ *Conn, r *Request) bson.D { return s.listCollections(i, r) }, false)
	if st := s.sc.Status; st != nil {
		srv.Handle("serverStatus", func(*Conn, *Request) bson.D { return st(i) }, false)
	}
	for name, f := range s.sc.Commands {
		srv.Handle(name, func(*Conn, *Request) bson.D { return f(i) }, false)
	}
}

// Close stops every member and waits for their goroutines.
func (s *Set) Close() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	for _, srv := range s.servers {
		srv.Close()
	}
}

// Addr is member i's host:port.
func (s *Set) Addr(i int) string { return s.addrs[i] }

// Version is the server version the set answers as.
func (s *Set) Version() string { return s.ver.name }

// URI is a replica-set connection string naming the given members (all
// when none are given).
func (s *Set) URI(members ...int) string {
	hosts := s.addrs
	if len(members) > 0 {
		hosts = nil
		for _, i := range members {
			hosts = append(hosts, s.addrs[i])
		}
	}
	return "mongodb://" + strings.Join(hosts, ",") + "/?replicaSet=" + s.sc.SetName
}

// DirectURI connects to member i alone.
func (s *Set) DirectURI(i int) string {
	return "mongodb://" + s.addrs[i] + "/?directConnection=true"
}

// Update changes the scenario while the set runs (a failover, a member
// falling behind); awaitable hellos answer at once so the driver sees it.
func (s *Set) Update(f func(*Scenario)) {
	s.mu.Lock()
	f(&s.sc)
	s.counter.Add(1)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}
