package docs

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// The servers of the MongoDB examples: FerretDB where its answers are
// what the example shows (connecting, authentication, TLS, a set name, a
// missing serverStatus section), else the replica-set simulator answering
// with documents of real servers' replies (internal/mongodb/testdata,
// sources in its SOURCES.md).

const examplePassword = "s3cret-example"

// timing is what changes between runs of a MongoDB check.
var timing = []string{`in [0-9.]+ s`, `connect_time'?=[0-9.]+s`, `[0-9.]+ operations/s`, `[0-9.]+/s`, `opcounters_[a-z]+'?=[0-9.]+`}

func ferretPlain(l *lab) *testenv.FerretDB {
	return once(l, "ferret", func(t *testing.T) *testenv.FerretDB {
		return testenv.StartFerretDB(t, testenv.FerretDBOptions{ReplSetName: "rs0"})
	})
}

func ferretAuth(l *lab) *testenv.FerretDB {
	return once(l, "ferret-auth", func(t *testing.T) *testenv.FerretDB {
		return testenv.StartFerretDB(t, testenv.FerretDBOptions{SetupUsername: "nagios", SetupPassword: examplePassword})
	})
}

type ferretTLS struct {
	f          *testenv.FerretDB
	own, other testenv.TLSFiles
}

// ferretClientCerts is FerretDB with TLS that asks for client
// certificates of its CA.
func ferretClientCerts(l *lab) ferretTLS {
	return once(l, "ferret-tls", func(t *testing.T) ferretTLS {
		dir := t.TempDir()
		own, other := testenv.WriteTLSFiles(t, dir, "db1"), testenv.WriteTLSFiles(t, dir, "other")
		f := testenv.StartFerretDB(t, testenv.FerretDBOptions{TLSCertFile: own.Cert, TLSKeyFile: own.Key, TLSCAFile: own.CA})
		return ferretTLS{f, own, other}
	})
}

// tlsExample runs a README line that names the CA file readme against
// FerretDB's TLS listener, with the CA file ca picks.
func tlsExample(readme string, ca func(ferretTLS) string) example {
	return example{start: func(t *testing.T, l *lab, r *exampleRun) {
		f := ferretClientCerts(l)
		r.host("db1", f.f.TLSAddr)
		r.replace(readme, ca(f))
		r.name(f.f.TLSAddr, "db1:27017")
	}}
}

