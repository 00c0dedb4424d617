// Package mongosim is a MongoDB replica-set simulator for tests: each
// member is a real TCP listener on loopback that speaks the wire protocol
// (OP_MSG, and the legacy OP_QUERY handshake answered with OP_REPLY) and
// answers hello, replSetGetStatus, replSetGetConfig, the first and last
// oplog entries and SCRAM-SHA-256 authentication as a scripted scenario
// says, so that the real driver discovers a topology no real mongod is
// needed for.
package mongosim

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// State is a replica-set member state as replSetGetStatus numbers it.
type State int

// Member states.
const (
	Startup    State = 0
	Primary    State = 1
	Secondary  State = 2
	Recovering State = 3
	Startup2   State = 5
	Unknown    State = 6
	Arbiter    State = 7
	Down       State = 8
	Rollback   State = 9
	Removed    State = 10
)

var stateNames = map[State]string{
	Startup: "STARTUP", Primary: "PRIMARY", Secondary: "SECONDARY",
	Recovering: "RECOVERING", Startup2: "STARTUP2", Unknown: "UNKNOWN",
	Arbiter: "ARBITER", Down: "DOWN", Rollback: "ROLLBACK", Removed: "REMOVED",
}

func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("STATE%d", int(s))
}

// Member scripts one member of the set.
type Member struct {
	State State
	// Lag is how far the member's last applied optime is behind the
	// newest one of the set.
	Lag    time.Duration
	Hidden bool
	// Delay is the configured secondaryDelaySecs (slaveDelay on 4.4).
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
	// OplogWindow is the time between the member's first and last oplog
	// entries (default 48h).
	OplogWindow time.Duration
	// Term of the member's election when it is a primary (default 1).
	Term int64
}

// Scenario is a whole replica set.
type Scenario struct {
	SetName string // default rs0
	// Version selects the shape of the documents: "4.4", "6.0" or "8.0"
	// (default).
	Version string
	Members []Member
	// Users holds SCRAM-SHA-256 users (admin database) and passwords;
	// when set, every command but the handshake, ping and buildInfo needs
	// an authenticated connection.
	Users map[string]string
	// Now is the newest optime of the set (default: the time of the
	// request, so lags stay constant).
	Now time.Time
	// HeartbeatAge is how old the heartbeats other members report are
	// (default 1s).
	HeartbeatAge time.Duration
	// DenyConfig answers replSetGetConfig with Unauthorized, as for a
	// user without the clusterMonitor role's config privilege.
	DenyConfig bool
}

// Set is a running simulated replica set.
type Set struct {
	mu       sync.Mutex
	sc       Scenario
	addrs    []string
	lns      []net.Listener
	procIDs  []primitive.ObjectID
	counter  atomic.Int64
	changed  chan struct{}
	closed   chan struct{}
	wg       sync.WaitGroup
	connMu   sync.Mutex
	conns    map[net.Conn]bool
	started  time.Time
	reqID    atomic.Int32
	commands sync.Map // command name -> count, for tests
	legacy   atomic.Int64
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
	if sc.Version == "" {
		sc.Version = "8.0"
	}
	if _, ok := wireVersions[sc.Version]; !ok {
		return nil, fmt.Errorf("unknown version %q: expected 4.4, 6.0 or 8.0", sc.Version)
	}
	if sc.HeartbeatAge == 0 {
		sc.HeartbeatAge = time.Second
	}
	s := &Set{sc: sc, changed: make(chan struct{}), closed: make(chan struct{}),
		conns: map[net.Conn]bool{}, started: time.Now()}
	for _, m := range sc.Members {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, err
		}
		s.addrs = append(s.addrs, ln.Addr().String())
		s.procIDs = append(s.procIDs, primitive.NewObjectID())
		if m.Unreachable {
			// The port was ours a moment ago and now refuses.
			ln.Close()
			s.lns = append(s.lns, nil)
			continue
		}
		s.lns = append(s.lns, ln)
	}
	// Serve only once every address is known: hello lists them all.
	for i, ln := range s.lns {
		if ln != nil {
			s.wg.Add(1)
			go s.accept(i, ln)
		}
	}
	return s, nil
}

// Close stops every member and waits for their goroutines.
func (s *Set) Close() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	for _, ln := range s.lns {
		if ln != nil {
			ln.Close()
		}
	}
	s.connMu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
	s.wg.Wait()
}

// Addr is member i's host:port.
func (s *Set) Addr(i int) string { return s.addrs[i] }

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

// LegacyRequests reports how many OP_QUERY commands were received.
func (s *Set) LegacyRequests() int { return int(s.legacy.Load()) }

// Commands reports how often a command was received (lower-case name).
func (s *Set) Commands(name string) int {
	v, ok := s.commands.Load(strings.ToLower(name))
	if !ok {
		return 0
	}
	return int(v.(*atomic.Int64).Load())
}

func (s *Set) count(name string) {
	v, _ := s.commands.LoadOrStore(strings.ToLower(name), new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (s *Set) accept(i int, ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.connMu.Lock()
		select {
		case <-s.closed:
			s.connMu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = true
		s.connMu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.connMu.Lock()
				delete(s.conns, c)
				s.connMu.Unlock()
				c.Close()
			}()
			s.serve(i, c)
		}()
	}
}

