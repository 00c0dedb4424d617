package mongosim

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// ClusterScenario is a sharded cluster as one mongos shows it: the shards
// (each a replica set of its own, a Set), the sharded collections and
// their chunks, the balancer. The mongos answers hello as a router
// (msg "isdbgrid"), buildInfo, listShards, balancerStatus, and find,
// aggregate, getMore and killCursors on the config database, whose
// documents (config.shards, config.collections, config.chunks,
// config.databases, config.settings, config.actionlog, config.version,
// config.mongos) are shaped as the scenario's server version writes them
// (shard_config.go names the sources).
type ClusterScenario struct {
	// Version is one of Versions() (default 8.0): the mongos, the config
	// servers and every shard answer as that release.
	Version     string
	Shards      []Shard
	Collections []ShardedCollection
	Balancer    BalancerScript
	// Rounds are the balancer's last rounds, newest first, as
	// config.actionlog keeps them.
	Rounds []BalancerRound
	// Users (admin database, SCRAM-SHA-256) are checked by the mongos;
	// the shards need no authentication for hello and ping.
	Users map[string]string
	// Stall names commands the mongos accepts and never answers, as when
	// the config server replica set has lost its primary and reads of
	// the config database wait.
	Stall []string
}

// Shard is one shard: a replica set (default: a primary and two
// secondaries), named Name (default shard01, shard02...).
type Shard struct {
	Name     string
	Members  []Member
	Draining bool
}

// ShardedCollection is a sharded collection (shard key {k: 1}) and where
// its chunks are.
type ShardedCollection struct {
	NS string
	// Chunks per shard name; Jumbo, per shard, how many of those are
	// flagged jumbo.
	Chunks    map[string]int
	Jumbo     map[string]int
	NoBalance bool
}

// BalancerScript is the balancer's state.
type BalancerScript struct {
	// Mode is balancerStatus' mode: "full" (the default, and no
	// config.settings document, as on a cluster where the balancer was
	// never stopped) or "off" (after sh.stopBalancer()).
	Mode    string
	InRound bool
	Rounds  int64
	// Window is the activeWindow {start, stop} of config.settings, "HH:MM".
	Window [2]string
}

// BalancerRound is one balancer round of config.actionlog.
type BalancerRound struct {
	// Err is the round's error message; "" for a round that succeeded.
	Err   string
	Moved int
	Ago   time.Duration
}

// Cluster is a running simulated sharded cluster.
type Cluster struct {
	Stats

	sc     ClusterScenario
	ver    version
	mongos *Server
	shards []*Set
	config map[string][]bson.D

	mu      sync.Mutex
	cursors map[int64][]bson.D
	nextID  int64
	closed  chan struct{}
}