// passwordFile writes a password file and puts it where the README names
// one.
func passwordFile(t *testing.T, r *exampleRun, readme, password string) {
	p := filepath.Join(t.TempDir(), filepath.Base(readme))
	if err := os.WriteFile(p, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.replace(readme, p)
}

// member shows a simulated member as the README's host: its address and
// the part of the perfdata labels made of it (lag_db1_27017).
func member(r *exampleRun, addr, readme string) {
	r.name(addr, readme)
	r.name(plugin.Name(plugin.Endpoint(addr)...), plugin.Name(plugin.Endpoint(readme)...))
}

// fixtureDoc reads a real server's reply from internal/mongodb/testdata.
func fixtureDoc(t *testing.T, name string) bson.D {
	f, err := os.Open(filepath.Join(testenv.ModuleRoot(t), "internal", "mongodb", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := mongodb.ReadDocument(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// grow adds to counters of a document ("opcounters.query": 100), as a
// busy server's do between two runs.
func grow(d bson.D, by map[string]int64) bson.D {
	out := make(bson.D, len(d))
	copy(out, d)
	for i, e := range out {
		switch v := e.Value.(type) {
		case bson.D:
			sub := map[string]int64{}
			for k, n := range by {
				if rest, ok := strings.CutPrefix(k, e.Key+"."); ok {
					sub[rest] = n
				}
			}
			if len(sub) > 0 {
				out[i].Value = grow(v, sub)
			}
		case int32:
			out[i].Value = int64(v) + by[e.Key]
		case int64:
			out[i].Value = v + by[e.Key]
		case float64:
			out[i].Value = v + float64(by[e.Key])
		}
	}
	return out
}

// orderedSet starts a simulated set whose member i has the i-th address
// in sorted order: the check lists members by address, and the README
// names them db1, db2, db3 in that order. (Ports are the kernel's
// choice; a set is quick to start again.)
func orderedSet(t *testing.T, sc mongosim.Scenario) *mongosim.Set {
	for range 100 {
		s, err := mongosim.New(sc)
		if err != nil {
			t.Fatal(err)
		}
		sorted := true
		for i := 1; i < len(sc.Members); i++ {
			sorted = sorted && s.Addr(i-1) < s.Addr(i)
		}
		if sorted {
			t.Cleanup(s.Close)
			return s
		}
		s.Close()
	}
	t.Fatal("no simulated set with its addresses in member order in 100 starts")
	return nil
}

// oneMember is a one-member set whose serverStatus (and other commands)
// are real replies.
func oneMember(t *testing.T, status func() bson.D, commands map[string]func(int) bson.D) *mongosim.Set {
	sc := mongosim.Scenario{Version: "6.0", Members: []mongosim.Member{{State: mongosim.Primary}}, Commands: commands}
	if status != nil {
		sc.Status = func(int) bson.D { return status() }
	}
	return mongosim.Start(t, sc)
}

func init() {
	register(map[string]example{
		"check_mongodb -H db1 -u nagios --password-file /etc/nagios/mongodb.pw": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				f := ferretAuth(l)
				r.host("db1", f.Addr)
				passwordFile(t, r, "/etc/nagios/mongodb.pw", examplePassword)
				r.name(f.Addr, "db1:27017")
			},
			volatile: timing,
		},
		"check_mongodb -H db1 -u nagios --password-file wrong.pw": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				f := ferretAuth(l)
				r.host("db1", f.Addr)
				passwordFile(t, r, "wrong.pw", "not-the-password")
				r.name(f.Addr, "db1:27017")
			},
		},
		"check_mongodb -H db1 -P 1": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				r.replace("db1", "127.0.0.1")
				r.name("127.0.0.1:1", "db1:1")
			},
		},
		"check_mongodb -H db1 --tls-ca-file other-ca.pem":                                 tlsExample("other-ca.pem", func(f ferretTLS) string { return f.other.CA }),
		"check_mongodb -H db1 --tls-ca-file ca.pem # server requires client certificates": tlsExample("ca.pem", func(f ferretTLS) string { return f.own.CA }),
		"check_mongodb -H db1 --replica-set rs1": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				f := ferretPlain(l)
				r.host("db1", f.Addr)
				r.name(f.Addr, "db1:27017")
			},
		},
		"check_mongodb -H db1 --mode connections # FerretDB, or a server without the section": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				f := ferretPlain(l)
				r.host("db1", f.Addr)
				r.name(f.Addr, "db1:27017")
			},
		},
		"check_mongodb -H db1 --mode connections": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ss := fixtureDoc(t, "serverstatus-6.0.json")
				set := oneMember(t, func() bson.D { return ss }, nil)
				r.host("db1", set.Addr(0))
				member(r, set.Addr(0), "db1:27017")
			},
		},
		"check_mongodb -H db1 --mode startup-warnings": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				log := fixtureDoc(t, "getlog-6.0.json")
				set := oneMember(t, nil, map[string]func(int) bson.D{"getLog": func(int) bson.D { return log }})
				r.host("db1", set.Addr(0))
				member(r, set.Addr(0), "db1:27017")
			},
		},
		"check_mongodb -H db1 --mode opcounters --state-dir /var/lib/opschecks -w 5000 -c 20000": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ss := fixtureDoc(t, "serverstatus-6.0.json")
				var busy atomic.Bool
				set := oneMember(t, func() bson.D {
					if busy.Load() {
						return grow(ss, map[string]int64{"opcounters.insert": 10, "opcounters.query": 100, "opcounters.update": 20, "opcounters.command": 182, "uptime": 1})
					}
					return ss
				}, nil)
				r.host("db1", set.Addr(0))
				r.replace("/var/lib/opschecks", t.TempDir())
				member(r, set.Addr(0), "db1:27017")
				r.before = func() { busy.Store(true); time.Sleep(time.Second) }
			},
			volatile: timing,
		},
		"check_mongodb --uri 'mongodb://nagios@db1,db2,db3/?replicaSet=rs0' --mode wiredtiger-cache": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ss := fixtureDoc(t, "serverstatus-8.0.json")
				set := orderedSet(t, mongosim.Scenario{Version: "8.0", Users: map[string]string{"nagios": examplePassword},
					Members: []mongosim.Member{{State: mongosim.Primary}, {State: mongosim.Secondary}, {State: mongosim.Secondary}},
					Status:  func(int) bson.D { return ss }})
				r.replace("db1,db2,db3", set.Addr(0)+","+set.Addr(1)+","+set.Addr(2))
				r.env = append(r.env, "MONGODB_PASSWORD="+examplePassword)
				for i := range 3 {
					member(r, set.Addr(i), "db"+itoa(i+1)+":27017")
				}
			},
		},
		// A change of primary: the run before the shown one remembers
		// db1, then db2 wins an election.
		"check_mongodb --uri 'mongodb://db1,db2,db3/?replicaSet=rs0' --mode primary-change --state-dir /var/lib/opschecks --hold 15m": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				set := orderedSet(t, mongosim.Scenario{Version: "8.0",
					Members: []mongosim.Member{{State: mongosim.Primary}, {State: mongosim.Secondary}, {State: mongosim.Secondary}}})
				r.replace("db1,db2,db3", set.Addr(0)+","+set.Addr(1)+","+set.Addr(2))
				r.replace("/var/lib/opschecks", t.TempDir())
				for i := range 3 {
					member(r, set.Addr(i), "db"+itoa(i+1)+":27017")
				}
				r.before = func() {
					set.Update(func(s *mongosim.Scenario) {
						s.Members[0].State, s.Members[1].State, s.Members[1].Term = mongosim.Secondary, mongosim.Primary, 2
					})
				}
			},
			volatile: []string{`[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z`},
		},
		"check_mongodb --uri 'mongodb://db1,db2,db3/?replicaSet=rs0' --mode oplog-window -w 48: -c 12:": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				set := orderedSet(t, mongosim.Scenario{Version: "8.0",
					Members: []mongosim.Member{{State: mongosim.Primary, OplogWindow: 10 * time.Hour}, {State: mongosim.Secondary}, {State: mongosim.Secondary}}})
				r.replace("db1,db2,db3", set.Addr(0)+","+set.Addr(1)+","+set.Addr(2))
				for i := range 3 {
					member(r, set.Addr(i), "db"+itoa(i+1)+":27017")
				}
			},
			volatile: []string{`[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z`},
		},
		"check_mongodb --uri 'mongodb://db1:27017,db2:27017,db3:27017/?replicaSet=rs0' --user nagios --password-file /etc/nagios/mongodb.pw --mode replication-lag": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				set := orderedSet(t, mongosim.Scenario{Version: "8.0", Users: map[string]string{"nagios": examplePassword},
					Members: []mongosim.Member{{State: mongosim.Primary}, {State: mongosim.Secondary, Lag: 120 * time.Second}, {State: mongosim.Secondary}}})
				r.replace("db1:27017,db2:27017,db3:27017", set.Addr(0)+","+set.Addr(1)+","+set.Addr(2))
				passwordFile(t, r, "/etc/nagios/mongodb.pw", examplePassword)
				for i := range 3 {
					member(r, set.Addr(i), "db"+itoa(i+1)+":27017")
				}
			},
		},
	})
}