// conn is the per-connection state: authentication.
type conn struct {
	member int
	authed bool
	sasl   *scram.ServerConversation
}

func (s *Set) serve(i int, c net.Conn) {
	s.mu.Lock()
	hang := s.sc.Members[i].Hang
	s.mu.Unlock()
	r := bufio.NewReader(c)
	if hang {
		// Read and never answer, as a mongod stuck on a lock would.
		buf := make([]byte, 4096)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
		}
	}
	cs := &conn{member: i}
	for {
		req, err := readMessage(r)
		if err != nil {
			return
		}
		doc := s.handle(cs, req)
		if doc == nil {
			return
		}
		if _, err := c.Write(encodeReply(s.reqID.Add(1), req, doc)); err != nil {
			return
		}
	}
}

// handle answers one command; nil closes the connection.
func (s *Set) handle(cs *conn, req *request) bson.Raw {
	elems, err := req.cmd.Elements()
	if err != nil || len(elems) == 0 {
		return mustDoc(cmdError(9, "FailedToParse", "empty command"))
	}
	name := elems[0].Key()
	s.count(name)
	if req.legacy {
		s.legacy.Add(1)
	}
	switch strings.ToLower(name) {
	case "hello", "ismaster":
		return s.hello(cs, req, strings.ToLower(name) == "ismaster")
	case "ping":
		return mustDoc(bson.D{{Key: "ok", Value: 1.0}})
	case "buildinfo":
		return mustDoc(s.buildInfo())
	case "endsessions", "killcursors":
		return mustDoc(bson.D{{Key: "ok", Value: 1.0}})
	case "saslstart":
		return mustDoc(s.saslStart(cs, req.cmd))
	case "saslcontinue":
		return mustDoc(s.saslContinue(cs, req.cmd))
	}
	if s.needAuth() && !cs.authed {
		return mustDoc(cmdError(13, "Unauthorized", fmt.Sprintf("command %s requires authentication", name)))
	}
	switch strings.ToLower(name) {
	case "replsetgetstatus":
		return mustDoc(s.replSetGetStatus(cs.member))
	case "replsetgetconfig":
		s.mu.Lock()
		deny := s.sc.DenyConfig
		s.mu.Unlock()
		if deny {
			return mustDoc(cmdError(13, "Unauthorized", "not authorized on admin to execute command { replSetGetConfig: 1 }"))
		}
		return mustDoc(s.replSetGetConfig(cs.member))
	case "find":
		return mustDoc(s.find(cs.member, req.cmd))
	case "getmore":
		return mustDoc(bson.D{{Key: "cursor", Value: bson.D{{Key: "id", Value: int64(0)},
			{Key: "ns", Value: "local.oplog.rs"}, {Key: "nextBatch", Value: bson.A{}}}}, {Key: "ok", Value: 1.0}})
	}
	return mustDoc(cmdError(59, "CommandNotFound", fmt.Sprintf("no such command: '%s'", name)))
}

func (s *Set) needAuth() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sc.Users) > 0
}

func cmdError(code int32, codeName, msg string) bson.D {
	return bson.D{{Key: "ok", Value: 0.0}, {Key: "errmsg", Value: msg},
		{Key: "code", Value: code}, {Key: "codeName", Value: codeName}}
}

func mustDoc(d any) bson.Raw {
	b, err := bson.Marshal(d)
	if err != nil {
		panic(err)
	}
	return b
}

var wireVersions = map[string]int32{"4.4": 9, "6.0": 17, "8.0": 25}

var fullVersions = map[string]string{"4.4": "4.4.29", "6.0": "6.0.20", "8.0": "8.0.4"}

func (s *Set) buildInfo() bson.D {
	s.mu.Lock()
	v := s.sc.Version
	s.mu.Unlock()
	var arr bson.A
	for _, p := range strings.Split(fullVersions[v], ".") {
		var n int32
		fmt.Sscan(p, &n)
		arr = append(arr, n)
	}
	arr = append(arr, int32(0))
	return bson.D{{Key: "version", Value: fullVersions[v]}, {Key: "gitVersion", Value: "mongosim"},
		{Key: "versionArray", Value: arr}, {Key: "bits", Value: int32(64)},
		{Key: "maxBsonObjectSize", Value: int32(16 * 1024 * 1024)}, {Key: "ok", Value: 1.0}}
}

// awaitHello holds an awaitable hello (topologyVersion + maxAwaitTimeMS)
// until the topology changes, the wait ends or the set stops.
func (s *Set) awaitHello(cmd bson.Raw) {
	ms, ok := cmd.Lookup("maxAwaitTimeMS").AsInt64OK()
	if !ok || ms <= 0 {
		return
	}
	tv, ok := cmd.Lookup("topologyVersion").DocumentOK()
	if !ok {
		return
	}
	s.mu.Lock()
	changed := s.changed
	cur := s.counter.Load()
	s.mu.Unlock()
	if c, ok := tv.Lookup("counter").AsInt64OK(); ok && c != cur {
		return
	}
	tm := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-changed:
	case <-s.closed:
	}
}