// StartCluster starts the shards and a mongos; everything stops when the
// test ends.
func StartCluster(t testing.TB, sc ClusterScenario) *Cluster {
	t.Helper()
	c, err := NewCluster(sc)
	if err != nil {
		t.Fatalf("mongosim: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// NewCluster starts a simulated cluster; Close stops it.
func NewCluster(sc ClusterScenario) (*Cluster, error) {
	name, ver, err := lookupVersion(sc.Version)
	if err != nil {
		return nil, err
	}
	sc.Version = name
	c := &Cluster{sc: sc, ver: ver, cursors: map[int64][]bson.D{}, closed: make(chan struct{})}
	for i := range c.sc.Shards {
		sh := &c.sc.Shards[i]
		if sh.Name == "" {
			sh.Name = fmt.Sprintf("shard%02d", i+1)
		}
		members := sh.Members
		if len(members) == 0 {
			members = []Member{{State: Primary}, {State: Secondary}, {State: Secondary}}
		}
		set, err := New(Scenario{SetName: sh.Name, Version: sc.Version, Members: members})
		if err != nil {
			c.Close()
			return nil, err
		}
		c.shards = append(c.shards, set)
	}
	srv, err := NewServer(&c.Stats)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.mongos = srv
	c.config = c.configDocs(time.Now())
	c.install()
	srv.Serve()
	return c, nil
}

// Close stops the mongos and the shards.
func (c *Cluster) Close() {
	select {
	case <-c.closed:
		return
	default:
	}
	close(c.closed)
	if c.mongos != nil {
		c.mongos.Close()
	}
	for _, s := range c.shards {
		s.Close()
	}
}

// Addr is the mongos' host:port.
func (c *Cluster) Addr() string { return c.mongos.Addr() }

// URI connects to the mongos.
func (c *Cluster) URI() string { return "mongodb://" + c.mongos.Addr() + "/" }

// Shard is shard i's replica set.
func (c *Cluster) Shard(i int) *Set { return c.shards[i] }

// ShardName is shard i's name.
func (c *Cluster) ShardName(i int) string { return c.sc.Shards[i].Name }

// install registers the mongos' command handlers.
func (c *Cluster) install() {
	srv := c.mongos
	srv.Users = func() map[string]string { return c.sc.Users }
	stall := func(name string, h Handler) Handler {
		for _, s := range c.sc.Stall {
			if strings.EqualFold(s, name) {
				return func(*Conn, *Request) bson.D {
					<-c.closed
					return nil
				}
			}
		}
		return h
	}
	handle := func(name string, h Handler, public bool) { srv.Handle(name, stall(name, h), public) }
	hello := func(_ *Conn, r *Request) bson.D { return c.hello(r) }
	handle("hello", hello, true)
	handle("isMaster", hello, true)
	handle("buildInfo", func(*Conn, *Request) bson.D { return c.buildInfo() }, true)
	handle("listShards", func(*Conn, *Request) bson.D {
		return bson.D{{Key: "shards", Value: docsArray(c.config["shards"])}, {Key: "ok", Value: 1.0}}
	}, false)
	handle("balancerStatus", func(*Conn, *Request) bson.D { return c.balancerStatus() }, false)
	handle("find", func(_ *Conn, r *Request) bson.D { return c.find(r) }, false)
	handle("aggregate", func(_ *Conn, r *Request) bson.D { return c.aggregate(r) }, false)
	handle("getMore", func(_ *Conn, r *Request) bson.D { return c.getMore(r) }, false)
	handle("killCursors", func(_ *Conn, r *Request) bson.D { return c.killCursors(r) }, false)
}

func docsArray(docs []bson.D) bson.A {
	a := make(bson.A, len(docs))
	for i, d := range docs {
		a[i] = d
	}
	return a
}

// hello answers as a mongos does (manual, hello: "msg: isdbgrid" for
// mongos; src/mongo/s/commands/cluster_hello_cmd.cpp): no setName, no
// hosts. From 4.4 it is awaitable (topologyVersion, maxAwaitTimeMS).
func (c *Cluster) hello(r *Request) bson.D {
	if c.ver.since44 {
		c.await(r.Cmd)
	}
	d := bson.D{}
	if strings.EqualFold(r.Name, "isMaster") {
		d = append(d, bson.E{Key: "ismaster", Value: true})
	} else {
		d = append(d, bson.E{Key: "isWritablePrimary", Value: true})
	}
	if _, ok := r.Cmd.Lookup("helloOk").BooleanOK(); ok {
		d = append(d, bson.E{Key: "helloOk", Value: true})
	}
	d = append(d, bson.E{Key: "msg", Value: "isdbgrid"})
	if c.ver.since44 {
		d = append(d, bson.E{Key: "topologyVersion", Value: bson.D{{Key: "processId", Value: c.processID()}, {Key: "counter", Value: int64(0)}}})
	}
	return helloEnd(d, r, time.Now(), 1, c.ver.wire, len(c.sc.Users) > 0)
}

var mongosProcessID = primitive.NewObjectID()

func (c *Cluster) processID() primitive.ObjectID { return mongosProcessID }

// await holds an awaitable hello until maxAwaitTimeMS passes or the
// cluster stops: the topology of a mongos never changes here.
func (c *Cluster) await(cmd bson.Raw) {
	ms, ok := cmd.Lookup("maxAwaitTimeMS").AsInt64OK()
	if !ok || ms <= 0 {
		return
	}
	if _, ok := cmd.Lookup("topologyVersion").DocumentOK(); !ok {
		return
	}
	tm := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-c.closed:
	}
}

// buildInfo is the release of the scenario (as Set.buildInfo).
func (c *Cluster) buildInfo() bson.D {
	return (&Set{ver: c.ver}).buildInfo()
}

// balancerStatus answers as the manual's balancerStatus page shows it
// (mode, inBalancerRound, numBalancerRounds as a long, ok).
func (c *Cluster) balancerStatus() bson.D {
	mode := c.sc.Balancer.Mode
	if mode == "" {
		mode = "full"
	}
	return bson.D{{Key: "mode", Value: mode}, {Key: "inBalancerRound", Value: c.sc.Balancer.InRound},
		{Key: "numBalancerRounds", Value: c.sc.Balancer.Rounds}, {Key: "ok", Value: 1.0}}
}