// cluster shows the simulated mongos and shard members as the README
// names them: mongos1:27017, and member j of shard rsN as rsN-j:27018.
func cluster(t *testing.T, r *exampleRun, sc mongosim.ClusterScenario) *mongosim.Cluster {
	c := mongosim.StartCluster(t, sc)
	r.host("mongos1", c.Addr())
	r.name(c.Addr(), "mongos1:27017")
	for i, sh := range sc.Shards {
		for j := range max(len(sh.Members), 3) {
			r.name(c.Shard(i).Addr(j), sh.Name+"-"+itoa(j+1)+":27018")
		}
	}
	return c
}

func threeShards(down int) []mongosim.Shard {
	var out []mongosim.Shard
	for i := range 3 {
		sh := mongosim.Shard{Name: "rs" + itoa(i+1)}
		if i == down {
			sh.Members = []mongosim.Member{{State: mongosim.Primary, Unreachable: true}, {State: mongosim.Secondary, Unreachable: true}, {State: mongosim.Secondary, Unreachable: true}}
		}
		out = append(out, sh)
	}
	return out
}

func init() {
	register(map[string]example{
		"check_mongodb -H mongos1 --mode shards": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				cluster(t, r, mongosim.ClusterScenario{Shards: threeShards(1)})
			},
			volatile: []string{`dial tcp [^ ]+:[0-9]+`}, // whichever member the driver tried last
		},
		"check_mongodb -H mongos1 --mode chunk-balance --database app -w 50 -c 80": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				cluster(t, r, mongosim.ClusterScenario{Shards: threeShards(-1), Collections: []mongosim.ShardedCollection{
					{NS: "app.users", Chunks: map[string]int{"rs1": 60, "rs2": 25, "rs3": 30}},
					{NS: "app.orders", Chunks: map[string]int{"rs1": 40, "rs2": 41, "rs3": 39}},
					{NS: "logs.events", Chunks: map[string]int{"rs1": 90, "rs2": 10, "rs3": 10}},
				}})
			},
		},
		"check_mongodb -H mongos1 --mode balancer": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				cluster(t, r, mongosim.ClusterScenario{Shards: threeShards(-1), Balancer: mongosim.BalancerScript{Mode: "off"}})
			},
		},
	})
}
